"""What ``make demo`` shows at the end: the records the daemon wrote, as readable tables,
and the trial-alerts job's Task (kept apart from :mod:`service.demo`, which tells the story)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from simple_salesforce.api import Salesforce


def print_salesforce(sf: Salesforce, calls: dict[str, Any], events: int, demo_calls: int
                     ) -> None:
    """The records the daemon wrote, and the API calls it spent writing them."""
    _print_workspaces(sf)
    leads = sf.query_all("SELECT Company, LeadSource, IsConverted FROM Lead "
                         "ORDER BY Company")["records"]
    _table("Leads", ("COMPANY", 14), ("SOURCE", 16), ("CONVERTED", 0),
           [(r["Company"], r["LeadSource"], "yes" if r["IsConverted"] else "no") for r in leads])
    parked = sf.query_all("SELECT Event_Type__c, Workspace_ID__c, Processing_Status__c "
                          "FROM Event_Cache__c ORDER BY Workspace_ID__c")["records"]
    _table("Event_Cache__c (parked)", ("TYPE", 11), ("WORKSPACE", 10), ("STATUS", 0),
           [(r["Event_Type__c"], r["Workspace_ID__c"], r["Processing_Status__c"])
            for r in parked])
    tasks = sf.query_all("SELECT Subject, ActivityDate, Priority FROM Task")["records"]
    for t in tasks:
        print(f"  Task: {t['Subject']} (due {t['ActivityDate']}, priority {t['Priority']})")
    by_kind = dict(calls["by_kind"])
    spent = calls["total"] - demo_calls
    print(f"API calls spent by the daemon: {spent} for {events} events "
          f"(all calls since start, by kind, incl. the demo's own {demo_calls}: {by_kind})")


def _table(title: str, *columns_and_rows: Any) -> None:
    """``title``, a header of (name, width) columns, then one line per row ("-" for empty)."""
    *columns, rows = columns_and_rows
    print(f"  {title}:")
    for cells in [[name for name, _ in columns], *rows]:
        print("    " + " ".join(f"{cell or '-'!s:<{width}}" for cell, (_, width)
                                in zip(cells, columns, strict=True)).rstrip())


def _print_workspaces(sf: Salesforce) -> None:
    rows = sf.query_all(
        "SELECT Workspace_ID__c, Self_Serve_Status__c, Plan_Type__c, MRR__c, Lead__c, "
        "Lead__r.LeadSource, Lead__r.IsConverted, Account__r.Name, Contact__c, "
        "Trial_History__c, Needs_Review__c, Review_Reason__c FROM Workspace__c "
        "ORDER BY Workspace_ID__c")["records"]
    print("Salesforce after apply (Workspace__c):")
    print(f"  {'WORKSPACE':<9} {'STATUS':<8} {'PLAN':<5} {'MRR':>6}  {'LEAD SOURCE':<16} "
          f"{'CONVERTED':<9} {'ACCOUNT':<10} {'CONTACT':<18} REVIEW")
    for r in rows:
        lead = r.get("Lead__r") or {}
        account = (r.get("Account__r") or {}).get("Name") or "-"
        review = r["Review_Reason__c"] if r["Needs_Review__c"] else ""
        print(f"  {r['Workspace_ID__c']:<9} {r['Self_Serve_Status__c'] or '-':<8} "
              f"{r['Plan_Type__c'] or '-':<5} {r['MRR__c'] or '-':>6}  "
              f"{lead.get('LeadSource') or '-':<16} "
              f"{'yes' if lead.get('IsConverted') else 'no':<9} "
              f"{account:<10} {r['Contact__c'] or '-':<18} {review}")


def alert_tasks(info_file: Path, state: Path, sf: Salesforce) -> bool:
    """Run the trial-alerts job once (as the daemon's scheduler would at alert time) and
    show the Task it gave the owner of the trial that ends tomorrow."""
    done = subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "service", "jobs", "run", "trial-alerts", "--emulator-info",
         str(info_file), "--state", str(state)], capture_output=True, text=True, timeout=60,
        check=False)
    print(f"jobs run trial-alerts: {done.stdout.strip() or done.stderr.strip()}")
    tasks = sf.query_all("SELECT Subject FROM Task")["records"]
    return done.returncode == 0 and any("ws-1007" in t["Subject"] for t in tasks)
