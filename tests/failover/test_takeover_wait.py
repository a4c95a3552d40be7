"""The takeover wait in a real daemon: systemd's watchdog is fed all along (standby and
taking over), and a stop during the wait hands the wait on to the next taker."""

from __future__ import annotations

import itertools
import json
import re
import signal
import time
from pathlib import Path
from types import FrameType

import psycopg
import pytest
from helpers.children import run_cli
from pair_rig import Pair, wait_until
from test_failover_ops import TOKEN, config_file

pytestmark = pytest.mark.timeout(240)


def plant_holder(pair: Pair, expires_in_s: float) -> None:
    """A former active 'dead' whose lease expires ``expires_in_s`` from now (negative: ago)."""
    pair.query("INSERT INTO lsync_lease VALUES ('lifecycle-sync', 'dead', 5, "
               "now() + make_interval(secs => %s), now()) ON CONFLICT (name) DO UPDATE SET "
               "holder = 'dead', epoch = 5, expires_at = EXCLUDED.expires_at RETURNING 1",
               (expires_in_s,))


def watchdog_gaps(pair: Pair, index: int, until: str, deadline_s: float) -> list[float]:
    """Seconds between the node's WATCHDOG=1 datagrams until STATUS ``until`` arrives."""
    notify, stamps, seen = pair.notifies[index], [], 0
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        messages = notify.drain()
        stamps += [time.monotonic()] * (messages.count("WATCHDOG=1") - seen)
        seen = messages.count("WATCHDOG=1")
        if any(m.startswith(f"STATUS={until}") for m in messages):
            return [b - a for a, b in itertools.pairwise(stamps)]
        time.sleep(0.05)  # a sampling period, not a synchronisation
    raise AssertionError(f"no STATUS={until} within {deadline_s} s; got {notify.drain()}")


def test_the_watchdog_is_fed_through_standby_and_the_takeover_wait(pair: Pair) -> None:
    """WatchdogSec=3 here; standby retries only every 10 s (TTL 30) and the takeover wait is
    14 s: pings must still come at least every 1.5 s (half the interval)."""
    plant_holder(pair, 4.0)
    pair.daemon("a", WATCHDOG_USEC="3000000", LIFECYCLE_SYNC_INBOX_LEASE_TTL_S="30",
                LIFECYCLE_SYNC_INBOX_TAKEOVER_WAIT_S="14")
    gaps = watchdog_gaps(pair, 0, "active at epoch 6", 120)
    assert len(gaps) >= 10, gaps
    assert max(gaps) < 3.0, f"a gap longer than WatchdogSec: systemd would abort: {gaps}"


def test_a_stop_during_the_takeover_wait_leaves_the_wait_to_the_next_taker(
        pair: Pair) -> None:
    plant_holder(pair, -1.0)  # 'dead' crashed a second ago: its request may be in flight
    slow = {"LIFECYCLE_SYNC_INBOX_TAKEOVER_WAIT_S": "60"}
    a = pair.daemon("a", **slow)
    wait_until(lambda: "waiting" in pair.log(a) and pair.lease() == (a.pid, 6), 60, 0.1,
               "a to take the lease and wait")
    status = run_cli("status", "--config", str(config_file(pair.work, pair.dsn, str(
        pair.work / "state-a"))), "--json", env=TOKEN)
    assert json.loads(status.stdout)["failover"]["role"] == "taking-over", status.stderr
    assert a.terminate(30) == 0
    b = pair.daemon("b", **slow)
    wait_until(lambda: "took the lease at epoch 7" in pair.log(b), 60, 0.1, "b to take over")
    found = re.search(r"took the lease at epoch 7; waiting ([0-9.]+) s", pair.log(b))
    assert found, pair.log(b)
    assert float(found[1]) > 45, "a's stop in its wait must not cut b's wait short"
    assert pair.log(b).count("is below the lease TTL") == 1, "warned once per start"


def test_ctrl_c_in_a_commands_takeover_wait_hands_the_wait_on(
        upgraded_dsn: str, tmp_path: Path) -> None:
    """``jobs run``/``replay``/``forget`` take the lease like a daemon (leased_inbox): Ctrl-C
    in their takeover wait must not release the lease as clean (holder '')."""
    from service.config import load_config
    from service.failover_run import leased_inbox

    with psycopg.connect(upgraded_dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO lsync_lease VALUES ('lifecycle-sync', 'dead', 5, "
                     "now() - interval '1 second', now())")
    config = load_config(config_file(tmp_path, upgraded_dsn), {
        **TOKEN, "LIFECYCLE_SYNC_INBOX_TAKEOVER_WAIT_S": "60"})

    def interrupt(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 1.0)  # Ctrl-C, a second into the 60 s wait
    try:
        with pytest.raises(KeyboardInterrupt), leased_inbox(config):
            pytest.fail("the command ran before its takeover wait ended")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    with psycopg.connect(upgraded_dsn, autocommit=True) as conn:
        holder, epoch, live = conn.execute(
            "SELECT holder, epoch, expires_at > now() FROM lsync_lease").fetchone()
    assert (epoch, live) == (6, False), "taken, then let go"
    assert holder not in ("", "dead"), "released as clean: the next taker would not wait"


def test_a_command_interrupted_in_its_body_hands_the_wait_on(
        upgraded_dsn: str, tmp_path: Path) -> None:
    """Ctrl-C (or an error) while ``jobs run``/``forget`` runs, e.g. mid Salesforce request:
    the request may still be carried out, so the lease must not be released as clean."""
    from service.config import load_config
    from service.failover_run import leased_inbox

    config = load_config(config_file(tmp_path, upgraded_dsn), {
        **TOKEN, "LIFECYCLE_SYNC_INBOX_TAKEOVER_WAIT_S": "0"})
    with pytest.raises(KeyboardInterrupt), leased_inbox(config):
        raise KeyboardInterrupt  # in the body, past the (here empty) takeover wait
    with psycopg.connect(upgraded_dsn, autocommit=True) as conn:
        holder, live = conn.execute("SELECT holder, expires_at > now() FROM lsync_lease"
                                    ).fetchone()
    assert not live, "let go"
    assert holder != "", "released as clean: the next taker would not wait"
