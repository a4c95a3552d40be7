"""tools/mutation_sample: the sample `make mutate` scores is spread evenly, and another
offset draws a disjoint one of the same size (the held-out check)."""

from __future__ import annotations

from tools.mutation_sample import every_kth

NAMES = [f"m{i:04d}" for i in range(1000)]


def test_every_kth_spreads_the_sample_over_all_names() -> None:
    chosen = every_kth(NAMES, 100)
    assert chosen == NAMES[::10]


def test_another_offset_draws_a_disjoint_sample_of_the_same_size() -> None:
    first, second = every_kth(NAMES, 100, 0), every_kth(NAMES, 100, 5)
    assert len(first) == len(second) == 100
    assert not set(first) & set(second)
    assert every_kth(NAMES, 100, 15) == second  # the offset is taken mod k


def test_size_zero_or_larger_than_the_package_takes_every_name() -> None:
    assert every_kth(NAMES, 0, 3) == NAMES
    assert every_kth(NAMES[:50], 100, 3) == NAMES[:50]
