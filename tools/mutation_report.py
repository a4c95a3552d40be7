"""``python -m tools.mutation_report``: the mutation score per package after ``make mutate``.

Reads mutmut's results (``mutants/**/*.py.meta``) and the reviewed exclusion list
(``mutation-exclusions.txt``, see :mod:`tools.mutation_exclusions`), prints killed/checked per
package with its 95 % confidence interval, and every surviving mutant that is not listed.
Killed counts mutants failed by a test, by a timeout or by mypy; "no tests" (no test executes
the function) counts as surviving. Equivalent mutants (no test can tell them from the
original) leave the denominator; listed mutants that are NOT EQUIVALENT (reviewed, judged
unimportant) stay in it as accepted survivors, counted apart. Exits 1 when a package scores
below ``--min`` percent, or when an entry of the list names no mutant, has no fingerprint, or
its mutant changed since it was reviewed (``--stamp`` fills in missing fingerprints).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

from tools import mutation_exclusions
from tools.mutation_exclusions import Exclusion

KILLED = {1, 3, 36, 37, -24, 24, 152, 255, -11, -9}  # test failure, error, timeout, mypy
SURVIVED = {0, 5, 33}  # all tests passed; no tests reach the mutated function
EXCLUSIONS = Path("mutation-exclusions.txt")
Z_95 = 1.959964  # the standard normal's 97.5th percentile: a two-sided 95 % interval


def load_results(mutants_dir: Path) -> dict[str, int | None]:
    """Mutant name -> mutmut's exit code (None: not run yet)."""
    results: dict[str, int | None] = {}
    for meta in sorted(mutants_dir.rglob("*.py.meta")):
        results.update(json.loads(meta.read_text())["exit_code_by_key"])
    return results


def wilson_95(killed: int, checked: int) -> tuple[float, float]:
    """The 95 % Wilson score interval of the killed fraction, in percent: a score measured on
    a sample of n mutants estimates the package's score only within this (n = 150 at 88 %:
    about 82-92 %). Wilson's rather than the normal approximation's: it stays inside 0-100 %
    and is not too narrow near the ends."""
    if checked == 0:
        return 0.0, 100.0
    p, n, z2 = killed / checked, checked, Z_95 * Z_95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z_95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return 100.0 * max(0.0, centre - half), 100.0 * min(1.0, centre + half)


def _tally(results: dict[str, int | None], excluded: dict[str, Exclusion], packages: list[str]
           ) -> tuple[dict[str, Counter[str]], list[str]]:
    """Counts per package (killed, survived, of which accepted, equivalent, not run) and the
    surviving mutants nobody has accepted."""
    tally: dict[str, Counter[str]] = defaultdict(Counter)
    survivors: list[str] = []
    for name, code in sorted(results.items()):
        package = name.split(".", 1)[0]
        if package not in packages:
            continue
        entry = excluded.get(name)
        if entry is not None and not entry.accepted:
            tally[package]["equivalent"] += 1
        elif code is None:
            tally[package]["not run"] += 1
        elif code in KILLED:
            tally[package]["killed"] += 1
        else:
            tally[package]["survived"] += 1
            if entry is not None:
                tally[package]["accepted"] += 1
            else:
                survivors.append(f"  {name}  ({'no tests' if code in (5, 33) else code})")
    return tally, survivors


def report(results: dict[str, int | None], excluded: dict[str, Exclusion], packages: list[str]
           ) -> tuple[list[str], dict[str, float]]:
    """The lines to print and the score per package (percent of checked, equivalents out)."""
    tally, survivors = _tally(results, excluded, packages)
    lines, scores = [], {}
    for package in packages:
        t = tally[package]
        checked = t["killed"] + t["survived"]
        scores[package] = 100.0 * t["killed"] / checked if checked else 100.0
        low, high = wilson_95(t["killed"], checked)
        lines.append(f"{package + '/':12} {scores[package]:5.1f} % killed ({t['killed']}/{checked}"
                     f"; 95 % interval {low:.1f}-{high:.1f} %; {t['accepted']} accepted "
                     f"survivors (not equivalent, reviewed); {t['equivalent']} excluded as "
                     f"equivalent; {t['not run']} not run)")
    if survivors:
        lines.append(f"surviving mutants ({len(survivors)}; `mutmut show NAME` for the diff):")
        lines.extend(survivors)
    return lines, scores


def sample_lines(sample: dict[str, int | None], every_name: set[str], packages: list[str],
                 names_file: Path) -> list[str]:
    """Say the score is of a selection (make mutate's sample, make mutate-changed's changed
    modules): how many of each package's mutants it holds."""
    def count(names: Iterable[str], package: str) -> int:
        return sum(1 for name in names if name.split(".", 1)[0] == package)

    return [f"{package + '/':12} sample of {count(sample, package)} of "
            f"{count(every_name, package)} mutants (the names in {names_file})"
            for package in packages]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("packages", nargs="*", default=["subscriber", "service"])
    parser.add_argument("--min", type=float, default=0.0, metavar="PERCENT",
                        help="exit 1 when a package scores below this")
    parser.add_argument("--mutants", type=Path, default=Path("mutants"))
    parser.add_argument("--names", type=Path, metavar="FILE",
                        help="score only these mutants (one name a line: make mutate's sample, "
                             "make mutate-changed's changed modules)")
    parser.add_argument("--exclusions", type=Path, default=EXCLUSIONS)
    parser.add_argument("--stamp", action="store_true",
                        help="fill in the fingerprint of every entry (of PACKAGES) that has none, "
                             "and exit")
    args = parser.parse_args(argv)
    files = mutation_exclusions.mutant_files(args.mutants)
    if args.stamp:
        filled = mutation_exclusions.stamp(args.exclusions, files, args.packages)
        print(f"{args.exclusions}: {filled} fingerprint(s) filled in")
        return 0
    results = load_results(args.mutants)
    every_name = set(results)
    if args.names:
        sample = set(args.names.read_text().split())
        results = {name: code for name, code in results.items() if name in sample}
    excluded = mutation_exclusions.load(args.exclusions)
    lines, scores = report(results, excluded, args.packages)
    if args.names:
        lines = sample_lines(results, every_name, args.packages, args.names) + lines
    stale = mutation_exclusions.check(excluded, files, args.packages)
    if stale:
        lines.append(f"{args.exclusions}: {len(stale)} entries to review (the score above "
                     "does not count on them):")
        lines.extend(stale)
    print("\n".join(lines))
    low = any(score < args.min for score in scores.values())
    return 1 if low or stale else 0


if __name__ == "__main__":
    sys.exit(main())
