"""An event whose request Salesforce refuses (a value-dependent 4xx) is isolated by halving
its batch and marked poison with the reason; every other event is applied. A refusal that is
not about a value holds applying back instead (nothing is poisoned)."""

from __future__ import annotations

from entry_builders import TRIAL, lifecycle_entry
from fake_org import FakeOrg
from helpers.inbox_places import BOTH_BACKENDS, InboxPlace

from handlers.errors import CallRejected
from service.apply_loop import ApplyLoop, ApplySettings
from subscriber.events import DecodedEvent, EntryKind, EntryStatus
from subscriber.inbox_api import InboxStore

pytestmark = BOTH_BACKENDS
T0 = 1_790_000_000_000


class PickyOrg(FakeOrg):
    def __init__(self, code: str) -> None:
        super().__init__()
        self.code = code

    def lookup(self, request):
        if any(w.startswith("bad") for w in request.workspace_ids):
            self.calls += 1
            raise CallRejected(f"HTTP 400 {self.code}: refused", self.code)
        return super().lookup(request)


def _inbox(place: InboxPlace, entries) -> InboxStore:
    inbox = place.open()
    inbox.store_batch(entries[0].topic, [
        DecodedEvent(e.topic, e.replay_id, e.event_id, "s", EntryKind.EVENT, e.payload or {})
        for e in entries], b"\x01")
    return inbox


def _drain(loop: ApplyLoop, inbox: InboxStore, rounds: int = 50) -> None:
    for _ in range(rounds):
        if not inbox.pending(500) and not loop._splits:
            return
        loop.run_once()


def test_a_refused_event_is_isolated_and_the_rest_applied(inbox_place):
    entries = [lifecycle_entry("Trial", f"ok-{i}", TRIAL, T0, email=f"{i}@iso.co.uk")
               for i in range(15)]
    entries.insert(7, lifecycle_entry("Trial", "bad-1", TRIAL, T0, email="b@iso.co.uk"))
    inbox = _inbox(inbox_place, entries)
    org = PickyOrg("MALFORMED_QUERY")
    loop = ApplyLoop(inbox, [org], ApplySettings())
    _drain(loop, inbox)
    [poison] = inbox.entries(EntryStatus.POISON)
    assert poison.payload["Workspace_ID__c"] == "bad-1"
    assert "MALFORMED_QUERY" in poison.error
    assert len(inbox.entries(EntryStatus.APPLIED, limit=100)) == 15
    assert org.calls <= 3 * 5 + 8  # halving costs a few lookups, not one call per event


def test_a_refusal_not_about_a_value_holds_back_and_poisons_nothing(inbox_place):
    entries = [lifecycle_entry("Trial", "bad-2", TRIAL, T0, email="c@iso.co.uk")]
    inbox = _inbox(inbox_place, entries)
    loop = ApplyLoop(inbox, [PickyOrg("INSUFFICIENT_ACCESS")], ApplySettings())
    assert loop.run_once() is False
    assert inbox.entries(EntryStatus.POISON) == []
    assert len(inbox.pending()) == 1


def test_an_empty_error_code_holds_back_and_poisons_nothing(inbox_place):
    """'composite answered without a body' or a query error that is no list carry no code:
    not about a value, so applying is held back (reported once) instead of poisoning."""
    entries = [lifecycle_entry("Trial", "bad-3", TRIAL, T0, email="d@iso.co.uk")]
    inbox = _inbox(inbox_place, entries)
    loop = ApplyLoop(inbox, [PickyOrg("")], ApplySettings())
    assert loop.run_once() is False
    assert inbox.entries(EntryStatus.POISON) == []
    assert len(inbox.pending()) == 1


def test_the_poison_note_carries_no_email_address(inbox_place):
    class QuotingOrg(PickyOrg):
        def lookup(self, request):
            if any(w.startswith("bad") for w in request.workspace_ids):
                raise CallRejected("HTTP 400 MALFORMED_QUERY: near 'e@iso.co.uk'",
                                   "MALFORMED_QUERY")
            return FakeOrg.lookup(self, request)

    entries = [lifecycle_entry("Trial", "bad-4", TRIAL, T0, email="e@iso.co.uk")]
    inbox = _inbox(inbox_place, entries)
    loop = ApplyLoop(inbox, [QuotingOrg("MALFORMED_QUERY")], ApplySettings())
    _drain(loop, inbox)
    [poison] = inbox.entries(EntryStatus.POISON)
    assert "MALFORMED_QUERY" in poison.error
    assert "e@iso.co.uk" not in poison.error


def test_deferred_claims_nothing_until_the_time_then_applies(inbox_place):
    """The intake draining a backlog defers new cycles (service.catch_up), never past ``until``."""
    now = [50.0]
    inbox = _inbox(inbox_place, [lifecycle_entry("Trial", "ok-d", TRIAL, T0, email="f@iso.co.uk")])
    loop = ApplyLoop(inbox, [FakeOrg()], ApplySettings(), clock=lambda: now[0])
    loop.defer(51.0)
    loop.defer(50.5)  # an earlier time never shortens a hold
    assert loop._claim(ignore_hold=False) is None
    assert loop.waiting_by_design()  # held on purpose: the health does not call it stuck
    now[0] = 51.0
    batch = loop._claim(ignore_hold=False)
    assert batch is not None
    assert [e.payload["Workspace_ID__c"] for e in batch.entries] == ["ok-d"]
