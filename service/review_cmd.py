"""``lifecycle-sync review list|show|retry|dismiss``: the parked events a human must judge.

They are the ``Event_Cache__c`` rows with ``Needs_Review__c`` set: malformed events,
retries given up, unknown Workspaces no trial ever arrived for, GAP_OVERFLOW
reconciliations. ``show`` prints one row with what to do about it; ``retry`` hands it back
to the retry-parked job (attempts reset, due now); ``dismiss`` closes it as Completed with a
note (retention deletes it later). In shadow mode (a pilot) ``retry`` and ``dismiss`` write
nothing: they print the change live mode would make. ``list`` pages with ``--limit`` and
``--offset`` and says when it shows only part. Works beside a running daemon: it only touches these
rows, through the same client rules (one query, one upsert).

Exit codes: 0 done; 1 no such row needing review; 69 (EX_UNAVAILABLE) Salesforce
unreachable or refused; 78 invalid configuration.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import sys
from typing import Any

from service.config import Config
from service.run_cmd import EX_CONFIG, config_or_report, config_source_args

EX_UNAVAILABLE = 69
FIELDS = ("Event_Uuid__c", "Workspace_ID__c", "Event_Type__c", "Processing_Status__c",
          "Retry_Count__c", "Review_Reason__c", "Original_Timestamp__c", "Replay_Id__c",
          "Processing_Notes__c", "Event_Data__c", "Next_Attempt_At__c")
BAD_DATA = ("the producer sent invalid data: fix it at the source and `review dismiss` this "
            "row, or publish a corrected event")
ADVICE = (
    ("Conflict:", "applied only where safe (see the notes): correct the Workspace by hand if "
     "needed, then `review dismiss`"),
    ("no trial", "the Workspace's trial never arrived: publish it (`lifecycle-sync publish "
     "trial ...`) then `review retry`"),
    ("GAP_OVERFLOW", "Salesforce dropped change events: reconcile the Leads changed in that "
     "period, then `review dismiss`"),
    ("gave up", "Salesforce kept refusing: fix the cause named above (validation rule, "
     "permissions) then `review retry`"),
    ("Event_Data__c", BAD_DATA), ("missing", BAD_DATA), ("bad ", BAD_DATA),
    ("invalid", BAD_DATA), ("unknown", BAD_DATA),
)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "review", help="parked events needing review: list, show, retry, dismiss",
        description="Event_Cache__c rows flagged Needs_Review__c: what they are and what to "
                    "do with them.",
        epilog="exit codes: 0 done, 1 no such row needing review, 69 Salesforce unavailable "
               "or refused, 78 invalid configuration")
    p.add_argument("action", choices=("list", "show", "retry", "dismiss"))
    p.add_argument("event_uuid", nargs="?", metavar="EVENT_UUID",
                   help="the row's Event_Uuid__c (show, retry, dismiss)")
    p.add_argument("--limit", type=_page_size, default=200,
                   help="list: at most this many rows (1-2000, default 200)")
    p.add_argument("--offset", type=_offset, default=0,
                   help="list: skip this many rows first (0-2000, SOQL's OFFSET limit)")
    config_source_args(p)
    p.set_defaults(func=_review)


def _page_size(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 2000:
        raise argparse.ArgumentTypeError("expected 1 to 2000")
    return value


def _offset(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 2000:
        raise argparse.ArgumentTypeError("expected 0 to 2000 (SOQL's OFFSET limit)")
    return value


def _review(args: argparse.Namespace) -> int:
    if args.action != "list" and not args.event_uuid:
        print(f"lifecycle-sync review {args.action}: EVENT_UUID is required", file=sys.stderr)
        return 64
    config = config_or_report(args)
    if config is None:
        return EX_CONFIG
    from handlers.errors import GatewayError

    try:
        return _act(config, args)
    except GatewayError as exc:
        print(f"lifecycle-sync review: Salesforce: {exc}", file=sys.stderr)
        return EX_UNAVAILABLE


def _act(config: Config, args: argparse.Namespace) -> int:
    from handlers.soql import quote_literal
    from service.connections import session_provider
    from service.jobs_wiring import salesforce

    sf = salesforce(config, session_provider(config))
    where = "Needs_Review__c = true"
    if args.event_uuid:
        where += f" AND Event_Uuid__c = {quote_literal(args.event_uuid)}"
    page = f"LIMIT {args.limit} OFFSET {args.offset}" if args.action == "list" else "LIMIT 1"
    rows = sf.query(f"SELECT {', '.join(FIELDS)} FROM Event_Cache__c WHERE {where} "  # noqa: S608 - the one value is escaped by quote_literal; the numbers are ints
                    f"ORDER BY Original_Timestamp__c, Event_Uuid__c {page}")
    if args.action == "list":
        total = (sf.count(f"SELECT COUNT() FROM Event_Cache__c WHERE {where}")  # noqa: S608 - a constant filter
                 if rows and (len(rows) == args.limit or args.offset) else len(rows))
        _print_list(rows, total, args.offset)
        return 0
    if not rows:
        print(f"no parked event {args.event_uuid} needs review (`review list` shows those "
              "that do)", file=sys.stderr)
        return 1
    if args.action == "show":
        _print_row(rows[0])
        return 0
    change, message = _decision(rows[0], args.action)
    if config.service.mode == "shadow":  # a pilot writes nothing to Salesforce
        print(f"shadow mode: nothing written; live mode would upsert Event_Cache__c {change} "
              f"({message})")
        return 0
    failed = sf.upsert("Event_Cache__c", "Event_Uuid__c", [change])
    if failed:
        print(f"lifecycle-sync review: Salesforce refused: {failed}", file=sys.stderr)
        return EX_UNAVAILABLE
    print(f"{rows[0]['Event_Uuid__c']}: {message}")
    return 0


def _decision(row: dict[str, Any], action: str) -> tuple[dict[str, Any], str]:
    """The row's change for ``retry`` or ``dismiss``, and what it means."""
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    notes = str(row.get("Processing_Notes__c") or "")
    change: dict[str, Any] = {"Event_Uuid__c": row["Event_Uuid__c"], "Needs_Review__c": False}
    if action == "retry":
        change.update(Retry_Count__c=0, Next_Attempt_At__c=None, Processing_Status__c="Error",
                      Processing_Notes__c=(notes + f"\n{stamp}: review retry by admin")[-32000:])
        return change, ("handed back to retry-parked: it runs on its schedule, or now with "
                        "`lifecycle-sync jobs run retry-parked`")
    change.update(Processing_Status__c="Completed",
                  Processing_Notes__c=(notes + f"\n{stamp}: dismissed by admin")[-32000:])
    return change, "dismissed: Completed, deleted by retention in due course"


def advice(reason: str) -> str:
    """What to do about a row, from its review reason."""
    for needle, text in ADVICE:
        if needle.lower() in reason.lower():
            return text
    return "read the reason and notes; fix the cause, then `review retry` or `review dismiss`"


def _print_list(rows: list[dict[str, Any]], total: int, offset: int) -> None:
    if not rows:
        print("nothing needs review" if not total else
              f"no rows from offset {offset}; {total} need review")
        return
    print(f"{'EVENT UUID':36}  {'WORKSPACE':14}  {'TYPE':10}  {'TRIES':>5}  REASON")
    for r in rows:
        print(f"{r['Event_Uuid__c']:36}  {str(r.get('Workspace_ID__c') or '-')[:14]:14}  "
              f"{r.get('Event_Type__c') or '-'!s:10}  {int(r.get('Retry_Count__c') or 0):>5}"
              f"  {str(r.get('Review_Reason__c') or '')[:80]}")
    if len(rows) < total:
        print(f"showing {offset + 1}-{offset + len(rows)} of {total} that need review; use "
              "--limit/--offset for the others")
    else:
        print(f"{total} need review (`review show EVENT_UUID` for details)")


def _print_row(row: dict[str, Any]) -> None:
    for field in FIELDS:
        value = row.get(field)
        if field == "Event_Data__c" and value:
            with contextlib.suppress(ValueError):
                value = json.dumps(json.loads(str(value)), indent=2, sort_keys=True)
        print(f"{field}: {value if value not in (None, '') else '-'}")
    print(f"what to do: {advice(str(row.get('Review_Reason__c') or ''))}")
