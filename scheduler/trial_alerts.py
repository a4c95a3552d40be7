"""trial-alerts: one Salesforce Task per Trial Workspace and threshold, for the rep who owns it.

Once a day (at a configured local time and zone), Trial Workspaces whose trial ends within the
largest threshold are read in one query. For each, the tightest threshold reached (days left
<= threshold: 7, then 1 by default) is alerted unless the Workspace records it already:
``Expiration_Alert_Sent_For__c`` (the expiration date alerted for) and
``Expiration_Alert_Days__c`` (the threshold). A missed 7-day alert is not sent late once the
1-day threshold is reached: one Task, the more urgent one.

At most one Task per Workspace and threshold, ever, even after a crash: the Task and the
Workspace's record of it are created in the same Composite request with ``allOrNone: true``,
so Salesforce commits both or neither; a crash before the answer arrives leaves the record
in place and the next run skips the Workspace. A Workspace that converted or churned is no
longer ``Trial`` and is never selected. Up to 12 Workspaces per Composite (two subrequests
each, 25 at most); a pair Salesforce refuses is dropped and the rest sent again.

Task: ``OwnerId`` the linked Lead's owner (not converted), else the Account's, else the
Workspace's; ``WhatId`` the Workspace; ``WhoId`` only the Workspace's Contact, never the
Lead (Salesforce refuses a Task whose WhoId is a Lead and whose WhatId is set). The usage
figures quoted are ``Latest_Usage__c``, which the apply side keeps current from the newest
event that carried any (read in the same query: no extra call, and still there weeks after
the local inbox pruned the event); a Workspace without them says "none reported".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from handlers.errors import CallRejected
from handlers.soql import date_literal
from handlers.usage import from_text
from scheduler.settings import AlertSettings
from scheduler.sf_ops import JobsSalesforce

PAIRS_PER_COMPOSITE = 12
MAX_REFUSALS_PER_RUN = 50
USER_PREFIX = "005"
FIELDS = ("Id", "Name", "Workspace_ID__c", "Trial_Start_Date__c", "Trial_Expiration_Date__c",
          "Expiration_Alert_Sent_For__c", "Expiration_Alert_Days__c", "OwnerId", "Lead__c",
          "Lead__r.OwnerId", "Lead__r.IsConverted", "Account__c", "Account__r.OwnerId",
          "Account__r.Name", "Contact__c", "Latest_Usage__c", "Latest_Usage_At__c")


@dataclass(frozen=True)
class Alert:
    workspace: dict[str, Any]
    expires: dt.date
    days_left: int
    threshold: int


def local_today(now: dt.datetime, settings: AlertSettings) -> dt.date:
    return now.astimezone(settings.zone).date()


def candidates_query(today: dt.date, settings: AlertSettings) -> str:
    last = today + dt.timedelta(days=max(settings.thresholds_days))
    return (f"SELECT {', '.join(FIELDS)} FROM Workspace__c "
            "WHERE Self_Serve_Status__c = 'Trial' "
            f"AND Trial_Expiration_Date__c >= {date_literal(today)} "
            f"AND Trial_Expiration_Date__c <= {date_literal(last)} "
            "ORDER BY Trial_Expiration_Date__c, Workspace_ID__c")


def due_alert(row: dict[str, Any], today: dt.date, thresholds: Iterable[int]) -> Alert | None:
    """The alert this Workspace needs today, or None (pure: tested by table)."""
    raw = row.get("Trial_Expiration_Date__c")
    if not isinstance(raw, str) or row.get("Self_Serve_Status__c", "Trial") != "Trial":
        return None
    expires = dt.date.fromisoformat(raw)
    days_left = (expires - today).days
    reached = [t for t in thresholds if 0 <= days_left <= t]
    if not reached:
        return None
    threshold = min(reached)
    if row.get("Expiration_Alert_Sent_For__c") == raw:
        sent_days = row.get("Expiration_Alert_Days__c")
        if sent_days is None or int(sent_days) <= threshold:
            return None
    return Alert(row, expires, days_left, threshold)


def owner_of(row: dict[str, Any]) -> str | None:
    lead = row.get("Lead__r") or {}
    account = row.get("Account__r") or {}
    for candidate in (None if lead.get("IsConverted") else lead.get("OwnerId"),
                      account.get("OwnerId"), row.get("OwnerId")):
        if isinstance(candidate, str) and candidate.startswith(USER_PREFIX):
            return candidate
    return None


def task_body(alert: Alert) -> dict[str, Any]:
    ws = alert.workspace
    name = str(ws.get("Name") or ws.get("Workspace_ID__c"))
    when = "today" if alert.days_left == 0 else (
        "in 1 day" if alert.days_left == 1 else f"in {alert.days_left} days")
    account = ws.get("Account__r") or {}
    usage = from_text(ws.get("Latest_Usage__c"))
    figures = ", ".join(f"{k}={v:g}" for k, v in sorted(usage.items())) or "none reported"
    if usage and ws.get("Latest_Usage_At__c"):
        figures += f" (event of {str(ws['Latest_Usage_At__c'])[:16].replace('T', ' ')} UTC)"
    lines = [
        f"The trial of workspace {name} ({ws.get('Workspace_ID__c')}) ends on "
        f"{alert.expires.isoformat()} ({when}).",
        f"Trial started: {ws.get('Trial_Start_Date__c') or 'unknown'}",
        f"Lead: {ws.get('Lead__c') or 'none'}; Account: {account.get('Name') or 'none'} "
        f"({ws.get('Account__c') or '-'})",
        f"Usage in the latest event: {figures}",
        f"Alert threshold: {alert.threshold} day(s) before expiration. Sent by lifecycle-sync.",
    ]
    body: dict[str, Any] = {
        "Subject": f"Trial ends {when}: {name}"[:255],
        "ActivityDate": alert.expires.isoformat(),
        "Status": "Not Started", "Priority": "High" if alert.days_left <= 1 else "Normal",
        "WhatId": ws["Id"], "Description": "\n".join(lines)}
    owner = owner_of(ws)
    if owner:
        body["OwnerId"] = owner
    if ws.get("Contact__c"):
        body["WhoId"] = ws["Contact__c"]
    return body


def trial_alerts(now: dt.datetime, sf: JobsSalesforce, settings: AlertSettings) -> str:
    today = local_today(now, settings)
    rows = sf.query(candidates_query(today, settings))
    alerts = [a for a in (due_alert(r, today, settings.thresholds_days) for r in rows) if a]
    if settings.owner_allowlist:  # a pilot: only the pilot team's trials get alerts
        alerts = [a for a in alerts if owner_of(a.workspace) in settings.owner_allowlist]
    sent, refused = _send(alerts, sf)
    text = f"{len(rows)} trial(s) ending by {today + dt.timedelta(max(settings.thresholds_days))}"
    text += f", {sent} alert(s) sent"
    if refused:
        text += f", {len(refused)} refused: " + "; ".join(refused[:3])
        raise AlertsRefused(text)
    return text


class AlertsRefused(Exception):
    error_class = "alert refused"


def _send(alerts: list[Alert], sf: JobsSalesforce) -> tuple[int, list[str]]:
    sent = 0
    refused: list[str] = []
    queue = list(alerts)
    while queue and len(refused) < MAX_REFUSALS_PER_RUN:
        batch, queue = queue[:PAIRS_PER_COMPOSITE], queue[PAIRS_PER_COMPOSITE:]
        answers = sf.composite(_pairs(batch, sf.api_path), all_or_none=True)
        if all(int(a.get("httpStatusCode", 500)) < 300 for a in answers) and answers:
            sent += len(batch)
            continue
        failed = _failed_pair(answers)
        if failed is None or failed >= len(batch):  # refused as a whole: nothing written
            raise CallRejected(f"the alert Composite was refused: {_error_text(answers)}")
        bad = batch[failed]
        refused.append(f"{bad.workspace.get('Workspace_ID__c')}: {_error_text(answers)}")
        queue = [a for a in batch if a is not bad] + queue
    return sent, refused


def _pairs(batch: list[Alert], api_path: str) -> list[dict[str, Any]]:
    subrequests: list[dict[str, Any]] = []
    for n, alert in enumerate(batch):
        subrequests.append({"method": "POST", "url": f"{api_path}/sobjects/Task",
                            "referenceId": f"task{n}", "body": task_body(alert)})
        subrequests.append({"method": "PATCH", "referenceId": f"ws{n}",
                            "url": f"{api_path}/sobjects/Workspace__c/{alert.workspace['Id']}",
                            "body": {"Expiration_Alert_Sent_For__c": alert.expires.isoformat(),
                                     "Expiration_Alert_Days__c": alert.threshold}})
    return subrequests


def _failed_pair(answers: list[dict[str, Any]]) -> int | None:
    """The index of the pair whose subrequest failed (not the ones merely halted)."""
    for answer in answers:
        if int(answer.get("httpStatusCode", 500)) < 300:
            continue
        body = answer.get("body")
        code = body[0].get("errorCode") if isinstance(body, list) and body else None
        if code != "PROCESSING_HALTED":
            ref = str(answer.get("referenceId", ""))
            return int(ref.removeprefix("task").removeprefix("ws") or 0)
    return None


def _error_text(answers: list[dict[str, Any]]) -> str:
    for answer in answers:
        body = answer.get("body")
        if isinstance(body, list) and body and body[0].get("errorCode") != "PROCESSING_HALTED":
            return f"{body[0].get('errorCode')}: {str(body[0].get('message'))[:200]}"
    return "refused"
