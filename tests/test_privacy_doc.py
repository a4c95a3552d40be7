"""docs/privacy.md backs each claim with a config key or a test: every key it names exists in
the configuration schema, every test it names exists, and every row of its Claims table
names at least one of them (issue 11, "each claim backed by a test or a config key")."""

from __future__ import annotations

import re
from pathlib import Path

from service.config_schema import SPEC

ROOT = Path(__file__).resolve().parents[1]
PRIVACY = ROOT / "docs" / "privacy.md"
KEY = re.compile(r"`([a-z]+)\.([a-z_]+)`")
TEST = re.compile(r"`((?:tests/[\w/]+\.py)?)::(\w+)`")


def _claims() -> list[list[str]]:
    """The Claims table's rows as [claim, config keys, tests]."""
    section = PRIVACY.read_text().split("\n## Claims\n", 1)[1]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[2:]]


def _tests(text: str) -> list[tuple[str, str]]:
    named, current = [], ""
    for match in TEST.finditer(text):
        current = match.group(1) or current  # `::name` continues the previous file
        named.append((current, match.group(2)))
    return named


def test_every_config_key_the_privacy_doc_names_exists() -> None:
    named = {(s, k) for s, k in KEY.findall(PRIVACY.read_text()) if s in SPEC}
    assert len(named) >= 7
    assert [f"{s}.{k}" for s, k in sorted(named) if k not in SPEC[s]] == []
    sections = {s for s, _ in KEY.findall(PRIVACY.read_text())} - {"journald"}
    assert sections <= set(SPEC), "a key of a section the schema does not have"


def test_every_test_the_privacy_doc_names_exists() -> None:
    named = _tests(PRIVACY.read_text())
    assert len(named) >= 12
    missing = [f"{path}::{name}" for path, name in named
               if f"def {name}(" not in (ROOT / path).read_text()]
    assert missing == []


def test_every_claim_names_a_config_key_or_a_test() -> None:
    rows = _claims()
    assert len(rows) >= 10
    for claim, keys, tests in rows:
        assert KEY.search(keys) or TEST.search(tests), f"unbacked claim: {claim}"
        for section, key in KEY.findall(keys):
            assert key in SPEC.get(section, {}), f"{section}.{key} ({claim})"


def test_the_readme_links_the_privacy_doc() -> None:
    assert "(docs/privacy.md)" in (ROOT / "README.md").read_text()
