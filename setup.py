"""Build hook: a clean build tree, and the SFDX metadata the emulator reads inside the wheel.

The emulator takes its custom schema from ``salesforce/`` (the files an admin deploys), which
sits beside the Python packages in a checkout. A wheel holds packages only, so the build
copies ``salesforce/sfdx-project.json`` and ``salesforce/force-app/`` into
``emulator/sfdx/``; :mod:`emulator.metadata` looks there first, then in the checkout.

setuptools packs everything in ``build/lib`` into the wheel, including what an earlier build
left there (``benchmarks/`` from before it was excluded, modules deleted since), whatever
``packages.find`` says. So ``build_py`` empties ``build/lib`` first: the wheel holds exactly
this build. Everything else (metadata, dependencies, entry points) is in ``pyproject.toml``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SOURCE = Path(__file__).resolve().parent / "salesforce"
PACKAGED = Path("emulator") / "sfdx"  # inside the build tree; emulator.metadata.PACKAGED_DIR


class BuildPyWithMetadata(build_py):
    """``build_py`` on an emptied ``build/lib``, plus the metadata copy (both skipped for
    editable installs: they read the checkout directly)."""

    def run(self) -> None:
        editable = getattr(self, "editable_mode", False)
        if not editable:  # build_py is the first build step: nothing else is there yet
            shutil.rmtree(self.build_lib, ignore_errors=True)
        super().run()
        if editable:
            return
        target = Path(self.build_lib) / PACKAGED
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        shutil.copy2(SOURCE / "sfdx-project.json", target / "sfdx-project.json")
        shutil.copytree(SOURCE / "force-app", target / "force-app")


setup(cmdclass={"build_py": BuildPyWithMetadata})
