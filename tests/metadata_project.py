"""Loading our SFDX project for the metadata tests: paths, parsed files, the emulator catalog."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from metadata_schema import SUFFIXES

from emulator.catalog import Catalog, FieldDef, FieldType, ObjectDef
from emulator.metadata import DEFAULT_METADATA_DIR, MD_NS

SFDX = DEFAULT_METADATA_DIR
DEFAULT = SFDX / "force-app" / "main" / "default"
NS_URI = MD_NS.strip("{}")

# ----------------------------------------------------------------------------------------------
# Loading the project
# ----------------------------------------------------------------------------------------------


def _suffix(path: Path) -> str | None:
    return next((s for s in SUFFIXES if path.name.endswith(s)), None)


def _xml_files() -> list[Path]:
    return sorted(p for p in SFDX.rglob("*") if p.is_file() and p.name != "sfdx-project.json")


def _root(path: Path) -> ET.Element:
    return ET.parse(path).getroot()


def _root_with_comments(path: Path) -> ET.Element:
    """The root element with its XML comments kept (``ET.Comment`` children)."""
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True))
    return ET.parse(path, parser).getroot()


def outside_root(document: bytes) -> list[str]:
    """Comments and processing instructions before or after the root element.

    Salesforce's source-deploy-retrieve cannot match a decomposed child (a list view, a field)
    to its parent when anything but the XML declaration precedes the root element ("Invalid XML
    tags or unable to find matching parent xml file"), so none is allowed in any file.
    """
    parser = ET.XMLPullParser(events=("start", "end", "comment", "pi"))
    parser.feed(document)
    parser.close()
    found, depth = [], 0
    for event, node in parser.read_events():
        depth += {"start": 1, "end": -1}.get(event, 0)
        if event in ("comment", "pi") and depth == 0:
            found.append(f"{event}: {(node.text or '').strip()[:40]}")
    return found


def _path(path: str) -> str:
    return "/".join(MD_NS + part for part in path.split("/"))


def _t(el: ET.Element, path: str) -> str:
    found = el.find(_path(path))
    assert found is not None, f"no <{path}>"
    return (found.text or "").strip()


def _all(el: ET.Element, path: str) -> list[ET.Element]:
    return el.findall(_path(path))


def _texts(el: ET.Element, path: str) -> list[str]:
    return [(e.text or "").strip() for e in _all(el, path)]


def _obj(catalog: Catalog, name: str) -> ObjectDef:
    obj = catalog.get(name)
    assert obj is not None, f"unknown object {name}"
    return obj


def _fld(catalog: Catalog, obj: str, name: str) -> FieldDef:
    f = _obj(catalog, obj).field(name)
    assert f is not None, f"{obj}.{name} does not exist"
    return f


def _field_type(catalog: Catalog, obj: str, name: str) -> FieldType:
    return _fld(catalog, obj, name).type


FILES = _xml_files()
FIELD_FILES = [p for p in FILES if p.name.endswith(".field-meta.xml")]
REPORTS = sorted((DEFAULT / "reports").glob("*/*.report-meta.xml"))
PERMSETS = sorted((DEFAULT / "permissionsets").glob("*.permissionset-meta.xml"))
LIST_VIEWS = sorted(DEFAULT.glob("objects/*/listViews/*.listView-meta.xml"))


def _id(path: Path) -> str:
    return str(path.relative_to(DEFAULT))
