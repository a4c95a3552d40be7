"""``python -m benchmarks.emulator`` runs end to end on a tiny org: a table, then one JSON line.

Only the shape is checked, never a time (speed is measured by the benchmark, not asserted).
"""

from __future__ import annotations

import json

import pytest

from benchmarks import emulator as bench


def test_the_benchmark_prints_a_table_then_one_json_object(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert bench.main(["--records", "6000", "--samples", "1", "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    result = json.loads(lines[-1])
    assert result["records"] == [600, 6000]
    assert set(result["operations"]) == set(bench.OPERATIONS)
    for entry in result["operations"].values():
        for size in ("600", "6000"):
            assert entry[size]["median_ms"] > 0
            assert entry[size]["p99_ms"] >= entry[size]["median_ms"]
            assert entry[size]["emulator_cpu_ms"] >= 0
        assert entry["ratio"] > 0
    assert set(result["goals_met"]) == {"in_query_200_median_ms_le_10", "writes_median_ms_le_40",
                                        "flat_within_25_percent"}
    assert any(line.startswith("in_query_200") for line in lines[:-1])


def test_an_org_too_small_for_the_samples_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        bench.main(["--records", "5000", "--samples", "30"])
    assert exit_info.value.code == 2
    assert "needs at least 6400 Leads" in capsys.readouterr().err
