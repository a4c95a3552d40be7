"""While the intake drains a backlog (batches at least half full), the apply loop claims no
new cycle for a moment after each batch; bounded per episode, with a pause between episodes
so a steady flood never starves applying."""

from __future__ import annotations

import pytest

from service.catch_up import MAX_S, STEP_S, CatchUp


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _rig() -> tuple[CatchUp, Clock, list[float]]:
    clock = Clock()
    held: list[float] = []
    catch_up = CatchUp(100, clock)
    catch_up.defer = held.append
    return catch_up, clock, held


def test_full_batches_hold_apply_back_a_step_at_a_time_up_to_the_cap() -> None:
    catch_up, clock, held = _rig()
    catch_up.batch(49)  # under half: caught up, apply goes on
    assert held == []
    catch_up.batch(50)
    assert held == [100.0 + STEP_S]
    for _ in range(40):
        clock.now += 0.1
        catch_up.batch(100)
    assert max(held) == 100.0 + MAX_S  # never past the episode's cap
    assert all(until > 100.0 for until in held)
    clock.now = 100.0 + MAX_S + 0.1
    catch_up.batch(100)
    assert max(held) == 100.0 + MAX_S  # the cap reached: no more holding this episode


def test_after_an_episode_apply_gets_as_long_before_the_next_one() -> None:
    catch_up, clock, held = _rig()
    catch_up.batch(100)
    clock.now += 1.0
    catch_up.batch(100)
    clock.now += 0.1
    catch_up.batch(10)  # caught up after a 1.1 s episode
    count = len(held)
    clock.now += 0.5
    catch_up.batch(100)  # too soon: apply had 0.5 s of the 1.1 s it is owed
    assert len(held) == count
    clock.now += 0.7
    catch_up.batch(10)
    catch_up.batch(100)
    assert len(held) == count + 1
    assert held[-1] == clock.now + STEP_S


def test_nothing_is_held_before_the_apply_loop_exists() -> None:
    catch_up = CatchUp(100, Clock())
    catch_up.batch(100)  # defer not set yet: no error, nothing to hold


def test_a_quiet_topic_does_not_end_another_topics_catch_up() -> None:
    """One CatchUp serves every topic: the Lead change topic's small batches arriving while
    the platform-event topic drains its backlog must not end that episode."""
    catch_up, clock, held = _rig()
    catch_up.batch(100, "/event/A")
    clock.now += 0.1
    catch_up.batch(3, "/data/B")  # B is quiet; A is still draining
    clock.now += 0.05
    catch_up.batch(100, "/event/A")
    assert held == pytest.approx([100.0 + STEP_S, 100.15 + STEP_S]), "the episode went on"
    catch_up.batch(10, "/event/A")  # A caught up too: over
    clock.now += 0.05
    catch_up.batch(100, "/event/A")
    assert len(held) == 2, "after the episode, apply gets as long before the next one"
