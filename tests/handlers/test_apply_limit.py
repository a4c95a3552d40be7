"""REQUEST_LIMIT_EXCEEDED pauses applying with one warning while intake goes on (its own
daemon: the pause lasts 300 s, longer than this module lives)."""

from __future__ import annotations

from apply_rig import wait_until
from helpers.inbox_places import RIG_ON_BOTH_BACKENDS

from subscriber.events import EntryStatus

pytestmark = RIG_ON_BOTH_BACKENDS

TRIAL = {"trial_expiration": "2026-12-31"}


def test_request_limit_pauses_applying_and_intake_goes_on(rig):
    org = rig.emulator.context.org
    assert org is not None
    rig.wait_idle()
    org.faults.arm_preset("request_limit", times=1)
    ids = rig.publish(rig.record("Trial", "e2e-l1", TRIAL, 1, email="l@limit-e2e.co.uk"))
    wait_until(lambda: "applying paused" in (rig.daemon.log_text() if rig.daemon else ""), 30,
               "the one warning")
    status = rig.entries()
    assert [e.status for e in status if e.event_id in ids] == [EntryStatus.PENDING]
    assert rig.daemon is not None
    assert rig.daemon.log_text().count("applying paused") == 1
    more = rig.publish(rig.record("Trial", "e2e-l2", TRIAL, 2, email="m@limit-e2e.co.uk"))
    wait_until(lambda: {e.event_id for e in rig.entries()} >= set(more), 30,
               "intake still landing while paused")
