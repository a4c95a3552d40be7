"""Each benchmark ``make bench`` runs works end to end at a tiny size: a table, then one JSON
object as the last line, holding the keys README's "Performance" section relies on.

Only the shape and the counts are checked, never a time or a size in MB: speed and memory are
measured by the benchmarks (on a loaded machine), not asserted in tests.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from benchmarks import api_calls, avro_decode, burst, intake, latency, memory, shutdown
from benchmarks.rig import query_inbox

COMMON = {"load_avg_before", "load_avg_after", "machine"}


def _last_json(capsys: pytest.CaptureFixture[str], run: Callable[[list[str]], int],
               argv: list[str]) -> tuple[dict[str, Any], list[str]]:
    assert run([*argv, "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    result = json.loads(lines[-1])
    assert isinstance(result, dict)
    assert set(result) >= COMMON
    assert len(result["load_avg_before"]) == 3
    return result, lines[:-1]


def test_intake_reports_live_throughput_startup_and_backlog_catch_up(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result, table = _last_json(capsys, intake.main, ["--events", "400"])
    assert set(result) >= {"events", "live_seconds", "live_events_per_s", "startup_s",
                           "startup_cpu_s", "backlog_daemon_cpu_s", "catchup_s",
                           "catchup_events_per_s", "live_peak_rss_mb", "backlog_peak_rss_mb",
                           "goals"}
    assert result["stored"] == [400, 400]
    assert 0 < result["startup_s"] <= result["catchup_s"]
    assert set(result["goals"]) == {"startup_s_le_0.5", "catchup_s_le_1.2"}
    assert any(line.startswith("startup_s") for line in table)


def test_latency_reports_percentiles_of_single_events(capsys: pytest.CaptureFixture[str]) -> None:
    result, table = _last_json(capsys, latency.main, ["--events", "5"])
    assert result["events"] == 5
    assert 0 < result["p50_ms"] <= result["p99_ms"] <= result["max_ms"]
    assert result["latency_ms"] == 0.0
    assert set(result["goals"]) == {"p50_ms_le_50", "p99_ms_le_150"}
    assert any(line.startswith("p99_ms") for line in table)


def test_burst_reports_throughput_calls_and_losses(capsys: pytest.CaptureFixture[str]) -> None:
    result, _ = _last_json(capsys, burst.main, ["--events", "300", "--latency-ms", "0"])
    assert result["events"] == 300
    assert result["lost"] == 0
    assert result["duplicates"] == 0
    assert result["api_calls"] > 0
    assert result["api_calls_per_event"] > 0
    assert {"events_per_s", "p50_ms", "p99_ms", "peak_rss_mb", "calls_by_kind"} <= set(result)
    assert set(result["goals"]) == {"events_per_s_ge_1000", "api_calls_per_event_le_0.03"}


def test_api_calls_counts_each_event_kind(capsys: pytest.CaptureFixture[str]) -> None:
    result, table = _last_json(capsys, api_calls.main, ["--events", "20"])
    for kind in api_calls.KINDS:
        assert result[f"{kind}_calls"] > 0, kind
        assert result[f"{kind}_calls_per_event"] == round(result[f"{kind}_calls"] / 20, 4)
    assert set(result["calls_by_kind"]) == set(api_calls.KINDS)
    assert any(line.startswith("lead_change_calls_per_event") for line in table)


def test_memory_reports_peak_rss_per_backlog_size(capsys: pytest.CaptureFixture[str]) -> None:
    result, _ = _last_json(capsys, memory.main, ["--sizes", "200", "400"])
    assert result["sizes"] == [200, 400]
    assert len(result["peak_rss_mb"]) == 2
    assert all(p > 0 for p in result["peak_rss_mb"])
    assert result["peak_ratio"] == round(result["peak_rss_mb"][1] / result["peak_rss_mb"][0], 3)
    assert result["daemon_exit_codes"] == [0, 0]
    assert set(result["goals"]) == {"peak_rss_mb_le_100", "flat_within_10_percent"}


def test_shutdown_reports_sigterm_to_exit_per_case(capsys: pytest.CaptureFixture[str]) -> None:
    result, table = _last_json(capsys, shutdown.main, ["--rounds", "1"])
    assert result["rounds"] == 1
    for case in ("streaming", "login_in_flight"):
        times = result[f"sigterm_to_exit_s_{case}"]
        assert 0 < times["median"] <= times["max"], case
    assert any(line.startswith("sigterm_to_exit_s_login_in_flight") for line in table)


def test_avro_decode_reports_each_library_per_topic(capsys: pytest.CaptureFixture[str]) -> None:
    result, table = _last_json(capsys, avro_decode.main, ["--events", "50"])
    assert result["events"] == 50
    for topic in ("SelfServeTrialEvent__e", "LeadChangeEvent"):
        assert result[f"{topic}_avg_payload_bytes"] > 0
        for lib in ("fastavro", "avro"):
            assert result[f"{topic}_{lib}_events_per_s"] > 0, (topic, lib)
    assert any(line.startswith("LeadChangeEvent_avro_events_per_s") for line in table)


def test_inbox_reads_see_no_rows_while_the_daemon_has_made_the_file_but_not_its_tables(
    tmp_path: Path,
) -> None:
    """The daemon creates its inbox file (the WAL pragma) a moment before its tables; the
    benchmarks and the reliability harness poll it from the start, and once hit "no such
    table: entries" there. That gap means nothing is stored yet; other errors still raise."""
    path = tmp_path / "inbox.sqlite3"
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA journal_mode=WAL")
    assert query_inbox(path, "SELECT event_id FROM entries") == []
    assert query_inbox(tmp_path / "absent.sqlite3", "SELECT event_id FROM entries") == []
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE entries (event_id TEXT)")
        db.execute("INSERT INTO entries VALUES ('e1')")
        db.commit()
    assert query_inbox(path, "SELECT event_id FROM entries") == [("e1",)]
    with pytest.raises(sqlite3.OperationalError, match="no such column"):
        query_inbox(path, "SELECT topic FROM entries")
