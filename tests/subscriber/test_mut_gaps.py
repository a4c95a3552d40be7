"""A refused replay ID leaves a gap record that says what was refused and why (README,
"Replay gaps"): ``status`` shows it and the reconciliation hint is built from it."""

from __future__ import annotations

from subscriber_harness import TRIAL, HarnessFactory

from subscriber.gaps import gaps

BOGUS = bytes.fromhex("00000001deadbeef0000")  # 10 bytes the server never issued


def test_a_refused_replay_id_is_recorded_with_its_error_code_and_policy(
        harness_factory: HarnessFactory) -> None:
    h = harness_factory(on_invalid_replay="earliest")
    h.publish_trials(1)
    h.inbox.advance_checkpoint(TRIAL, BOGUS)
    h.start()
    h.wait_count(TRIAL, 1)
    h.stop()
    [gap] = gaps(h.inbox, TRIAL)
    assert "replayid.corrupted" in gap["error_code"]
    assert gap["policy"] == "earliest"
    assert gap["last_good_replay_id"] == BOGUS.hex()
    assert gap["rpc_id"]
