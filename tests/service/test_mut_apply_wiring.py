"""The apply loop as the daemon wires it from the config (real REST client, SQLite inbox): a
cycle that cannot reach Salesforce backs off with the configured retry settings, keeps its
entries pending and records the error class for ``status`` (mutation testing found the
wiring of the retry settings unpinned at unit level)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from helpers.ports import refused_port

from service.apply_reports import LAST_ERROR_KEY
from service.apply_wiring import apply_loop
from service.config import load_config
from service.connections import session_provider
from subscriber.events import DecodedEvent, EntryKind
from subscriber.inbox import Inbox

TOPIC = "/event/SelfServeTrialEvent__e"


def test_an_unreachable_salesforce_backs_the_wired_loop_off_and_loses_nothing(
        tmp_path: Path) -> None:
    payload = {"Event_Type__c": "Trial", "Workspace_ID__c": "ws-w", "Email__c": "w@w.example",
               "Event_Data__c": json.dumps({"trial_expiration": "2026-12-31"}),
               "Event_Timestamp__c": 1_790_000_000_000}
    with refused_port() as port:
        (tmp_path / "sync.toml").write_text(
            '[service]\nstate_dir = "state"\n[auth]\nmode = "static_token"\n'
            f'instance_url = "http://127.0.0.1:{port}"\ntenant_id = "00Dxx0000000001"\n'
            "[apply]\nretry_initial_s = 30\nretry_max_s = 60\n")
        config = load_config(tmp_path / "sync.toml",
                             {"LIFECYCLE_SYNC_AUTH_ACCESS_TOKEN": "tok"})
        with Inbox(tmp_path / "inbox.db") as inbox:
            inbox.store_batch(TOPIC, [DecodedEvent(TOPIC, b"\x01", "uuid-w", "s",
                                                   EntryKind.EVENT, payload)], b"\x01")
            loop = apply_loop(config, session_provider(config), inbox)
            assert loop.run_once() is False
            assert len(inbox.pending()) == 1
            assert loop.waiting_by_design()  # backing off, not stuck
            last = json.loads(inbox.meta(LAST_ERROR_KEY) or "null")
    assert last["class"] == "salesforce unavailable"


def test_a_shadow_mode_loop_has_one_worker_and_creates_the_state_dirs_erasure_key_0600(
        tmp_path: Path) -> None:
    # What the wiring decides; the hashed log line itself is pinned on ShadowGateway by
    # test_shadow_email_key.py (a whole shadow cycle needs Salesforce's reads).
    (tmp_path / "sync.toml").write_text(
        '[service]\nstate_dir = "state"\nmode = "shadow"\n[auth]\nmode = "static_token"\n'
        'instance_url = "https://127.0.0.1:9"\ntenant_id = "00Dxx0000000001"\n'
        "[apply]\nworkers = 4\n")
    config = load_config(tmp_path / "sync.toml", {"LIFECYCLE_SYNC_AUTH_ACCESS_TOKEN": "tok"})
    (tmp_path / "state").mkdir(mode=0o700)
    stop = threading.Event()
    stop.set()  # start the workers, claim nothing (the inbox is empty anyway), return
    with Inbox(tmp_path / "state" / "inbox.db") as inbox:
        loop = apply_loop(config, session_provider(config), inbox)
        loop.run(stop)
    assert len(loop.workers) == 1  # one worker: the watermark stays simple (names not pinned)
    assert (tmp_path / "state" / "erasure.key").stat().st_mode & 0o777 == 0o600
