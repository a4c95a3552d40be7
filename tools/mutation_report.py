"""``python -m tools.mutation_report``: the mutation score per package after ``make mutate``.

Reads mutmut's results (``mutants/**/*.py.meta``) and the reviewed exclusion list
(``mutation-exclusions.txt``: one ``mutant-name  reason`` per line, for equivalent mutants),
prints killed/total per package and every surviving mutant that is not excluded, and exits 1
when a package scores below ``--min`` percent. Killed counts mutants failed by a test, by a
timeout or by mypy; "no tests" (no test executes the function) counts as surviving.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

KILLED = {1, 3, 36, 37, -24, 24, 152, 255, -11, -9}  # test failure, error, timeout, mypy
SURVIVED = {0, 5, 33}  # all tests passed; no tests reach the mutated function
EXCLUSIONS = Path("mutation-exclusions.txt")


def load_results(mutants_dir: Path) -> dict[str, int | None]:
    """Mutant name -> mutmut's exit code (None: not run yet)."""
    results: dict[str, int | None] = {}
    for meta in sorted(mutants_dir.rglob("*.py.meta")):
        results.update(json.loads(meta.read_text())["exit_code_by_key"])
    return results


def load_exclusions(path: Path) -> dict[str, str]:
    """Reviewed equivalent mutants: name -> the one-line reason."""
    if not path.exists():
        return {}
    found: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, reason = line.strip().partition(" ")
            found[name] = reason.strip()
    return found


def report(results: dict[str, int | None], excluded: dict[str, str], packages: list[str],
           every_name: set[str] | None = None) -> tuple[list[str], dict[str, float]]:
    """The lines to print and the score per package (percent of checked, not excluded)."""
    tally: dict[str, Counter[str]] = defaultdict(Counter)
    survivors: list[str] = []
    for name, code in sorted(results.items()):
        package = name.split(".", 1)[0]
        if package not in packages:
            continue
        if name in excluded:
            tally[package]["excluded"] += 1
        elif code is None:
            tally[package]["not run"] += 1
        elif code in KILLED:
            tally[package]["killed"] += 1
        else:
            tally[package]["survived"] += 1
            survivors.append(f"  {name}  ({'no tests' if code in (5, 33) else code})")
    lines, scores = [], {}
    for package in packages:
        t = tally[package]
        checked = t["killed"] + t["survived"]
        scores[package] = 100.0 * t["killed"] / checked if checked else 100.0
        lines.append(f"{package + '/':12} {scores[package]:5.1f} % killed ({t['killed']}/{checked}"
                     f"; {t['excluded']} excluded as equivalent, {t['not run']} not run)")
    if survivors:
        lines.append(f"surviving mutants ({len(survivors)}; `mutmut show NAME` for the diff):")
        lines.extend(survivors)
    stale = sorted(set(excluded) - (set(results) if every_name is None else every_name))
    if stale:
        lines.append(f"exclusions naming no current mutant (remove them): {', '.join(stale)}")
    return lines, scores


def sample_lines(sample: dict[str, int | None], every_name: set[str], packages: list[str]
                 ) -> list[str]:
    """Say the score is of a sample: how many of each package's mutants it holds."""
    def count(names: Iterable[str], package: str) -> int:
        return sum(1 for name in names if name.split(".", 1)[0] == package)

    return [f"{package + '/':12} sample of {count(sample, package)} of "
            f"{count(every_name, package)} mutants (make mutate's MUTATE_SAMPLE)"
            for package in packages]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("packages", nargs="*", default=["subscriber", "service"])
    parser.add_argument("--min", type=float, default=0.0, metavar="PERCENT",
                        help="exit 1 when a package scores below this")
    parser.add_argument("--mutants", type=Path, default=Path("mutants"))
    parser.add_argument("--names", type=Path, metavar="FILE",
                        help="score only these mutants (one name a line: make mutate's sample)")
    args = parser.parse_args(argv)
    results = load_results(args.mutants)
    every_name = set(results)
    if args.names:
        sample = set(args.names.read_text().split())
        results = {name: code for name, code in results.items() if name in sample}
    lines, scores = report(results, load_exclusions(EXCLUSIONS), args.packages, every_name)
    if args.names:
        lines = sample_lines(results, every_name, args.packages) + lines
    print("\n".join(lines))
    return 1 if any(score < args.min for score in scores.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
