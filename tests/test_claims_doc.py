"""docs/claims.md names, for each README promise, the test that fails if it breaks: every test
it names must exist (a renamed or deleted test would leave a claim unpinned)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLAIMS = ROOT / "docs" / "claims.md"


def test_every_test_the_claims_table_names_exists() -> None:
    named: list[tuple[str, str]] = []
    current = ""
    for match in re.finditer(r"`((?:[\w/]+\.py)?)::(\w+)`", CLAIMS.read_text()):
        current = match.group(1) or current  # `::name` continues the previous file
        named.append((current, match.group(2)))
    assert len(named) >= 50
    missing = [f"{path}::{name}" for path, name in named
               if f"def {name}(" not in (ROOT / "tests" / path).read_text()]
    assert missing == []


def test_readme_links_the_claims_table() -> None:
    assert "(docs/claims.md)" in (ROOT / "README.md").read_text()
