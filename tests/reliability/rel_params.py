"""Short form (``make test``) or long form (``make soak``): seeds and sizes, from the environment.

* ``RELIABILITY_SOAK=1``: the long form (50 seeds x 10,000 events for R1, the 30-minute
  steady-load run); otherwise the short form every case runs in CI.
* ``RELIABILITY_SEED=N``: run only seed N (what a failure prints, to replay it).
* ``RELIABILITY_EVENTS=N``: events per run instead of the form's default.
* ``RELIABILITY_SEEDS=N``: how many seeds (both forms), e.g. a reduced soak.
* ``RELIABILITY_LOAD_S=N``: the steady-load run's length in seconds (soak: 1800).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

SOAK = os.environ.get("RELIABILITY_SOAK", "") == "1"
FIRST_SEED = 1001  # short-form seeds are 1001, 1002, …: fixed, so CI is reproducible


def seeds(short: int, soak: int = 50) -> list[int]:
    """The seeds a seeded case runs: ``RELIABILITY_SEED``, else the form's count."""
    if os.environ.get("RELIABILITY_SEED"):
        return [int(os.environ["RELIABILITY_SEED"])]
    count = int(os.environ.get("RELIABILITY_SEEDS") or (soak if SOAK else short))
    return [FIRST_SEED + i for i in range(count)]


def events(short: int, soak: int = 10_000) -> int:
    """Events per run: ``RELIABILITY_EVENTS``, else the form's size."""
    return int(os.environ.get("RELIABILITY_EVENTS") or (soak if SOAK else short))


def load_seconds(short: float = 0.0, soak: float = 1800.0) -> float:
    return float(os.environ.get("RELIABILITY_LOAD_S") or (soak if SOAK else short))


UNIT_FILE = Path(__file__).resolve().parents[2] / "systemd" / "lifecycle-sync.service"


def timeout_stop_s(unit: Path = UNIT_FILE) -> float:
    """The shipped unit's ``TimeoutStopSec`` (whole seconds): what systemd waits after SIGTERM
    before SIGKILL, so the shutdown cases allow exactly that, not a number of their own."""
    found = re.search(r"^TimeoutStopSec=(\d+)s?\s*$", unit.read_text(), re.MULTILINE)
    if found is None:
        raise ValueError(f"{unit}: no TimeoutStopSec=N line")
    return float(found[1])
