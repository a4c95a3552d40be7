"""The emulator's hooks for the reliability suite (tests/reliability): the delivery log
(redelivery counts), record faults naming ``record_ids`` (a row locked for good) and the
org-migration hook (replay IDs that repeat)."""

from __future__ import annotations

import requests
from helpers import EmulatorFactory
from helpers.pubsub_client import TRIAL_TOPIC, PubSubClient

from emulator.server import Emulator
from proto import pubsub_api_pb2 as pb


def admin(emu: Emulator, path: str, body: dict[str, object] | None = None) -> dict:
    url = emu.info()["admin_url"] + path
    response = (requests.get(url, timeout=10) if body is None
                else requests.post(url, json=body, timeout=10))
    response.raise_for_status()
    return dict(response.json())


def test_deliveries_count_redelivered_events(emulator_factory: EmulatorFactory) -> None:
    emu = emulator_factory()
    with PubSubClient(emu.info()) as client:
        client.publish_trial_events(5)
        with client.subscribe(num_requested=5, preset=pb.EARLIEST) as sub:
            assert len(sub.next().events) == 5
        with client.subscribe(num_requested=5, preset=pb.EARLIEST) as sub:
            assert len(sub.next().events) == 5
    counts = admin(emu, "/pubsub/deliveries")
    assert counts["topics"][TRIAL_TOPIC] == {"delivered": 10, "distinct": 5, "redelivered": 5}
    assert admin(emu, "/pubsub/deliveries/reset", {})["redelivered"] == 0


def test_a_record_fault_with_record_ids_fails_only_those_records(
        emulator_factory: EmulatorFactory) -> None:
    emu = emulator_factory()
    info = emu.info()
    session = requests.Session()
    session.trust_env = False
    session.verify = info["ca_cert"]
    session.headers["Authorization"] = f"Bearer {info['access_token']}"
    base = f"{info['instance_url']}/services/data/v62.0/sobjects/Lead/"
    ids = [session.post(base, json={"LastName": f"L{i}", "Company": "C"}, timeout=10).json()["id"]
           for i in range(2)]
    admin(emu, "/faults/org", {"fault": "unable_to_lock_row", "kind": "update",
                               "record_ids": [ids[0]]})
    for _ in range(2):  # for good, not once
        locked = session.patch(base + ids[0], json={"Company": "X"}, timeout=10)
        assert locked.status_code == 400
        assert locked.json()[0]["errorCode"] == "UNABLE_TO_LOCK_ROW"
    assert session.patch(base + ids[1], json={"Company": "X"}, timeout=10).status_code == 204


def test_an_org_migration_makes_new_events_repeat_earlier_replay_ids(
        emulator_factory: EmulatorFactory) -> None:
    emu = emulator_factory()
    with PubSubClient(emu.info()) as client:
        before = client.publish_trial_events(3)
        admin(emu, "/faults/pubsub/migrate", {"topic": TRIAL_TOPIC, "shift": 3})
        after = client.publish_trial_events(3)
    assert after == before
    assert admin(emu, "/faults/pubsub")["abort"] is None
