"""The reviewed exclusion list (``mutation-exclusions.txt``) and its self-check.

Each entry is ``NAME  FINGERPRINT  REASON`` (format described at the top of the file).
mutmut numbers a function's mutants in order, so an edit to the function renumbers them: the
name an entry was reviewed under can come to mean another mutant (or none), and a reason
written for one mutant would then hide a different one. The fingerprint (a short hash of the
lines the mutant changes, as ``mutmut show NAME`` prints them) is taken when the entry is
reviewed; :func:`check` reports every entry whose mutant no longer exists or now changes
other lines, and ``tools.mutation_report`` exits 1 on any, so the list cannot silently drift.

``python -m tools.mutation_report --stamp`` fills in the fingerprint of every entry that has
none (a new entry, or one whose fingerprint was deleted after re-reading its diff); it never
replaces a fingerprint that is there.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

NOT_EQUIVALENT = "NOT EQUIVALENT"  # reason prefix: an accepted survivor, kept in the score
_FINGERPRINT = re.compile(r"[0-9a-f]{8}")


@dataclass(frozen=True)
class Exclusion:
    """One reviewed entry: ``accepted`` when the mutant is not equivalent (only unimportant)."""

    name: str
    fingerprint: str | None
    reason: str

    @property
    def accepted(self) -> bool:
        return self.reason.startswith(NOT_EQUIVALENT)


def parse_line(line: str) -> Exclusion | None:
    """An entry, or None for a comment or blank line. A second field that is not 8 hex
    digits is the reason's first word: the entry has no fingerprint yet."""
    if not line.strip() or line.startswith("#"):
        return None
    name, _, rest = line.strip().partition(" ")
    rest = rest.strip()
    first, _, after = rest.partition(" ")
    if _FINGERPRINT.fullmatch(first):
        return Exclusion(name, first, after.strip())
    return Exclusion(name, None, rest)


def load(path: Path) -> dict[str, Exclusion]:
    """Every entry by mutant name ({} when there is no list)."""
    if not path.exists():
        return {}
    entries = (parse_line(line) for line in path.read_text().splitlines())
    return {e.name: e for e in entries if e is not None}


def mutant_files(mutants_dir: Path) -> dict[str, Path]:
    """Mutant name -> the mutated module mutmut wrote it into (``mutants/pkg/mod.py``)."""
    files: dict[str, Path] = {}
    for meta in sorted(mutants_dir.rglob("*.py.meta")):
        for name in json.loads(meta.read_text())["exit_code_by_key"]:
            files[name] = meta.with_suffix("")
    return files


def changed_lines(module: Path, name: str) -> list[str]:
    """The lines the mutant removes and adds ("-..." / "+...", stripped), read through
    mutmut's span index (``.py.spans``) of the mutated module: the original function and the
    mutant are both in it, under generated names."""
    spans = json.loads(module.with_name(module.name + ".spans").read_text())["spans"]
    return diff_of(module.read_text().splitlines(), spans, name)


def diff_of(lines: list[str], spans: dict[str, list[int]], name: str) -> list[str]:
    """:func:`changed_lines` of a mutated module's ``lines`` and span index (1-based,
    inclusive line numbers of each generated function)."""
    generated = name.rpartition(".")[2]
    original = generated.partition("__mutmut_")[0] + "__mutmut_orig"

    def body(function: str) -> list[str]:
        start, end = spans[function]
        return [line.replace(function, "FUNCTION").strip() for line in lines[start - 1:end]]

    diff = difflib.unified_diff(body(original), body(generated), lineterm="", n=0)
    return [line for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---")]


def fingerprint(module: Path, name: str) -> str:
    """8 hex digits of the SHA-256 of :func:`changed_lines`."""
    text = "\n".join(changed_lines(module, name))
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def check(entries: dict[str, Exclusion], files: dict[str, Path], packages: list[str]
          ) -> list[str]:
    """One line per entry of ``packages`` that is stale: names no mutant, has no
    fingerprint, or whose mutant now changes other lines than the one reviewed."""
    problems: list[str] = []
    for name, entry in sorted(entries.items()):
        if name.split(".", 1)[0] not in packages:
            continue
        if name not in files:
            problems.append(f"  {name}: names no current mutant (find its new name with "
                            "`mutmut show`, or remove the entry)")
        elif entry.fingerprint is None:
            problems.append(f"  {name}: no fingerprint (read `mutmut show {name}`, then "
                            "`python -m tools.mutation_report --stamp`)")
        elif (found := fingerprint(files[name], name)) != entry.fingerprint:
            problems.append(f"  {name}: the mutant changed ({entry.fingerprint} reviewed, "
                            f"{found} now): read `mutmut show {name}`; renamed or renumbered, "
                            "move the entry; still right, delete its fingerprint and --stamp")
    return problems


def stamp(path: Path, files: dict[str, Path], packages: list[str]) -> int:
    """Fill in the fingerprint of every entry of ``packages`` that has none and names a
    current mutant; the number filled in. Other lines are kept as they are."""
    out: list[str] = []
    filled = 0
    for line in path.read_text().splitlines():
        entry = parse_line(line)
        if (entry is not None and entry.fingerprint is None and entry.name in files
                and entry.name.split(".", 1)[0] in packages):
            line = f"{entry.name}  {fingerprint(files[entry.name], entry.name)}  {entry.reason}"
            filled += 1
        out.append(line)
    path.write_text("".join(f"{line}\n" for line in out))
    return filled
