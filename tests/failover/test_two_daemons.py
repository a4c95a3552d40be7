"""Two daemons on one PostgreSQL: one active, one standby; failover without loss, without a
duplicate row, and without a write from the former active after it lost the lease."""

from __future__ import annotations

import re
import signal
import subprocess

import pytest
from pair_rig import Pair, active_and_standby, wait_until

pytestmark = pytest.mark.timeout(240)


def test_kill_9_of_the_active_hands_over_to_the_standby(pair: Pair) -> None:
    a, b = active_and_standby(pair)
    pair.publisher.publish(10)
    wait_until(lambda: pair.count("status = 'applied'") == 10, 90, 0.1, "10 applied by a")
    a.kill()
    pair.publisher.publish(10)
    wait_until(lambda: pair.lease() == (b.pid, 2), 60, 0.1, "b to take over at epoch 2")
    wait_until(lambda: pair.count("status = 'applied'") == 20, 90, 0.1, "20 applied")
    assert sorted(pair.applied_ids()) == sorted(pair.publisher.event_ids), "none lost"
    assert pair.count() == 20, "no duplicate row"
    assert pair.count("applied_epoch = 1") == 10
    assert pair.count("applied_epoch = 2") == 10
    assert b.terminate() == 0
    assert pair.lease() == (None, 2), "a clean stop releases the lease"


def test_a_paused_active_writes_nothing_after_waking(pair: Pair) -> None:
    a, b = active_and_standby(pair)
    pair.publisher.publish(5)
    wait_until(lambda: pair.count("status = 'applied'") == 5, 90, 0.1, "5 applied by a")
    a.signal(signal.SIGSTOP)
    wait_until(lambda: pair.lease() == (b.pid, 2), 60, 0.1, "b to take over while a sleeps")
    pair.publisher.publish(5)
    wait_until(lambda: pair.count("status = 'applied'") == 10, 90, 0.1, "10 applied")
    before = pair.query("SELECT id, status, landed_epoch, applied_epoch FROM lsync_entries "
                        "ORDER BY id")
    a.signal(signal.SIGCONT)
    try:
        assert a.wait(30) == 1, "woken past its lease, a exits 1 for systemd to restart it"
    except subprocess.TimeoutExpired:
        pytest.fail("a did not exit after waking without its lease:\n" + pair.log(a)[-3000:])
    assert re.search(r"lease lost|LeaseLost|InboxFailed", pair.log(a)), "stepped down, said why"
    pair.publisher.publish(3)
    wait_until(lambda: pair.count("status = 'applied'") == 13, 90, 0.1, "13 applied by b")
    after = pair.query("SELECT id, status, landed_epoch, applied_epoch FROM lsync_entries "
                       "WHERE landed_epoch = 1 OR applied_epoch = 1 ORDER BY id")
    assert after == [r for r in before if 1 in (r[2], r[3])], "nothing written at epoch 1"
    assert pair.count() == 13
