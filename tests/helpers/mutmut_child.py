"""``python mutmut_child.py MODULE ARGS``: run ``python -m MODULE ARGS`` and, at exit, write the
product functions it executed (mutmut's stats) to ``$MUTMUT_CHILD_HITS/<pid>.json``.

Used only while mutmut collects stats (see :mod:`helpers.children`); a child killed with
SIGKILL writes nothing, which only costs test selection, never correctness.
"""

from __future__ import annotations

import atexit
import json
import os
import runpy
import sys
from pathlib import Path


def _dump() -> None:
    from mutmut.state import state

    out = Path(os.environ["MUTMUT_CHILD_HITS"]) / f"{os.getpid()}.json"
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(sorted(state()._stats)))
    tmp.replace(out)


def _load_mutmut_config() -> None:
    """mutmut reads its config from ./pyproject.toml on first use; the child may run elsewhere
    (e.g. ``status --state st#1`` from a temporary directory), so load it from the root now."""
    from mutmut.configuration import config

    here = os.getcwd()
    os.chdir(Path(__file__).resolve().parents[2])
    try:
        config()
    finally:
        os.chdir(here)


if __name__ == "__main__":
    sys.path.insert(0, os.getcwd())  # as `python -m` would: the working directory comes first
    _load_mutmut_config()
    atexit.register(_dump)
    module = sys.argv[1]
    sys.argv = [module, *sys.argv[2:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
