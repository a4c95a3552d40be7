"""The checker: a run's final Salesforce state and inbox against the fault-free reference.

Vocabulary after Jepsen's queue checker (``../shared/research/reliability-anchors.md`` §6):

* **lost**: an event whose effect never shows: a record or a field value the reference has
  and this run lacks, or a published event that never reached the inbox;
* **duplicate_effect**: more records under one business key than the reference has (two
  Leads for one email, two Workspaces for one ID, two cache rows for one EventUuid), or an
  extra record the reference does not have at all;
* **lost** also: a Workspace whose ``Last_Event_Time__c`` is older than the reference's (its
  newest event, a Conversion say, never took effect), and an event the reference applied
  that this run dead-lettered;
* **stale_overwrite**: a field holding another non-empty value than the reference while the
  record's newest event time is the reference's (an older event's value won);
* **stuck**: an inbox entry still pending, or a topic whose checkpoint is not at the
  emulator's newest replay ID, once the run is over;
* **redelivered**: events the emulator sent more than once (allowed, but counted).

``collect(cluster, workload)`` takes a :class:`RunResult`; ``compare(reference, run)`` gives
a :class:`Verdict`; ``verdict.assert_clean()`` fails with the seed and the replay command.
``against_model(workload, run)`` gives the same counts with no reference run, from the
workload's own last-writer-wins model (the steady load, too long to run twice).
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from rel_harness import LEAD_TOPIC, TRIAL_TOPIC, Cluster
from rel_model_links import check_links
from rel_params import SOAK
from rel_snapshot import State, snapshot
from rel_workload import Workload, expected_workspaces, parse_instant

from service.config import inbox_path
from subscriber.inbox_file import readonly_uri

EMPTY = (None, False, "", 0, 0.0)


@dataclass
class RunResult:
    """What a run left behind."""

    state: State
    inbox: dict[str, str]  # platform event ID -> status ("applied", "poison", …)
    lead_changes_landed: int
    lead_changes_published: int
    pending: int
    checkpoints_current: bool
    redelivered: int
    integrity: str
    parked: frozenset[str] = frozenset()  # platform event IDs settled with an error (review)


def collect(cluster: Cluster, workload: Workload) -> RunResult:
    """The final state of ``cluster`` (call it once the run is idle, daemon stopped or not)."""
    rows = cluster.inbox_rows()
    store = cluster.emulator.context.bus.store
    return RunResult(
        state=snapshot(cluster.query_all, lambda o: dict(getattr(cluster.sf, o).describe())),
        inbox={eid: status for topic, eid, status, _ in rows if topic == TRIAL_TOPIC},
        lead_changes_landed=sum(1 for topic, *_ in rows if topic == LEAD_TOPIC),
        lead_changes_published=store.max_seq(LEAD_TOPIC),
        pending=sum(1 for *_, status, _ in rows if status == "pending"),
        checkpoints_current=cluster.checkpoints() == cluster.newest_replay_ids(),
        redelivered=cluster.redelivered(),
        integrity=integrity_check(cluster),
        parked=frozenset(eid for topic, eid, status, error in rows
                         if topic == TRIAL_TOPIC and status == "applied" and error),
    )


def integrity_check(cluster: Cluster) -> str:
    own = getattr(cluster, "integrity", None)  # a cluster whose inbox is not a file (rel_pg)
    if own is not None:
        return str(own())
    path = inbox_path(cluster.state)
    if not path.exists():
        return "missing"
    with contextlib.closing(sqlite3.connect(readonly_uri(path), uri=True)) as db:
        return ",".join(str(r[0]) for r in db.execute("PRAGMA integrity_check"))


@dataclass
class Verdict:
    """The counts (with up to a few examples each) for one run of one case and seed."""

    case: str
    seed: int
    events: int
    lost: list[str] = field(default_factory=list)
    duplicate_effect: list[str] = field(default_factory=list)
    stale_overwrite: list[str] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)
    redelivered: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.lost or self.duplicate_effect or self.stale_overwrite or self.stuck)

    def summary(self) -> str:
        return (f"[{self.case} seed={self.seed} events={self.events}] lost={len(self.lost)} "
                f"duplicate_effect={len(self.duplicate_effect)} "
                f"stale_overwrite={len(self.stale_overwrite)} stuck={len(self.stuck)} "
                f"redelivered={self.redelivered}")

    def replay_hint(self) -> str:
        """The command that runs this case's test alone on this seed, in the same form:
        ``-k test_r1_`` (``-k r1`` would also pick R10-R19)."""
        soak = "RELIABILITY_SOAK=1 " if SOAK else ""
        return (f"replay: {soak}RELIABILITY_SEED={self.seed} RELIABILITY_EVENTS={self.events} "
                f".venv/bin/python -m pytest tests/reliability -k {_select(self.case)}")

    def details(self, each: int = 5) -> str:
        parts = [self.summary()]
        for name in ("lost", "duplicate_effect", "stale_overwrite", "stuck", "notes"):
            items: list[str] = getattr(self, name)
            parts += [f"  {name}: {item}" for item in items[:each]]
        return "\n".join([*parts, self.replay_hint()])

    def assert_clean(self, max_redelivered: int | None = None) -> None:
        """Fail (printing the seed and how to replay it) unless clean."""
        print(self.summary())
        too_many = max_redelivered is not None and self.redelivered > max_redelivered
        if too_many:
            self.notes.append(f"redelivered {self.redelivered} > allowed {max_redelivered}")
        assert self.clean, self.details()
        assert not too_many, self.details()


# cases whose name is not their test's: the -k expression that picks exactly that test
_NAMED = {"steady-load": "test_steady_mixed_load", "R23 locked": "test_r23_with_the_lock",
          "R23": "test_r23_without_the_lock"}


def _select(case: str) -> str:
    numbered = re.fullmatch(r"([RF])(\d+)", case)
    if case in _NAMED:
        return _NAMED[case]
    if numbered:
        return f"test_{numbered[1].lower()}{numbered[2]}_"
    if case.startswith("retention-"):  # parametrised by how REST is refused
        return f"'retention and {case.removeprefix('retention-')}'"
    return case.lower()


def announce(case: str, seed: int, events: int) -> None:
    """Print the case's seed and replay command before it does anything: a case that then
    hangs (a wait, a kill point, pytest-timeout) still names its seed in the captured output,
    not only in a verdict it never reaches."""
    print(f"{case} seed={seed} events={events}; {Verdict(case, seed, events).replay_hint()}",
          flush=True)


def compare(reference: RunResult, run: RunResult, case: str, seed: int, events: int,
            expected_to_differ: frozenset[str] = frozenset(),
            dead_lettered: frozenset[str] = frozenset()) -> Verdict:
    """Classify every difference between ``run`` and the fault-free ``reference``.

    ``expected_to_differ``: Workspace IDs a case made unwritable on purpose (R10's locked
    records); their Workspace and cache rows are checked by the case, not here, as are the
    inbox entries of ``dead_lettered`` event IDs."""
    verdict = Verdict(case, seed, events, redelivered=run.redelivered)
    _compare_inbox(reference, run, verdict, dead_lettered)
    _compare_state(_without(reference.state, expected_to_differ),
                   _without(run.state, expected_to_differ), verdict)
    if run.integrity != "ok":
        verdict.stuck.append(f"inbox integrity_check: {run.integrity}")
    return verdict


def _compare_inbox(reference: RunResult, run: RunResult, verdict: Verdict,
                   dead_lettered: frozenset[str]) -> None:
    for event_id, status in reference.inbox.items():
        got = run.inbox.get(event_id)
        if event_id in dead_lettered:
            continue
        if got is None:
            verdict.lost.append(f"event {event_id} never reached the inbox")
        elif got == "pending":
            verdict.stuck.append(f"event {event_id} still pending")
        elif got != status and status == "applied":
            verdict.lost.append(f"event {event_id}: {got}, reference applied it")
        elif got != status:
            verdict.stale_overwrite.append(f"event {event_id}: {got}, reference {status}")
    if run.lead_changes_landed < run.lead_changes_published:
        verdict.lost.append(f"{run.lead_changes_published - run.lead_changes_landed} of "
                            f"{run.lead_changes_published} Lead change events never landed")
    if run.pending:
        verdict.stuck.append(f"{run.pending} inbox entries pending at the end")
    if not run.checkpoints_current:
        verdict.stuck.append("a checkpoint is behind the emulator's newest replay ID")


def _compare_state(reference: State, run: State, verdict: Verdict) -> None:
    for key, records in reference.items():
        got = run.get(key)
        if not got:
            verdict.lost.append(f"{key}: missing")
            continue
        if len(got) > len(records):
            verdict.duplicate_effect.append(f"{key}: {len(got)} records, reference {len(records)}")
        elif len(got) < len(records):
            verdict.lost.append(f"{key}: {len(got)} records, reference {len(records)}")
        for want, have in zip(records, got, strict=False):
            _compare_record(key, want, have, verdict)
    for key in run.keys() - reference.keys():
        verdict.duplicate_effect.append(f"{key}: extra record, not in the reference run")


def _without(state: State, workspace_ids: frozenset[str]) -> State:
    if not workspace_ids:
        return state
    return {key: records for key, records in state.items()
            if not (key[0] == "Workspace__c" and key[1][0] in workspace_ids)
            and not (key[0] == "Event_Cache__c"
                     and any(r.get("Workspace_ID__c") in workspace_ids for r in records))}


def _compare_record(key: Any, want: dict[str, Any], have: dict[str, Any], verdict: Verdict
                    ) -> None:
    diffs = {f: (have.get(f), v) for f, v in want.items() if have.get(f) != v}
    if not diffs:
        return
    text = f"{key}: " + ", ".join(f"{f}={a!r} (reference {b!r})" for f, (a, b) in diffs.items())
    older = _older(have.get("Last_Event_Time__c"), want.get("Last_Event_Time__c"))
    if older:
        verdict.lost.append(f"{text} (its newest event never took effect)")
    elif any(a not in EMPTY for a, _ in diffs.values()):
        verdict.stale_overwrite.append(text)
    else:
        verdict.lost.append(text)


def _older(have: Any, want: Any) -> bool:
    return isinstance(have, str) and isinstance(want, str) and have < want


UNIQUE = ("Workspace__c", "Lead", "Contact", "Event_Cache__c")  # one record per business key


def against_model(workload: Workload, run: RunResult, case: str, seed: int) -> Verdict:
    """Classify ``run`` against what the workload alone says must happen: every valid event
    applied, each modelled Workspace as :func:`expected_workspaces` has it, one record per
    business key of :data:`UNIQUE`, nothing pending. Used where a reference run of the same
    workload would cost as long again (the 30-minute load)."""
    verdict = Verdict(case, seed, len(workload.events), redelivered=run.redelivered)
    for event in workload.events:
        status = run.inbox.get(event.event_id)
        if status is None:
            verdict.lost.append(f"event {event.event_id} never reached the inbox")
        elif event.valid and status == "poison":
            verdict.lost.append(f"event {event.event_id}: poison, a valid event")
    reference = RunResult({}, {}, 0, 0, 0, True, 0, "ok")  # the inbox part: run-only checks
    _compare_inbox(reference, run, verdict, frozenset())
    for (sobject, key), records in run.state.items():
        if sobject in UNIQUE and len(records) > 1:
            verdict.duplicate_effect.append(f"{(sobject, key)}: {len(records)} records")
    have = {key[0]: records[0] for (sobject, key), records in run.state.items()
            if sobject == "Workspace__c" and records}
    for wid, fields in sorted(expected_workspaces(workload).items()):
        _model_record(wid, fields, have.get(wid), verdict)
    check_links(workload, run, verdict.lost, verdict.stale_overwrite)
    if run.integrity != "ok":
        verdict.stuck.append(f"inbox integrity_check: {run.integrity}")
    return verdict


def _model_record(wid: str, want: dict[str, Any], have: dict[str, Any] | None,
                  verdict: Verdict) -> None:
    """One Workspace against the model: missing or older is lost, another value is stale."""
    if have is None:
        verdict.lost.append(f"Workspace {wid}: missing")
        return
    got = {f: parse_instant(have.get(f)) if f == "Last_Event_Time__c" else have.get(f)
           for f in want}
    diffs = {f: (got[f], v) for f, v in want.items() if got[f] != v}
    if not diffs:
        return
    text = f"Workspace {wid}: " + ", ".join(f"{f}={a!r} (model {b!r})"
                                            for f, (a, b) in diffs.items())
    newest = got["Last_Event_Time__c"]
    if newest is None or newest < want["Last_Event_Time__c"]:
        verdict.lost.append(f"{text} (its newest event never took effect)")
    elif any(a not in EMPTY for a, _ in diffs.values()):
        verdict.stale_overwrite.append(text)
    else:
        verdict.lost.append(text)
