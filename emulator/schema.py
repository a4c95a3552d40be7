"""Build the org's :class:`~emulator.catalog.Catalog` from standard objects plus our metadata."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from emulator.catalog import Catalog, ObjectDef
from emulator.metadata import DEFAULT_METADATA_DIR, read_metadata
from emulator.standard_objects import STANDARD_OBJECTS


def build_catalog(sfdx_root: Path = DEFAULT_METADATA_DIR) -> Catalog:
    """Standard objects with our custom fields appended, then our custom objects and events."""
    bundle = read_metadata(sfdx_root)
    objects: list[ObjectDef] = []
    for std in STANDARD_OBJECTS:
        extra = bundle.standard_object_fields.get(std.name, ())
        cdc = std.cdc_enabled or std.name in bundle.cdc_entities
        objects.append(replace(std, fields=std.fields + extra, cdc_enabled=cdc))
    objects.extend(bundle.objects)
    return Catalog(objects)
