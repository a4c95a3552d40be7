"""Invalid intake settings are refused with every problem named, each in words the operator
can act on (the same text ``check-config`` prints)."""

from __future__ import annotations

import pytest

from subscriber.settings import IntakeSettings


def test_every_problem_is_named_in_one_error() -> None:
    with pytest.raises(ValueError, match=r"^invalid intake settings: ") as refused:
        IntakeSettings(topics=(), batch_size=0, keepalive_s=0, rpc_timeout_s=-1,
                       watchdog_margin_s=-1, backoff_initial_s=5, backoff_max_s=1)
    assert str(refused.value) == (
        "invalid intake settings: topics must name at least one topic; "
        "batch_size must be 1..100, not 0; keepalive_s must be positive; "
        "rpc_timeout_s must be positive; watchdog_margin_s must not be negative; "
        "backoff_max_s must be at least backoff_initial_s")


def test_a_topic_named_twice_in_any_case_is_a_problem() -> None:
    with pytest.raises(ValueError, match=r"^invalid intake settings: topics must not repeat$"):
        IntakeSettings(topics=("/event/A__e", "/EVENT/a__E"))


def test_an_unknown_policy_names_the_choices_and_what_was_given() -> None:
    with pytest.raises(ValueError, match=r"^invalid intake settings: ") as refused:
        IntakeSettings(on_invalid_replay="skip", start_from="now")  # type: ignore[arg-type]
    assert str(refused.value) == (
        "invalid intake settings: on_invalid_replay must be one of fail, earliest, latest, "
        "not 'skip'; start_from must be one of earliest, latest, not 'now'")
