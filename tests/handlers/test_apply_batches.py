"""Which entries a cycle claims: never a Workspace or an email already in flight; Lead
changes alone, once nothing else runs."""

from __future__ import annotations

from entry_builders import TRIAL, change_entry, lifecycle_entry

from service.apply_batches import claim_keys, next_batch

T0 = 1_790_000_000_000


def test_claims_workspace_and_email_case_insensitively():
    entry = lifecycle_entry("Trial", " WS-1 ", TRIAL, T0, email="A@B.com ")
    assert claim_keys(entry) == ("ws:ws-1", "email:a@b.com")
    assert claim_keys(change_entry("CREATE", ("00Q1",), {})) is None


def test_busy_workspaces_and_emails_wait_for_a_later_cycle():
    a = lifecycle_entry("Trial", "ws-a", TRIAL, T0, email="a@x.com")
    b = lifecycle_entry("Trial", "ws-b", TRIAL, T0, email="shared@x.com")
    c = lifecycle_entry("Trial", "ws-c", TRIAL, T0, email="c@x.com")
    a2 = lifecycle_entry("Conversion", "WS-A", TRIAL, T0 + 1, email=None)
    batch = next_batch([a, b, c, a2], {"ws:ws-c", "email:shared@x.com"}, running=1, size=200)
    assert batch is not None
    assert [e.id for e in batch.entries] == [a.id, a2.id]
    assert batch.keys == {"ws:ws-a", "email:a@x.com"}
    assert not batch.exclusive


def test_lead_changes_run_alone_when_their_turn_comes():
    change = change_entry("CREATE", ("00Q1",), {"Email": "a@x.com"})
    trial = lifecycle_entry("Trial", "ws-a", TRIAL, T0)
    assert next_batch([change, trial], set(), running=1, size=200) is None
    batch = next_batch([change, trial], set(), running=0, size=200)
    assert batch is not None
    assert batch.exclusive
    assert [e.id for e in batch.entries] == [change.id]
    later = next_batch([trial, change], set(), running=0, size=200)
    assert later is not None
    assert [e.id for e in later.entries] == [trial.id]


def test_batch_size_is_respected():
    entries = [lifecycle_entry("Trial", f"ws-{i}", TRIAL, T0, email=f"{i}@x.com")
               for i in range(5)]
    batch = next_batch(entries, set(), running=0, size=3)
    assert batch is not None
    assert len(batch.entries) == 3
