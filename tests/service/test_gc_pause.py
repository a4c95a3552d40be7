"""The collector is off only while the daemon imports, and comes back as it was."""

from __future__ import annotations

import gc

from service.gc_pause import gc_paused


def test_the_collector_is_off_inside_and_back_on_after() -> None:
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_it_comes_back_on_after_an_error_too() -> None:
    try:
        with gc_paused():
            raise ImportError("a failed import")
    except ImportError:
        pass
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_freeze_keeps_what_was_imported_out_of_later_collections() -> None:
    before = gc.get_freeze_count()
    try:
        with gc_paused(freeze=True):
            kept = [[] for _ in range(10)]  # lists: tracked by the collector
        assert gc.get_freeze_count() >= before + len(kept)
        assert gc.isenabled()
    finally:
        gc.unfreeze()
