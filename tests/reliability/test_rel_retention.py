"""Issue 10 item 2, "outlasting retention": Salesforce's REST API down (or the daily API
allocation spent) for longer than the Pub/Sub retention window while events keep arriving.

The emulator's retention is shortened to a few seconds. The inbox keeps every event (it
lands them whatever REST does); when REST returns, every event is applied, none lost, and
the final state equals the fault-free run's, although by then the server would no longer
replay the oldest of them. Once the oldest is past retention, and before REST returns, the
daemon is killed (``kill -9``) and restarted: from then on the held events can only come
from the durable inbox file, not from the process's memory or a replay. (The last batch is
published just before the kill, as events keep arriving: the checkpoint the restart
subscribes from is then inside retention, as it would be in production.) No anchor does
this; a subscriber without a durable local inbox would lose them.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from conftest import Reference
from rel_checker import announce
from rel_faults import restart, unstored
from rel_harness import LEAD_TOPIC, TRIAL_TOPIC, Cluster, wait_for
from rel_params import events, seeds
from rel_run import case_run
from rel_workload import PUBLISH_BATCH, Workload

from emulator.pubsub.store import now_ms
from emulator.pubsub.subscribe import StreamSettings

EVENTS = events(1000, soak=10_000)
# Long enough that the restart (wait for landing, the UI edit and its change event, kill -9,
# a new process's login and subscribe) comes well inside it on a loaded 2-core runner: past
# it, the server answers replayid.corrupted for the trial checkpoint and, under the default
# on_invalid_replay=fail, the daemon stops. kill_and_restart measures the margin it used.
RETENTION_S = 6.0
STREAM = StreamSettings(keepalive_s=0.5, idle_timeout_s=30.0, retention_s=RETENTION_S)
ENV = {"LIFECYCLE_SYNC_APPLY_LIMIT_PAUSE_S": "1", "LIFECYCLE_SYNC_APPLY_RETRY_MAX_S": "2"}


def created_ms(cluster: Cluster, event_id: str) -> int | None:
    """When the server stored trial event ``event_id`` (None once it is gone)."""
    store = cluster.emulator.context.bus.store
    seq = next(e.seq for e in store.read_after(TRIAL_TOPIC, 0, 1_000_000)
               if e.event_id == event_id)
    return store.created_ms(TRIAL_TOPIC, seq)


def outside_retention(cluster: Cluster, event_id: str) -> bool:
    """The server would no longer replay ``event_id``: it is older than the retention."""
    created = created_ms(cluster, event_id)
    return created is not None and created < now_ms() - RETENTION_S * 1000


def age_s(cluster: Cluster, event_id: str) -> float:
    """How long ago the server stored ``event_id``, by the emulator's clock (inf if gone)."""
    created = created_ms(cluster, event_id)
    return float("inf") if created is None else (now_ms() - created) / 1000


def go_down(cluster: Cluster, how: str) -> None:
    if how == "rest_down":
        cluster.admin("/faults/org", {"fault": "unavailable"})
    else:  # the org's daily API allocation is spent: 403 REQUEST_LIMIT_EXCEEDED, uncounted
        used = cluster.admin("/org/limits")["api_usage"]
        cluster.admin("/org/settings", {"daily_api_limit": used})


def come_back(cluster: Cluster, how: str) -> None:
    if how == "rest_down":
        cluster.admin("/faults/org/clear", {})
    else:
        cluster.admin("/org/settings", {"daily_api_limit": 100_000})


def edit_a_lead_in_the_ui(cluster: Cluster, workload: Workload) -> None:
    """A Marketo Lead edited in Salesforce's UI, in-process (no API call: neither the outage
    nor the spent allocation stops it). Its change event keeps the Lead topic's checkpoint
    inside retention, as changes that keep arriving would; the daemon is restarted from it.
    The value is the one the workload's own updates end with, so the final state is the
    reference's."""
    final = {workload.marketo_lead_emails[k]: f"Marketo after batch {b}"
             for b in sorted(workload.updates_after_batch)
             for k in workload.updates_after_batch[b]}
    email, company = sorted(final.items())[0]
    org = cluster.emulator.context.org
    assert org is not None
    with org.store.transaction(cluster.info["user_id"]) as tx:
        lead_id = next(i for i, r in org.store.committed("Lead").items() if r["Email"] == email)
        tx.update("Lead", lead_id, {"Company": company})


def lead_rows(cluster: Cluster) -> int:
    return sum(1 for topic, *_ in cluster.inbox_rows() if topic == LEAD_TOPIC)


def trial_rows(cluster: Cluster) -> int:
    return sum(1 for topic, *_ in cluster.inbox_rows() if topic == TRIAL_TOPIC)


def pending_ids(cluster: Cluster) -> set[str]:
    return {eid for _, eid, status, _ in cluster.inbox_rows() if status == "pending"}


class Outage:
    """The steps of one run, after publish batches: REST goes down after the first; before
    the last, the oldest held event falls out of retention; after the last (which keeps the
    checkpoint inside retention, as events that keep arriving do), kill -9 and a restart."""

    def __init__(self, cluster: Cluster, workload: Workload, how: str) -> None:
        self.cluster, self.workload, self.how = cluster, workload, how
        self.last = len(workload.batches) - 1
        assert self.last >= 2, (
            f"{len(workload.events)} events make {len(workload.batches)} publish batches; the "
            f"outage needs at least 3 (REST down after the first, the oldest held event past "
            f"retention before the last): raise RELIABILITY_EVENTS above {2 * PUBLISH_BATCH}")
        self.pending = 0
        self.killed: tuple[set[str], set[str]] = (set(), set())
        self.checkpoint_age_s = 0.0

    def __call__(self, batch: int) -> None:
        if batch == 0:
            go_down(self.cluster, self.how)
        elif batch == self.last - 1:
            self.landed(batch, "the inbox to land every event while REST is down")
            self.outlast_retention()
        elif batch == self.last:
            self.landed(batch, "the last batch to land")
            self.kill_and_restart()

    def landed(self, batch: int, what: str) -> None:
        """Every trial event published so far is in the inbox. Only the trial topic counts:
        the batches are trial events, and Lead rows counted with them would call a batch
        landed before it is, so a kill would find it unstored and it would be redelivered."""
        published = sum(len(b) for b in self.workload.batches[:batch + 1])
        wait_for(lambda: trial_rows(self.cluster) >= published, 60, what)

    def outlast_retention(self) -> None:
        first_held = self.workload.batches[1][0].event_id
        started = time.monotonic()
        wait_for(lambda: outside_retention(self.cluster, first_held), 60,
                 "the oldest held event to fall out of the server's retention")
        self.pending = len(pending_ids(self.cluster))
        threading.Event().wait(max(0.0, RETENTION_S - (time.monotonic() - started)))

    def margin(self, checkpoint: str) -> str:
        return (f"{age_s(self.cluster, checkpoint):.1f} s after the trial checkpoint's "
                f"publish, against a {RETENTION_S} s retention: past it the test's margin is "
                f"too small for this machine (the server no longer knows the checkpoint)")

    def kill_and_restart(self) -> None:
        landed = lead_rows(self.cluster)
        edit_a_lead_in_the_ui(self.cluster, self.workload)
        wait_for(lambda: lead_rows(self.cluster) > landed, 60, "the UI edit's change event")
        wait_for(lambda: not any(unstored(self.cluster).values()), 10,
                 "every event the server sent to be in the inbox before the kill "
                 "(else the restart redelivers it)")
        before = pending_ids(self.cluster)
        checkpoint = self.workload.batches[self.last][-1].event_id
        self.cluster.kill9()  # from here the held events exist only in the inbox file
        try:
            restart(self.cluster, **ENV)
        except (AssertionError, TimeoutError) as exc:  # e.g. replayid.corrupted: say the margin
            raise AssertionError(f"{self.margin(checkpoint)}; the restart failed: {exc}") from exc
        self.checkpoint_age_s = age_s(self.cluster, checkpoint)
        assert self.checkpoint_age_s < RETENTION_S, self.margin(checkpoint)
        self.killed = (before, pending_ids(self.cluster))
        assert before, "the kill must find events held"
        assert self.killed[1] == before, "kill -9 and the restart lost held events"


@pytest.mark.parametrize("how", ["rest_down", "allocation"])
@pytest.mark.parametrize("seed", seeds(1, soak=2))
def test_events_outlast_retention_in_the_inbox_and_are_all_applied(
        seed: int, how: str, reference: Reference, tmp_path: Path) -> None:
    announce(f"retention-{how}", seed, EVENTS)
    golden = reference(seed, EVENTS)
    with case_run(tmp_path, seed, EVENTS, stream=STREAM) as run:
        restart(run.cluster, **ENV)
        outage = Outage(run.cluster, run.workload, how)
        run.cluster.publish(run.workload, after_batch=outage, leads=False)
        come_back(run.cluster, how)
        run.cluster.update_deferred_leads(run.workload)
        verdict = run.finish(golden, f"retention-{how}")
    before, after = outage.killed
    print(f"retention ({how}) seed={seed}: {outage.pending} events held in the inbox past the "
          f"{RETENTION_S} s retention; {len(before)} pending at kill -9, {len(after)} after "
          f"the restart (READY {outage.checkpoint_age_s:.1f} s after the trial checkpoint's "
          f"publish), then applied")
    assert outage.pending >= len(run.workload.events) // 2
    verdict.assert_clean(max_redelivered=0)
