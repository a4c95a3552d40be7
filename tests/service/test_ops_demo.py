"""``make demo`` tells the whole story and exits 0 (it is what a newcomer runs first)."""

from __future__ import annotations

import subprocess

from helpers.children import child_env, module_argv
from svc_rig import ROOT


def test_demo_tells_the_story_and_ends_with_the_table() -> None:
    done = subprocess.run(module_argv("service.demo"), cwd=ROOT, env=child_env(),
                          capture_output=True, text=True, timeout=120, check=False)
    out = done.stdout
    assert done.returncode == 0, out[-3000:] + done.stderr[-3000:]
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ws-")}
    assert rows["ws-1001"].split()[1:3] == ["Paid", "Team"]  # trial then conversion
    assert "Acme Ltd" in rows["ws-1001"]  # converted into the matched Account
    assert rows["ws-1002"].split()[1] == "Churned"
    assert "Marketo" in rows["ws-1004"]  # the Marketo-created Lead linked, no new Lead
    assert rows["ws-1005"].split()[1] == "Paid"  # out-of-order pair ends Paid
    assert "ws-1006" not in rows  # malformed: parked for review instead
    parked = [line.split() for line in out.splitlines() if line.startswith("    Trial ")]
    assert ["Trial", "ws-1006", "Error"] in parked  # a readable row, not a tuple
    leads = out.split("  Leads:\n", 1)[1].splitlines()
    assert leads[0].split() == ["COMPANY", "SOURCE", "CONVERTED"]
    assert ["Initech", "Marketo", "no"] in [row.split() for row in leads[1:]]
    assert "('" not in out  # no Python tuples or lists of them
    assert "Task: Trial ends in 1 day: ws-1007" in out
    assert out.rstrip().endswith("demo finished OK")
    assert "API calls spent by the daemon:" in out.splitlines()[-2]
    assert "{" not in out.splitlines()[-2]  # "kind: n" pairs, not a Python dict


def test_the_api_calls_line_lists_kind_n_pairs() -> None:
    from service.demo_report import calls_line

    line = calls_line({"total": 12, "by_kind": {"query": 7, "collections_upsert": 5}}, 9, 3)
    assert line == ("API calls spent by the daemon: 9 for 9 events (all calls since start, "
                    "incl. the demo's own 3, by kind: collections_upsert: 5, query: 7)")
