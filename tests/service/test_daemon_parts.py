"""The two-step build (service.daemon_parts) connects the intake to the apply loop it
builds later: a committed batch wakes the apply loop, a draining backlog defers it, and a
full disk is one episode for both. Unset, each fails silently (apply waits its idle poll,
the backlog competes with apply, an apply-side pause is never reported), so pin them."""

from __future__ import annotations

from pathlib import Path

from service.config import load_config
from service.daemon_parts import build_intake, build_rest
from subscriber.inbox import Inbox

TOML = """
[service]
state_dir = "{state}"
[auth]
mode = "static_token"
instance_url = "https://127.0.0.1:9"
tenant_id = "00D"
"""


def test_build_rest_connects_the_intake_to_the_apply_loop(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    path = tmp_path / "sync.toml"
    path.write_text(TOML.replace("{state}", str(state)))
    config = load_config(path, {"LIFECYCLE_SYNC_AUTH_ACCESS_TOKEN": "t"})
    with Inbox(state / "inbox.db") as inbox:
        first = build_intake(config, inbox)
        assert first.wake_apply.target is None  # the intake may commit before apply exists
        first.wake_apply()  # harmless then
        p = build_rest(config, inbox, first)
        try:
            assert first.wake_apply.target == p.applier.wake
            assert p.hooks.catch_up is not None
            assert p.hooks.catch_up.defer == p.applier.defer
            assert p.applier.full_inbox is p.hooks.full_inbox
            p.hooks.catch_up.batch(config.pubsub.batch_size, "/event/X")  # a full batch
            assert p.applier.waiting_by_design(), "the catch-up deferred the apply loop"
        finally:
            p.runs.close()
