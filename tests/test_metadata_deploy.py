"""``salesforce/`` passes Salesforce's own tooling, and deploys the org the emulator emulates.

``tools/metadata-check/convert.mjs`` runs ``@salesforce/source-deploy-retrieve`` (the library
``sf project deploy start`` uses) to convert the project to Metadata API format, as the CLI does
before a deploy. Its ``package.xml`` must list exactly what the emulator loads from the same
files (objects, fields, Change Data Capture selections) and what the structural tests check
(list views, permission sets, reports, report types, dashboards), so the org the tests run
against and the org an admin deploys cannot drift apart.

The Node part is installed by ``make metadata-check`` (``npm ci``), which ``.ci/run`` calls
before ``make test``. Without it these tests skip locally, and fail under ``CI=true``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from metadata_project import DEFAULT, LIST_VIEWS, PERMSETS, REPORTS, SFDX

from emulator.catalog import Catalog, ObjectKind
from emulator.metadata import MD_NS, change_event_object

TOOL = Path(__file__).resolve().parent.parent / "tools" / "metadata-check"
LIBRARY = "@salesforce/source-deploy-retrieve"
CONVERT_TIMEOUT_S = 120

# ----------------------------------------------------------------------------------------------
# Running the converter
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Conversion:
    returncode: int
    stdout: str
    stderr: str
    zip_path: Path


Convert = Callable[[Path, Path], Conversion]


def _missing_tool() -> str | None:
    """Why the converter cannot run here, or None when node and the pinned library are there."""
    if shutil.which("node") is None:
        return "node is not on PATH"
    pinned = json.loads((TOOL / "package.json").read_text())["dependencies"][LIBRARY]
    installed = TOOL / "node_modules" / LIBRARY / "package.json"
    if not installed.is_file():
        return f"{LIBRARY} is not installed in {TOOL}"
    version = json.loads(installed.read_text())["version"]
    if version != pinned:
        return f"{LIBRARY} {version} is installed in {TOOL}, package.json pins {pinned}"
    return None


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def convert() -> Convert:
    """``convert(sfdx_project_dir, output_dir)`` runs the converter as ``make metadata-check``."""
    missing = _missing_tool()
    if missing is not None:
        message = f"{missing}: run `make metadata-check` (npm ci) first"
        if _in_ci():
            pytest.fail(f"CI must run the metadata check: {message}")
        pytest.skip(message)

    def run(project: Path, output: Path) -> Conversion:
        done = subprocess.run(  # fixed argv: our own script on paths we chose
            ["node", str(TOOL / "convert.mjs"), str(project), str(output)],
            capture_output=True, text=True, timeout=CONVERT_TIMEOUT_S, check=False,
            env={**os.environ, "SF_DISABLE_LOG_FILE": "true"},  # no ~/.sf log files
        )
        return Conversion(done.returncode, done.stdout, done.stderr, output / "deploy.zip")

    return run


@pytest.fixture(scope="module")
def converted(convert: Convert, tmp_path_factory: pytest.TempPathFactory) -> Conversion:
    result = convert(SFDX, tmp_path_factory.mktemp("metadata-check"))
    assert result.returncode == 0, result.stderr
    return result


def _package(zip_path: Path) -> dict[str, set[str]]:
    """``package.xml`` of the deploy zip as ``{type: {members}}``."""
    with zipfile.ZipFile(zip_path) as archive:
        root = ET.fromstring(archive.read("package.xml"))
    return {
        (t.findtext(f"{MD_NS}name") or ""): {(m.text or "") for m in t.findall(f"{MD_NS}members")}
        for t in root.findall(f"{MD_NS}types")
    }


def _zipped_cdc_entities(zip_path: Path) -> set[str]:
    """Objects whose change events the converted channel members select on ``ChangeEvents``."""
    names = set()
    with zipfile.ZipFile(zip_path) as archive:
        for name in archive.namelist():
            if name.endswith(".platformEventChannelMember"):
                member = ET.fromstring(archive.read(name))
                if member.findtext(f"{MD_NS}eventChannel") == "ChangeEvents":
                    names.add(change_event_object(member.findtext(f"{MD_NS}selectedEntity", "")))
    return names


# ----------------------------------------------------------------------------------------------
# The project converts, and the converted package is the emulated org
# ----------------------------------------------------------------------------------------------


def test_the_project_converts(converted: Conversion) -> None:
    assert converted.stdout.strip() == f"conversion succeeded: {_component_count()} components"
    assert converted.zip_path.is_file()


def _component_count() -> int:
    """Top-level source components: objects (fields and list views are their children), plus
    every other metadata file (a folder counts as one)."""
    objects_dir = DEFAULT / "objects"
    objects = [p for p in objects_dir.iterdir() if p.is_dir()]
    others = [p for p in DEFAULT.rglob("*-meta.xml") if not p.is_relative_to(objects_dir)]
    return len(objects) + len(others)


def test_objects_and_fields_are_the_emulators(converted: Conversion, catalog: Catalog) -> None:
    package = _package(converted.zip_path)
    custom = {ObjectKind.CUSTOM, ObjectKind.PLATFORM_EVENT}
    assert package["CustomObject"] == {o.name for o in catalog if o.kind in custom}
    assert package["CustomField"] == {
        f"{o.name}.{f.name}" for o in catalog for f in o.fields if f.name.endswith("__c")
    }


def test_change_data_capture_is_the_emulators(converted: Conversion, catalog: Catalog) -> None:
    assert "PlatformEventChannelMember" in _package(converted.zip_path)
    assert _zipped_cdc_entities(converted.zip_path) == {o.name for o in catalog if o.cdc_enabled}


def _stem(path: Path) -> str:
    return path.name.split(".")[0]


def test_other_components_are_what_the_structural_tests_check(converted: Conversion) -> None:
    """The emulator does not model these; tests/test_metadata_access.py and
    tests/test_metadata_reports.py check these files."""
    package = _package(converted.zip_path)
    folders = {f"{_stem(p)}/" for p in (DEFAULT / "reports").glob("*.reportFolder-meta.xml")}
    dashboards = DEFAULT / "dashboards"
    assert package["ListView"] == {f"{p.parent.parent.name}.{_stem(p)}" for p in LIST_VIEWS}
    assert package["PermissionSet"] == {_stem(p) for p in PERMSETS}
    assert package["Report"] == folders | {f"{p.parent.name}/{_stem(p)}" for p in REPORTS}
    assert package["ReportType"] == {_stem(p) for p in DEFAULT.glob("reportTypes/*-meta.xml")}
    assert package["Dashboard"] == (
        {f"{_stem(p)}/" for p in dashboards.glob("*.dashboardFolder-meta.xml")}
        | {f"{p.parent.name}/{_stem(p)}" for p in dashboards.glob("*/*.dashboard-meta.xml")}
    )


def test_every_converted_type_is_compared(converted: Conversion) -> None:
    """A new metadata type fails here until the emulator (or a structural test) covers it."""
    assert set(_package(converted.zip_path)) == {
        "CustomObject", "CustomField", "PlatformEventChannelMember", "ListView", "PermissionSet",
        "Report", "ReportType", "Dashboard",
    }


# ----------------------------------------------------------------------------------------------
# The check fails as `sf project deploy start` would
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("relative", "message"),
    [
        ("objects/Event_Cache__c/listViews/Errors.listView-meta.xml",
         'Component conversion failed: Invalid XML tags or unable to find matching parent xml '
         'file for ListView "Errors"'),
        ("objects/Workspace__c/fields/MRR__c.field-meta.xml",
         'Component conversion failed: Invalid XML tags or unable to find matching parent xml '
         'file for CustomField "MRR__c"'),
    ],
)
def test_a_comment_before_the_root_element_fails_the_check(
    convert: Convert, tmp_path: Path, relative: str, message: str
) -> None:
    project = tmp_path / "salesforce"
    shutil.copytree(SFDX, project)
    broken = project / DEFAULT.relative_to(SFDX) / relative
    declaration, _, rest = broken.read_text().partition("\n")
    broken.write_text(f"{declaration}\n<!-- explains the file, but outside the root -->\n{rest}")
    result = convert(project, tmp_path / "out")
    assert result.returncode == 1
    assert message in result.stderr
    assert not result.zip_path.exists()
