"""``lifecycle-sync emulator`` as a real process: info file, a client using only it, SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

from helpers.children import child_env, module_argv
from helpers.pubsub_client import TRIAL_TOPIC, PubSubClient

from proto import pubsub_api_pb2 as pb


def _wait_for_file(path: Path, proc: subprocess.Popen[bytes], timeout: float) -> float:
    started = time.monotonic()
    while not path.exists():
        assert proc.poll() is None, f"the emulator exited with {proc.returncode}"
        assert time.monotonic() - started < timeout, f"no info file within {timeout} s"
        time.sleep(0.05)  # polling the file system: there is nothing to block on
    return time.monotonic() - started


def test_emulator_command_writes_info_file_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    info_file = tmp_path / "info.json"
    cmd = module_argv("service", "emulator", "--state", str(tmp_path / "state"),
                      "--info-file", str(info_file), "--keepalive-s", "0.5")
    with subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          env=child_env()) as proc:
        try:
            _wait_for_file(info_file, proc, timeout=5)
            assert info_file.stat().st_mode & 0o077 == 0  # it holds a token
            info = json.loads(info_file.read_text())
            assert TRIAL_TOPIC in info["topics"]
            with PubSubClient.from_info_file(str(info_file)) as client:
                with client.subscribe(TRIAL_TOPIC, 5) as sub:
                    assert sub.next().events == []
                    ids = client.publish_trial_events(2)
                    got = sub.events(2)
                assert [e.replay_id for e in got] == ids
                assert [client.decode(e.event)["Workspace_ID__c"] for e in got] == ["w0", "w1"]
                with client.subscribe(TRIAL_TOPIC, 5, pb.EARLIEST) as sub:
                    assert len(sub.events(2)) == 2
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=10)
            stderr = proc.stderr.read().decode() if proc.stderr else ""
    assert code == 0, stderr
    assert "emulator stopped" in stderr
