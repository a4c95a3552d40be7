"""The gateway and the apply loop against the emulator over HTTPS: call budgets counted with
the emulator's counters, retries, record-level failures, the API limit and session refresh."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest
import requests
from entry_builders import CHURN, CONVERSION, TRIAL, lifecycle_entry
from sf_admin import salesforce_of

from emulator.server import Emulator
from handlers.cycle import run_cycle
from handlers.gateway import ConvertedStatus, SalesforceGateway
from handlers.lookup import LookupRequest
from handlers.sf_client import ClientSettings, SalesforceClient
from service.apply_loop import PAUSED_KEY, ApplyLoop, ApplySettings
from subscriber.auth import Session, SessionProvider, StaticToken
from subscriber.events import DecodedEvent, EntryKind, EntryStatus
from subscriber.inbox import Inbox

T0 = 1_790_000_000_000
CLIENT = "lifecycle-sync"


class AdminTokens:
    """A token source that asks the emulator for a brand-new session each time."""

    def __init__(self, info: dict) -> None:
        self.info = info
        self.fetched = 0

    def fetch(self) -> Session:
        self.fetched += 1
        token = requests.post(f"{self.info['admin_url']}/tokens", json={}, timeout=30).json()
        return Session(token["access_token"], self.info["instance_url"], self.info["tenant_id"])


@pytest.fixture
def org(emulator: Emulator):
    org = emulator.context.org
    assert org is not None
    yield org
    org.faults.clear()


@pytest.fixture
def gateway(emulator: Emulator) -> SalesforceGateway:
    info = emulator.info()
    sessions = SessionProvider(StaticToken(Session(info["access_token"], info["instance_url"],
                                                   info["tenant_id"])))
    return SalesforceGateway(SalesforceClient(sessions, ClientSettings(
        ca_file=Path(info["ca_cert"]), backoff_max_s=0.05)))


def _calls(org) -> int:
    return int(org.counters.snapshot()["total"])


def test_a_cycle_of_200_mixed_events_spends_at_most_6_calls(gateway, org, emulator):
    tag = "mix200"
    sf = salesforce_of(gateway)
    for i in range(5):
        sf.restful("sobjects/Account/", method="POST",
                   json={"Name": f"Acct {i}", "Email_Domain__c": f"{tag}-{i}.co.uk"})
    existing = [lifecycle_entry("Trial", f"{tag}-old-{i}", TRIAL, T0,
                                email=f"o{i}@{tag}-{i % 7}.co.uk") for i in range(60)]
    assert not run_cycle(existing, gateway, CLIENT).retry
    entries = [lifecycle_entry("Trial", f"{tag}-new-{i}", TRIAL, T0 + 5,
                               email=f"n{i}@{tag}-{i % 9}.co.uk") for i in range(80)]
    entries += [lifecycle_entry("Conversion", f"{tag}-old-{i}", CONVERSION, T0 + 10)
                for i in range(40)]
    entries += [lifecycle_entry("Churn", f"{tag}-old-{i}", CHURN, T0 + 20) for i in range(40, 55)]
    entries += [lifecycle_entry("Churn", f"{tag}-gone-{i}", CHURN, T0 + 20) for i in range(15)]
    entries += [lifecycle_entry("Conversion", f"{tag}-paid-{i}", CONVERSION, T0 + 20)
                for i in range(15)]
    entries += [lifecycle_entry("Trial", f"{tag}-old-{i}", TRIAL, T0 - 100) for i in range(15)]
    entries += [lifecycle_entry("Trial", f"{tag}-bad-{i}", "{", T0) for i in range(10)]
    entries += [lifecycle_entry("Trial", f"{tag}-new-{i}", TRIAL, T0 + 5,
                                email=f"n{i}@{tag}-{i % 9}.co.uk",
                                uuid=entries[i].event_id) for i in range(10)]  # duplicates
    assert len(entries) == 200
    before = _calls(org)
    result = run_cycle(entries, gateway, CLIENT)
    spent = _calls(org) - before
    print(f"200 mixed events: {spent} API calls")  # shown with -s; the bound is asserted
    assert spent <= 6, org.counters.snapshot()
    assert not result.retry
    assert len(result.applied) + len(result.parked) == 200
    assert len(result.parked) == 40  # 10 invalid + 15 churns + 15 conversions (unknown)


def test_a_single_new_trial_spends_at_most_4_calls(gateway, org):
    """Lookup, Lead creation, the new Lead's owner (its assignment rule's), the upserts."""
    before = _calls(org)
    result = run_cycle([lifecycle_entry("Trial", "single-1", TRIAL, T0,
                                        email="solo@single-gw.co.uk")], gateway, CLIENT)
    assert result.applied
    assert _calls(org) - before <= 4


def test_server_errors_are_retried_with_backoff(gateway, org):
    org.faults.arm_preset("server_error", kind="composite", times=2)
    before = _calls(org)
    result = run_cycle([lifecycle_entry("Trial", "retry-5xx", TRIAL, T0,
                                        email="five@retry-gw.co.uk")], gateway, CLIENT)
    assert result.applied
    assert _calls(org) - before == 4 + 2  # two refused, then the same four calls


def test_locked_record_is_retried_next_cycle_and_others_go_through(gateway, org):
    org.faults.arm_preset("unable_to_lock_row", kind="insert", object="Workspace__c", times=1)
    first = lifecycle_entry("Trial", "lock-a", TRIAL, T0, email="a@lock-gw.co.uk")
    second = lifecycle_entry("Trial", "lock-b", TRIAL, T0, email="b@lock-gw.co.uk")
    result = run_cycle([first, second], gateway, CLIENT)
    assert len(result.retry) == 1
    assert "UNABLE_TO_LOCK_ROW" in next(iter(result.retry.values()))
    assert len(result.applied) == 1
    again = [e for e in (first, second) if e.id in result.retry]
    assert run_cycle(again, gateway, CLIENT).applied == [again[0].id]


def test_invalid_session_refreshes_the_shared_session_once(emulator_factory):
    info = emulator_factory().info()  # its own emulator: every session of it gets expired
    tokens = AdminTokens(info)
    sessions = SessionProvider(tokens)
    gateway = SalesforceGateway(SalesforceClient(sessions, ClientSettings(
        ca_file=Path(info["ca_cert"]))))
    assert run_cycle([lifecycle_entry("Trial", "sess-1", TRIAL, T0, email="s@sess-gw.co.uk")],
                     gateway, CLIENT).applied
    requests.post(f"{info['admin_url']}/faults/tokens/expire", json={}, timeout=30)
    result = run_cycle([lifecycle_entry("Trial", "sess-2", TRIAL, T0, email="t@sess-gw.co.uk")],
                       gateway, CLIENT)
    assert result.applied
    assert sessions.refresh_count == 1
    assert tokens.fetched == 2


def _inbox_with(tmp_path: Path, *entries) -> Inbox:
    inbox = Inbox(tmp_path / "inbox.db")
    events = [DecodedEvent(e.topic, e.replay_id, e.event_id, "schema", EntryKind.EVENT,
                           e.payload or {}) for e in entries]
    inbox.store_batch(entries[0].topic, events, b"\x01")
    return inbox


def test_request_limit_pauses_applying_with_one_warning_then_resumes(
        gateway, org, tmp_path, caplog):
    inbox = _inbox_with(tmp_path, lifecycle_entry("Trial", "limit-1", TRIAL, T0,
                                                  email="l@limit-gw.co.uk"))
    loop = ApplyLoop(inbox, [gateway], ApplySettings(limit_pause_s=0.01))
    org.faults.arm_preset("request_limit")
    with caplog.at_level(logging.WARNING, logger="lifecycle_sync.apply"):
        assert loop.run_once() is False
        assert loop.run_once() is False
        assert inbox.meta(PAUSED_KEY) == "1"
        org.faults.clear()
        assert loop.run_once() is True
    warnings = [r.getMessage() for r in caplog.records]
    assert sum("applying paused" in w for w in warnings) == 1
    assert sum("applying resumed" in w for w in warnings) == 1
    assert inbox.counts_by_topic()["/event/SelfServeTrialEvent__e"].applied == 1


def test_apply_loop_wakes_on_new_entries_without_polling(gateway, tmp_path):
    inbox = _inbox_with(tmp_path, lifecycle_entry("Trial", "wake-1", TRIAL, T0,
                                                  email="w@wake-gw.co.uk"))
    loop = ApplyLoop(inbox, [gateway], ApplySettings(stop_check_s=30.0))
    stop = threading.Event()
    thread = threading.Thread(target=loop.run, args=(stop,), daemon=True)
    thread.start()
    try:
        _wait(lambda: loop.cycles == 1)
        extra = lifecycle_entry("Trial", "wake-2", TRIAL, T0, email="x@wake-gw.co.uk")
        inbox.store_batch(extra.topic, [DecodedEvent(extra.topic, extra.replay_id + b"x",
                                                     extra.event_id, "s", EntryKind.EVENT,
                                                     extra.payload or {})], b"\x02")
        loop.wake()  # what the intake's hook does after a commit
        _wait(lambda: loop.cycles == 2, timeout_s=10)  # far less than stop_check_s
        assert not inbox.entries(EntryStatus.PENDING)
    finally:
        stop.set()
        loop.wake()
        thread.join(35)


def _wait(predicate, timeout_s: float = 30.0) -> None:
    import time

    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)  # polling a condition with a deadline


def test_an_opportunity_only_when_configured(emulator, org):
    from handlers.gateway import GatewaySettings

    info = emulator.info()
    sessions = SessionProvider(StaticToken(Session(info["access_token"], info["instance_url"],
                                                   info["tenant_id"])))
    client = SalesforceClient(sessions, ClientSettings(ca_file=Path(info["ca_cert"])))
    gateway = SalesforceGateway(client, GatewaySettings(create_opportunity=True))
    run_cycle([lifecycle_entry("Trial", "opp-1", TRIAL, T0, email="o@opp-gw.co.uk"),
               lifecycle_entry("Conversion", "opp-1", CONVERSION, T0 + 1)], gateway, CLIENT)
    [ws] = salesforce_of(client).query(
        "SELECT Opportunity__c, Lead__r.ConvertedOpportunityId FROM Workspace__c "
        "WHERE Workspace_ID__c = 'opp-1'")["records"]
    assert ws["Opportunity__c"] is not None
    assert ws["Opportunity__c"] == ws["Lead__r"]["ConvertedOpportunityId"]


def test_the_converted_status_is_read_once_for_all_workers(emulator: Emulator):
    """One ConvertedStatus shared by the daemon's gateways (service.wiring): the second
    worker's lookup sends no LeadStatus query."""
    info = emulator.info()
    sessions = SessionProvider(StaticToken(Session(info["access_token"], info["instance_url"],
                                                   info["tenant_id"])))
    shared = ConvertedStatus()
    first, second = (SalesforceGateway(SalesforceClient(sessions, ClientSettings(
        ca_file=Path(info["ca_cert"]))), converted_status=shared) for _ in range(2))
    sent: list[str] = []
    for gw in (first, second):
        real = gw._client.rest

        def spy(*args, _real=real, **kwargs):
            sent.append(repr(args))
            return _real(*args, **kwargs)

        gw._client.rest = spy  # type: ignore[method-assign]
    request = LookupRequest(workspace_ids=("status-once",), conversions=True)
    assert first.lookup(request).converted_status
    assert second.lookup(request).converted_status == shared.label
    assert sum("LeadStatus" in body for body in sent) == 1
