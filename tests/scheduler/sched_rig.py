"""Test rig for the scheduled jobs: an emulator reached over HTTPS through the product's own
clients, an admin client (its own ``client=``) to set up records, API calls counted with the
emulator's counters, and a controllable clock."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import signal
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from simple_salesforce.api import Salesforce

from emulator.server import Emulator
from handlers.cycle import CycleResult, run_cycle
from handlers.gateway import SalesforceGateway
from handlers.sf_client import ClientSettings, SalesforceClient
from scheduler.sf_ops import JobsSalesforce
from subscriber.auth import Session, SessionProvider, StaticToken
from subscriber.events import EntryKind, EntryStatus, InboxEntry

PE_TOPIC = "/event/SelfServeTrialEvent__e"
T0_MS = 1_790_000_000_000
_ids = itertools.count(1)


class FakeClock:
    """``now()`` returns what the test set; ``advance``/``set`` move it (jumps included)."""

    def __init__(self, start: dt.datetime) -> None:
        self.at = start

    def __call__(self) -> dt.datetime:
        return self.at

    def advance(self, **delta: float) -> dt.datetime:
        self.at += dt.timedelta(**delta)
        return self.at

    def set(self, at: dt.datetime) -> None:
        self.at = at


def admin_client(info: dict[str, Any], client_name: str = "test-admin") -> Salesforce:
    session = requests.Session()
    session.trust_env = False
    session.verify = info["ca_cert"]
    session.headers["Sforce-Call-Options"] = f"client={client_name}"
    return Salesforce(instance_url=info["instance_url"], session_id=info["access_token"],
                      session=session)


def entry(kind: str, workspace_id: str, data: dict[str, Any], at_ms: int,
          email: str | None = "owner@acme.co.uk", uuid: str | None = None) -> InboxEntry:
    n = next(_ids)
    payload = {"Event_Type__c": kind, "Workspace_ID__c": workspace_id, "Email__c": email,
               "Event_Data__c": json.dumps(data), "Event_Timestamp__c": at_ms}
    return InboxEntry(n, PE_TOPIC, EntryKind.EVENT, EntryStatus.PENDING, n.to_bytes(4, "big"),
                      uuid or f"uuid-{n}", "schema", f"uuid:{uuid or n}",
                      dt.datetime.now(dt.UTC), payload)


class OrgRig:
    def __init__(self, emulator: Emulator, work: Path) -> None:
        self.emulator = emulator
        self.work = work
        self.info_file = work / "info.json"
        emulator.write_info(self.info_file)
        self.info = json.loads(self.info_file.read_text())
        self.sessions = SessionProvider(StaticToken(Session(
            self.info["access_token"], self.info["instance_url"], self.info["tenant_id"])))
        self.admin = admin_client(self.info)
        self._clients: list[SalesforceClient] = []
        self.sf = JobsSalesforce(self.client())
        self.gateway = SalesforceGateway(self.client())

    def client(self) -> SalesforceClient:
        c = SalesforceClient(self.sessions, ClientSettings(ca_file=Path(self.info["ca_cert"]),
                                                           backoff_max_s=0.05))
        self._clients.append(c)
        return c

    def close(self) -> None:
        for c in self._clients:
            c.close()

    @property
    def org(self) -> Any:
        org = self.emulator.context.org
        assert org is not None
        return org

    def calls(self) -> int:
        return int(self.org.counters.snapshot()["total"])

    def apply(self, *entries: InboxEntry) -> CycleResult:
        return run_cycle(list(entries), self.gateway, "lifecycle-sync")

    def query(self, soql: str) -> list[dict[str, Any]]:
        return [{k: v for k, v in r.items() if k != "attributes"}
                for r in self.admin.query_all(soql)["records"]]

    def cache_rows(self) -> dict[str, dict[str, Any]]:
        rows = self.query("SELECT Event_Uuid__c, Event_Type__c, Workspace_ID__c, Event_Data__c, "
                          "Processing_Status__c, Retry_Count__c, Next_Attempt_At__c, "
                          "Needs_Review__c, Review_Reason__c, Processing_Notes__c, Replay_Id__c "
                          "FROM Event_Cache__c")
        return {r["Event_Uuid__c"]: r for r in rows}

    def create(self, sobject: str, **fields: Any) -> str:
        result = getattr(self.admin, sobject).create(fields)
        return str(result["id"])

    def user(self, last_name: str) -> str:
        return self.create("User", Username=f"{last_name.lower()}@reps.example.com",
                           LastName=last_name, Email=f"{last_name.lower()}@reps.example.com")


Answers = list[dict[str, Any]]


def kill_after_commit(monkeypatch: Any, argv: list[str], env: dict[str, str], log_file: Path,
                      committed_by: Callable[[Answers], bool],
                      while_held: Callable[[], None] = lambda: None) -> None:
    """Run ``argv`` as a process and SIGKILL it once the emulator has committed a Composite
    whose answers ``committed_by`` recognises, before the answer is sent: the moment between
    Salesforce's commit and the job seeing (and recording) it. ``while_held`` runs then."""
    from emulator.org import rest

    committed, release = threading.Event(), threading.Event()
    real = rest.respond

    def respond(reply: Any, limit_info: str | None) -> Any:
        body = reply.body if isinstance(reply.body, dict) else {}
        answers = body.get("compositeResponse")
        if answers and committed_by(answers) and not committed.is_set():
            committed.set()  # the transaction is committed
            release.wait(60)  # hold the answer until the process has been killed
        return real(reply, limit_info)

    monkeypatch.setattr(rest, "respond", respond)
    with log_file.open("wb") as log:
        job = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        assert committed.wait(60), log_file.read_text()
        while_held()
        job.send_signal(signal.SIGKILL)
        assert job.wait(30) == -signal.SIGKILL
    finally:
        release.set()
        if job.poll() is None:
            job.kill()
            job.wait(30)
