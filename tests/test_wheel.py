"""The wheel docs/deployment.md builds is self-contained: installed into a clean venv (no
checkout on the path) it runs ``lifecycle-sync emulator`` and ``check-config`` against it.

The build runs on a copy of the sources without build leftovers (a stale ``build/`` would
leak old files into the wheel); pip resolves the dependencies through its usual index and
cache, which keeps a warm run to seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LEFTOVERS = shutil.ignore_patterns(".venv", ".git", "build", "dist", "*.egg-info", "__pycache__",
                                   ".mypy_cache", ".ruff_cache", ".pytest_cache", "tests",
                                   "node_modules", "*-state", "state")


def _build_wheel(tmp_path: Path, stale: tuple[str, ...] = ()) -> Path:
    """Build from a clean copy of the sources; ``stale`` files are planted in ``build/lib``
    first, as an earlier build (or an older checkout) leaves them."""
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=LEFTOVERS)
    for name in stale:
        (source / "build" / "lib" / name).parent.mkdir(parents=True, exist_ok=True)
        (source / "build" / "lib" / name).write_text("# left over from an earlier build\n")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w",
                    str(tmp_path / "dist"), str(source)], check=True, timeout=170)
    [wheel] = (tmp_path / "dist").glob("lifecycle_sync-*.whl")
    return wheel


def _clean_env(tmp_path: Path) -> dict[str, str]:
    """Only PATH (without the dev venv) and HOME: nothing points back at the checkout."""
    path = os.pathsep.join(p for p in os.environ.get("PATH", "/usr/bin:/bin").split(os.pathsep)
                           if not p.startswith(str(ROOT)))
    return {"PATH": path, "HOME": str(tmp_path)}


def test_wheel_is_self_contained_and_runs_from_a_clean_venv(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path)
    names = zipfile.ZipFile(wheel).namelist()
    assert not [n for n in names if n.startswith(("benchmarks/", "tests/"))]
    assert "emulator/sfdx/sfdx-project.json" in names
    assert ("emulator/sfdx/force-app/main/default/objects/SelfServeTrialEvent__e/"
            "SelfServeTrialEvent__e.object-meta.xml") in names

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
                   check=True, timeout=170)
    exe = str(venv / "bin" / "lifecycle-sync")
    env, work = _clean_env(tmp_path), tmp_path / "admin"
    work.mkdir()
    version = subprocess.run([exe, "--version"], capture_output=True, text=True, env=env,
                             cwd=work, timeout=60)
    assert version.stdout.strip() == "lifecycle-sync 0.1.0", version.stderr

    emulator = subprocess.Popen([exe, "emulator", "--state", "emu", "--info-file", "emu.json"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                env=env, cwd=work)
    try:
        deadline = time.monotonic() + 60
        while not (work / "emu.json").exists():
            assert emulator.poll() is None, emulator.communicate()[1]  # e.g. FileNotFoundError
            assert time.monotonic() < deadline, "no emulator info file after 60 s"
            time.sleep(0.05)
        assert json.loads((work / "emu.json").read_text())["pubsub_endpoint"]
        checked = subprocess.run([exe, "check-config", "--emulator-info", "emu.json", "--state",
                                  "daemon-state"], capture_output=True, text=True, env=env,
                                 cwd=work, timeout=120)
        assert checked.returncode == 0, checked.stderr
        assert "GetTopic /event/SelfServeTrialEvent__e" in checked.stderr
    finally:
        emulator.send_signal(signal.SIGTERM)
        emulator.communicate(timeout=30)


def test_stale_build_dir_cannot_put_files_into_the_wheel(tmp_path: Path) -> None:
    """setuptools packs whatever is in build/lib: a build from before benchmarks/ was
    excluded (or a module since deleted) must not ride along."""
    wheel = _build_wheel(tmp_path, stale=("benchmarks/__init__.py", "benchmarks/rig.py",
                                          "service/removed_module.py"))
    names = zipfile.ZipFile(wheel).namelist()
    assert not [n for n in names if n.startswith("benchmarks/")], names  # was: packed
    assert "service/removed_module.py" not in names
    assert "service/cli.py" in names
