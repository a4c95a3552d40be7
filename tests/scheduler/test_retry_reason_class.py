"""retry-parked's ``Review_Reason__c`` for a row given up on is a bounded class (what the
admins' dashboard groups "by error class"), never the free-text message."""

from __future__ import annotations

import pytest

from scheduler.retry_parked import gave_up_reason


@pytest.mark.parametrize(("why", "parked", "expected"), [
    ("UNABLE_TO_LOCK_ROW: unable to obtain exclusive access to this record or 1 records: "
     "a00000000000001AAA", False, "gave up after retries: UNABLE_TO_LOCK_ROW"),
    ("Salesforce refused the Workspace write: FIELD_CUSTOM_VALIDATION_EXCEPTION: no", True,
     "gave up after retries: FIELD_CUSTOM_VALIDATION_EXCEPTION"),
    ("Conversion applied to ws-17 waits for its Trial", True,
     "gave up after retries: still parked by the rules"),
    ("not applied", False, "gave up after retries: not applied"),
    ("Workspace WS_17: something", True, "gave up after retries: still parked by the rules"),
])
def test_gave_up_reason_is_a_bounded_class(why: str, parked: bool, expected: str) -> None:
    assert gave_up_reason(why, parked) == expected
