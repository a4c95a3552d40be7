"""The bounds of ``pubsub.max_receive_bytes`` are inclusive at both ends."""

from __future__ import annotations

import pytest

from subscriber.settings import MAX_RECEIVE_BYTES, MIN_RECEIVE_BYTES, IntakeSettings


@pytest.mark.parametrize("size", [MIN_RECEIVE_BYTES, MAX_RECEIVE_BYTES])
def test_max_receive_bytes_at_either_bound_is_accepted(size: int) -> None:
    assert IntakeSettings(max_receive_bytes=size).problems() == []


@pytest.mark.parametrize("size", [MIN_RECEIVE_BYTES - 1, MAX_RECEIVE_BYTES + 1])
def test_max_receive_bytes_past_either_bound_is_a_problem(size: int) -> None:
    with pytest.raises(ValueError, match="max_receive_bytes must be"):
        IntakeSettings(max_receive_bytes=size)
