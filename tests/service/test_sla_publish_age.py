"""The sync SLA's age is measured from when the event was published (its CreatedDate, or a
change event's commitTimestamp), not from when it landed in the inbox."""

from __future__ import annotations

from pathlib import Path

from service.publish_age import oldest_pending_publish_age_s
from service.shadow import WATERMARK_KEY
from subscriber.events import ChangeHeader, DecodedEvent, EntryKind
from subscriber.inbox import Inbox

TRIAL = "/event/SelfServeTrialEvent__e"
LEADS = "/data/LeadChangeEvent"
LANDED_AT_S = 10_000.0


def _event(n: int, created_s: float) -> DecodedEvent:
    return DecodedEvent(TRIAL, bytes([n]), f"e-{n}", "s", EntryKind.EVENT,
                        {"CreatedDate": int(created_s * 1000), "Event_Type__c": "Churn"})


def _change(n: int, committed_s: float) -> DecodedEvent:
    header = ChangeHeader("Lead", "UPDATE", "", ("00Q000000000001AAA",), "tx", 1,
                          int(committed_s * 1000), 1, "005000000000000AAA")
    return DecodedEvent(LEADS, bytes([n]), f"c-{n}", "s", EntryKind.CHANGE, {}, header)


def test_age_runs_from_the_publish_time_of_the_oldest_pending_event(tmp_path: Path) -> None:
    file = tmp_path / "inbox.db"
    with Inbox(file, clock=lambda: LANDED_AT_S) as inbox:  # everything landed just now
        inbox.store_batch(TRIAL, [_event(1, LANDED_AT_S - 90), _event(2, LANDED_AT_S - 5)],
                          b"\x02")
        inbox.store_batch(LEADS, [_change(3, LANDED_AT_S - 120)], b"\x03")
    age = oldest_pending_publish_age_s(file, [TRIAL, LEADS], shadow=False,
                                       clock=lambda: LANDED_AT_S + 1)
    assert age == 121.0  # the change event committed 120 s before landing
    assert oldest_pending_publish_age_s(file, [TRIAL], shadow=False,
                                        clock=lambda: LANDED_AT_S + 1) == 91.0


def test_shadow_counts_only_entries_above_the_watermark(tmp_path: Path) -> None:
    file = tmp_path / "inbox.db"
    with Inbox(file, clock=lambda: LANDED_AT_S) as inbox:
        inbox.store_batch(TRIAL, [_event(1, LANDED_AT_S - 90)], b"\x01")
        [first] = inbox.pending()
        inbox.set_meta(WATERMARK_KEY, str(first.id))
    assert oldest_pending_publish_age_s(file, [TRIAL], shadow=True) is None
    assert oldest_pending_publish_age_s(file, [TRIAL], shadow=False,
                                        clock=lambda: LANDED_AT_S) == 90.0
