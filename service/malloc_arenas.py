"""Fewer glibc malloc arenas for the daemon: a bounded peak RSS.

glibc gives each thread that meets contention an arena of its own (up to 8 per core), and an
arena keeps the high-water mark of what its thread once held. The daemon runs a dozen threads
(intake streams, six apply workers, jobs, gRPC's own); in the memory benchmark their arenas
held ~6 MB that two arenas do not (README "Performance"). Set before the threads start;
``MALLOC_ARENA_MAX`` in the environment (the operator's choice) is left alone, and a C library
without ``mallopt`` (musl, macOS) is left as it is.
"""

from __future__ import annotations

import ctypes
import os

M_ARENA_MAX = -8  # glibc's malloc.h
ARENAS = 2


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Ask glibc for at most ``arenas`` malloc arenas; True when it agreed."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_ARENA_MAX, arenas))
