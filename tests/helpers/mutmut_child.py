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


if __name__ == "__main__":
    sys.path.insert(0, os.getcwd())  # as `python -m` would: the code root comes first
    atexit.register(_dump)
    module = sys.argv[1]
    sys.argv = [module, *sys.argv[2:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
