"""The reliability rig: an emulator, the daemon as a real subprocess, and a seeded workload.

API (every case in ``tests/reliability`` uses only this and :mod:`rel_checker`):

* ``Cluster.start(work, stream=None, **emulator_settings)``: an in-process emulator on free
  ports (its admin API is used for every fault), a REST client (``client=reliability-test``,
  so the daemon treats its Lead writes as someone else's) and an empty daemon list.
* ``cluster.start_daemon(**env)``: ``lifecycle-sync run --emulator-info … --state …`` with the
  scrubbed environment (:func:`benchmarks.rig.child_env`), fast reconnects (:data:`FAST`), a
  real ``NOTIFY_SOCKET`` datagram socket, and ``env`` on top (``LIFECYCLE_SYNC_*`` overrides).
  ``cluster.daemon`` is the newest; ``kill9()``, ``sigterm(timeout_s)`` stop it.
* ``cluster.prepare(workload)`` seeds Accounts and the owner/Marketo Leads (before any event);
  ``cluster.publish(workload, after_batch=hook)`` publishes the platform events in batches,
  updating Marketo Leads between batches as the workload says; ``hook(i)`` runs after batch i
  (where a case injects a fault or kills the daemon).
* ``cluster.admin(path, body=None)``: GET, or POST with a JSON body, on the admin API
  (``/faults/org``, ``/faults/pubsub/abort``, ``/faults/clear``, ``/pubsub/deliveries``…).
* ``cluster.wait_idle(workload, timeout_s)``: "run until idle": every published event is in
  the inbox and none is pending, every topic's checkpoint is at the emulator's newest replay
  ID, and the org saw no API call across two polls. Never a sleep as synchronisation:
  :func:`wait_for` polls a condition with a deadline.
* ``cluster.stop()``: kills what is left, stops the emulator (also on failure: use
  :func:`running_cluster`).
"""

from __future__ import annotations

import contextlib
import json
import signal
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import requests
from helpers.children import module_argv
from rel_publish import EventPublisher
from rel_workload import Workload
from simple_salesforce.api import Salesforce

from benchmarks.rig import Daemon, NotifySocket, poll, query_inbox
from emulator.pubsub.subscribe import StreamSettings
from emulator.server import Emulator, EmulatorSettings
from service.config import inbox_path

T = TypeVar("T")
TRIAL_TOPIC = "/event/SelfServeTrialEvent__e"
LEAD_TOPIC = "/data/LeadChangeEvent"
TOPICS = (TRIAL_TOPIC, LEAD_TOPIC)
CLIENT = "reliability-test"
FAST = {  # quick reconnects, a short silence budget and a retry job that runs often
    "LIFECYCLE_SYNC_PUBSUB_KEEPALIVE_S": "5",
    "LIFECYCLE_SYNC_PUBSUB_BACKOFF_INITIAL_S": "0.05",
    "LIFECYCLE_SYNC_PUBSUB_BACKOFF_MAX_S": "0.5",
    "LIFECYCLE_SYNC_SCHEDULER_RETRY_INTERVAL_MIN": "0.02",
    "LIFECYCLE_SYNC_SCHEDULER_RETRY_BACKOFF_INITIAL_MIN": "0.1",
    "LIFECYCLE_SYNC_APPLY_LIMIT_PAUSE_S": "1",
}
DEFAULT_STREAM = StreamSettings(keepalive_s=0.5, idle_timeout_s=30.0)


def wait_for(predicate: Callable[[], T], timeout_s: float, what: str,
             interval_s: float = 0.05) -> T:
    """The first truthy ``predicate()``; TimeoutError naming ``what`` after ``timeout_s``."""
    found: T = poll(predicate, timeout_s, what, interval_s)
    return found


@dataclass
class Cluster:
    """One emulator, its REST client, and the daemons started on one state directory."""

    work: Path
    emulator: Emulator
    info_file: Path
    info: dict[str, Any]
    sf: Salesforce
    sock_dir: Path
    daemons: list[Daemon] = field(default_factory=list)
    notifies: list[NotifySocket] = field(default_factory=list)
    _publisher: EventPublisher | None = None
    _published: set[int] = field(default_factory=set)  # batch numbers, each published once
    _deferred_leads: list[int] = field(default_factory=list)

    @classmethod
    def start(cls, work: Path, stream: StreamSettings | None = None, **settings: Any) -> Cluster:
        work.mkdir(parents=True, exist_ok=True)
        emulator = Emulator(EmulatorSettings(state_dir=work / "emulator",
                                             stream=stream or DEFAULT_STREAM, **settings)).start()
        info_file = work / "info.json"
        emulator.write_info(info_file)
        info = json.loads(info_file.read_text())
        sock_dir = Path(tempfile.mkdtemp(prefix="rel-"))  # AF_UNIX paths must stay short
        return cls(work, emulator, info_file, info, _salesforce(info), sock_dir)

    @property
    def state(self) -> Path:
        return self.work / "state"

    @property
    def daemon(self) -> Daemon:
        return self.daemons[-1]

    @property
    def notify(self) -> NotifySocket:
        return self.notifies[-1]

    def publisher(self) -> EventPublisher:
        if self._publisher is None:
            self._publisher = EventPublisher(self.info, TRIAL_TOPIC)
        return self._publisher

    # -- the daemon -----------------------------------------------------------------------

    def start_daemon(self, **env: str) -> Daemon:
        """One more daemon on the shared state, with its own notify socket."""
        n = len(self.daemons)
        notify = NotifySocket(self.sock_dir / f"n{n}")
        daemon = Daemon(self.info_file, self.state, self.work / f"daemon-{n}.log",
                        env={**FAST, "NOTIFY_SOCKET": str(notify.path), **env}, auth="jwt")
        daemon.args[:3] = module_argv("service")
        self.notifies.append(notify)
        self.daemons.append(daemon.start())
        return daemon

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        wait_for(lambda: self.notify.seen("READY=1") or self._exited(), timeout_s, "READY=1")
        assert not self._exited(), \
            f"the daemon exited before READY=1:\n{self.daemon.log_text()[-3000:]}"

    def _exited(self) -> bool:
        return self.daemon.proc is not None and self.daemon.proc.poll() is not None

    def kill9(self) -> None:
        self.daemon.kill()

    def sigterm(self, timeout_s: float = 30.0) -> int:
        self.daemon.signal(signal.SIGTERM)
        return self.daemon.wait(timeout_s)

    def logs(self) -> str:
        return "\n".join(d.log_text() for d in self.daemons if d.log_file.exists())

    # -- the workload ---------------------------------------------------------------------

    def prepare(self, workload: Workload) -> None:
        """Accounts and the Leads that exist before any platform event (one call per 200)."""
        self._create("Account", [{"Name": d.split(".")[0].title(), "Email_Domain__c": d}
                                 for d in workload.account_domains])
        self._create("Lead", [_lead(email, "Owner") for email in workload.owner_lead_emails]
                     + [_lead(email, "Marketo") for email in workload.marketo_lead_emails])

    def publish(self, workload: Workload, after_batch: Callable[[int], None] | None = None,
                start_batch: int = 0, leads: bool = True) -> None:
        """Publish the events from ``start_batch`` on (each batch once), with the workload's
        Lead updates; ``leads=False`` defers those (REST refused) until
        :meth:`update_deferred_leads`."""
        for i, batch in enumerate(workload.batches):
            if i < start_batch or i in self._published:
                continue
            self._published.add(i)
            self.publisher().publish_events(batch)
            if leads:
                self._update_marketo(workload, i)
            else:
                self._deferred_leads.append(i)
            if after_batch is not None:
                after_batch(i)

    def update_deferred_leads(self, workload: Workload) -> None:
        while self._deferred_leads:
            self._update_marketo(workload, self._deferred_leads.pop(0))

    def _update_marketo(self, workload: Workload, batch: int) -> None:
        picked = workload.updates_after_batch.get(batch, [])
        emails = [workload.marketo_lead_emails[k] for k in picked]
        if not emails:
            return
        ids = {r["Email"]: r["Id"] for r in self.query_all(
            "SELECT Id, Email FROM Lead WHERE Email LIKE 'mkto%'")}
        self._collections("PATCH", [{"attributes": {"type": "Lead"}, "id": ids[e],
                                     "Company": f"Marketo after batch {batch}"} for e in emails])

    def _create(self, sobject: str, values: list[dict[str, Any]]) -> None:
        self._collections("POST", [{"attributes": {"type": sobject}, **v} for v in values])

    def _collections(self, method: str, records: list[dict[str, Any]]) -> None:
        for start in range(0, len(records), 200):
            results: list[dict[str, Any]] = self.sf.restful(
                "composite/sobjects", method=method,
                json={"allOrNone": True, "records": records[start:start + 200]}) or []
            assert all(r["success"] for r in results), results[:3]

    def query_all(self, soql: str) -> list[dict[str, Any]]:
        return list(self.sf.query_all(soql)["records"])

    # -- the admin API --------------------------------------------------------------------

    def admin(self, path: str, body: dict[str, Any] | None = None) -> Any:
        url = self.info["admin_url"] + path
        response = (requests.get(url, timeout=30) if body is None
                    else requests.post(url, json=body, timeout=30))
        response.raise_for_status()
        return response.json()

    def redelivered(self) -> int:
        return int(self.admin("/pubsub/deliveries")["redelivered"])

    # -- run until idle -------------------------------------------------------------------

    def inbox_rows(self) -> list[tuple[str, str, str, str]]:
        """(topic, event_id, status, error) of every inbox entry, in arrival order."""
        return query_inbox(inbox_path(self.state),
                           "SELECT topic, event_id, status, error FROM entries ORDER BY id")

    def checkpoints(self) -> dict[str, bytes]:
        rows = query_inbox(inbox_path(self.state), "SELECT topic, replay_id FROM checkpoints")
        return {t: bytes(r) for t, r in rows}

    def newest_replay_ids(self) -> dict[str, bytes]:
        store = self.emulator.context.bus.store
        return {t: store.replay_id(t, store.max_seq(t)) for t in TOPICS if store.max_seq(t)}

    def idle_now(self, workload: Workload) -> bool:
        """Everything published landed, nothing pending, checkpoints at the newest event."""
        rows = self.inbox_rows()
        if any(status == "pending" for _, _, status, _ in rows):
            return False
        landed = {eid for topic, eid, _, _ in rows if topic == TRIAL_TOPIC}
        if not landed.issuperset(workload.event_ids):
            return False
        return self.checkpoints() == self.newest_replay_ids()

    def wait_idle(self, workload: Workload, timeout_s: float = 120.0) -> None:
        """Idle twice in a row with no org API call in between (the emulator is quiescent)."""
        last: list[int] = [-1]

        def quiescent() -> bool:
            if not self.idle_now(workload):
                last[0] = -1
                return False
            calls = int(self.emulator.context.org.counters.snapshot()["total"])  # type: ignore[union-attr]
            settled, last[0] = calls == last[0], calls
            return settled

        wait_for(quiescent, timeout_s, "the daemon to go idle", interval_s=0.25)

    def stop(self) -> None:
        for daemon in self.daemons:
            daemon.stop_quietly()
        for notify in self.notifies:
            notify.close()
        if self._publisher is not None:
            self._publisher.close()
        with contextlib.suppress(Exception):
            self.admin("/faults/clear", {})  # releases stalled requests so threads can end
        self.emulator.stop()
        with contextlib.suppress(OSError):
            self.sock_dir.rmdir()


@contextlib.contextmanager
def running_cluster(work: Path, stream: StreamSettings | None = None, **settings: Any
                    ) -> Iterator[Cluster]:
    cluster = Cluster.start(work, stream, **settings)
    try:
        yield cluster
    finally:
        cluster.stop()


def _lead(email: str, company: str) -> dict[str, Any]:
    return {"LastName": email.split("@")[0], "Company": company, "Email": email,
            "LeadSource": "Web"}


def _salesforce(info: dict[str, Any]) -> Salesforce:
    session = requests.Session()
    session.trust_env = False
    session.verify = info["ca_cert"]
    session.headers["Sforce-Call-Options"] = f"client={CLIENT}"
    return Salesforce(instance_url=info["instance_url"], session_id=info["access_token"],
                      session=session)
