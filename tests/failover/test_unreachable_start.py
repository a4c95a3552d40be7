"""A node started while PostgreSQL is unreachable waits as standby and keeps trying (and
takes the lease once the database is back), instead of exiting 78, which systemd would
never restart; a configuration the server rejects (here an unknown role) still exits 78."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from blackhole_proxy import BlackHoleProxy
from pair_rig import Pair, make_pair, wait_until
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from emulator.pubsub.subscribe import StreamSettings

pytestmark = pytest.mark.timeout(240)

EX_CONFIG = 78


@pytest.fixture
def emu(emulator_factory: Any) -> Any:
    return emulator_factory(stream=StreamSettings(keepalive_s=0.5, idle_timeout_s=30.0))


@pytest.fixture
def down(upgraded_dsn: str) -> Iterator[BlackHoleProxy]:
    """PostgreSQL behind a proxy that closes every connection until brought up."""
    parts = conninfo_to_dict(upgraded_dsn)
    proxy = BlackHoleProxy((str(parts.get("host") or "127.0.0.1"), int(parts["port"])),
                           down=True)
    yield proxy
    proxy.close()


def test_unreachable_at_start_means_standby_until_postgresql_is_back(
        upgraded_dsn: str, down: BlackHoleProxy, tmp_path: Path, emu: Any) -> None:
    pair: Pair = make_pair(make_conninfo(upgraded_dsn, host="127.0.0.1", port=str(down.port)),
                           tmp_path, emu)
    try:
        a = pair.daemon("a")
        wait_until(lambda: "standby: cannot connect to the PostgreSQL inbox" in pair.log(a),
                   60, 0.1, "a to say it waits as standby")
        tried = down.accepted
        wait_until(lambda: down.accepted >= tried + 2, 60, 0.1, "a to keep trying")
        assert a.proc is not None
        assert a.proc.poll() is None, "still running:\n" + pair.log(a)[-2000:]
        down.bring_up()
        wait_until(lambda: pair.lease() == (a.pid, 1), 60, 0.1, "a to take the lease")
        assert a.terminate() == 0
        log = pair.log(a)
        assert "Traceback" not in log
        assert log.count("standby: cannot connect") == 1, "said once per cause, not per try"
    finally:
        pair.close()


def test_a_role_the_server_does_not_know_is_a_configuration_error(
        upgraded_dsn: str, tmp_path: Path, emu: Any) -> None:
    pair = make_pair(make_conninfo(upgraded_dsn, user="no_such_role"), tmp_path, emu)
    try:
        a = pair.daemon("a")
        assert a.wait(60) == EX_CONFIG, pair.log(a)[-2000:]
        log = pair.log(a)
        assert 'role "no_such_role" does not exist' in log
        assert "Traceback" not in log
    finally:
        pair.close()
