"""Start-up without the cyclic garbage collector's passes over freshly imported modules.

Importing the daemon creates a few hundred thousand long-lived objects (modules, classes,
functions); with the collector on, each allocation burst triggers generation passes that walk
them again and again, for no garbage: ~15 % of the CPU ``lifecycle-sync run`` spends on
imports (``benchmarks.intake``, ``startup_cpu_s``). :func:`gc_paused` turns the collector off
for the imports only; :func:`gc.freeze` then moves what they made out of every later
collection's way, as a long-lived daemon wants.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def gc_paused(freeze: bool = False) -> Iterator[None]:
    """The collector off for the body, then back as it was; ``freeze``: afterwards, keep
    everything allocated so far out of future collections (it lives as long as the process)."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if was_on:
            gc.enable()
