"""The test and benchmark rig: an emulator, a gRPC publisher and the daemon as a subprocess.

Shared by ``benchmarks.intake`` and ``tests/service`` so both drive the daemon exactly the way
an operator would: ``python -m service run --emulator-info FILE --state DIR`` in its own
process, events published over the real Pub/Sub ``Publish`` RPC with TLS and Avro.
"""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

import fastavro
import grpc

import service
from emulator.server import Emulator, EmulatorSettings
from proto import pubsub_api_pb2 as pb
from proto import pubsub_api_pb2_grpc as pb_grpc
from subscriber.inbox_file import readonly_uri

TRIAL_TOPIC = "/event/SelfServeTrialEvent__e"
ROOT = Path(__file__).resolve().parents[1]
# What a child Python needs from our environment to run at all; everything else a child sees
# is what the caller sets, so a developer's exported LIFECYCLE_SYNC_* never leaks into a test.
# MUTANT_UNDER_TEST (and MUTMUT_*) are mutmut's switch for which mutant is active: without it
# a daemon run as a subprocess would always run the unmutated code and never kill a mutant.
CHILD_ENV_KEEP = ("PATH", "HOME", "SYSTEMROOT", "TMPDIR", "LANG", "LC_ALL", "MUTANT_UNDER_TEST")
CHILD_ENV_PREFIXES = ("MUTMUT_",)


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a child Python: :data:`CHILD_ENV_KEEP` plus ``extra``, nothing else."""
    env = {k: v for k, v in os.environ.items()
           if k in CHILD_ENV_KEEP or k.startswith(CHILD_ENV_PREFIXES)}
    env["PYTHONPATH"] = str(code_root())  # whatever the child's working directory
    return {**env, **(extra or {})}


def code_root() -> Path:
    """Where this process imports the product packages from; children run there, so they run
    the same code (under mutmut that is its mutated copy in ``mutants/``, not the worktree)."""
    return Path(service.__file__).resolve().parents[1]


def start_emulator(state_dir: Path) -> tuple[Emulator, Path]:
    """An in-process emulator on free ports, and the info file the daemon reads."""
    emulator = Emulator(EmulatorSettings(state_dir=state_dir)).start()
    info_file = state_dir / "info.json"
    emulator.write_info(info_file)
    return emulator, info_file


class Publisher:
    """Publishes trial events over gRPC ``Publish``, remembering IDs in publish order."""

    def __init__(self, info: dict[str, Any], topic: str = TRIAL_TOPIC) -> None:
        creds = grpc.ssl_channel_credentials(Path(info["ca_cert"]).read_bytes())
        self._channel = grpc.secure_channel(info["pubsub_endpoint"], creds)
        self._stub = pb_grpc.PubSubStub(self._channel)
        self._md = (("accesstoken", info["access_token"]), ("instanceurl", info["instance_url"]),
                    ("tenantid", info["tenant_id"]))
        self.topic = topic
        found = self._stub.GetTopic(pb.TopicRequest(topic_name=topic), metadata=self._md)
        self._schema_id = found.schema_id
        text = self._stub.GetSchema(pb.SchemaRequest(schema_id=found.schema_id),
                                    metadata=self._md).schema_json
        self._schema = fastavro.parse_schema(json.loads(text))
        self.event_ids: list[str] = []
        self.replay_ids: list[bytes] = []

    def close(self) -> None:
        self._channel.close()

    def publish(self, count: int) -> None:
        """Publish ``count`` events in one request; fails loudly on any per-event error."""
        events = [self._event(len(self.event_ids) + i) for i in range(count)]
        response = self._stub.Publish(
            pb.PublishRequest(topic_name=self.topic, events=events), metadata=self._md, timeout=60)
        errors = [r.error.msg for r in response.results if r.error.msg]
        if errors:
            raise RuntimeError(f"publish failed: {errors[:3]}")
        self.event_ids.extend(e.id for e in events)
        self.replay_ids.extend(r.replay_id for r in response.results)

    def _event(self, n: int) -> pb.ProducerEvent:
        now_ms = int(time.time() * 1000)
        record = {
            "CreatedDate": now_ms, "CreatedById": "005000000000000AAA",
            "Workspace_ID__c": f"ws-{n % 500}", "Email__c": f"owner{n}@example.com",
            "Event_Type__c": ("Trial", "Conversion", "Churn")[n % 3],
            # malformed for every type (a Trial without a date would now be valid: issue 11)
            "Event_Data__c": json.dumps({"n": n, "trial_expiration": "never"}),
            "Event_Timestamp__c": now_ms,
        }
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, self._schema, record)
        return pb.ProducerEvent(id=str(uuid.uuid4()), schema_id=self._schema_id,
                                payload=buf.getvalue())


class NotifySocket:
    """A stand-in for systemd's ``$NOTIFY_SOCKET``: collects what the daemon sd_notifies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(str(path))
        self._sock.setblocking(False)
        self.messages: list[str] = []

    def drain(self) -> list[str]:
        """Every field received so far (e.g. ``READY=1``), oldest first."""
        while True:
            try:
                data = self._sock.recv(65536)
            except BlockingIOError:
                return self.messages
            self.messages.extend(data.decode().splitlines())

    def seen(self, field: str) -> bool:
        return field in self.drain()

    def count(self, field: str) -> int:
        """How often ``field`` arrived (e.g. one ``READY=1`` per daemon start)."""
        return self.drain().count(field)

    def close(self) -> None:
        self._sock.close()
        self.path.unlink(missing_ok=True)


def start_emulator_process(state_dir: Path, log_file: Path) -> tuple[subprocess.Popen[bytes], Path]:
    """``lifecycle-sync emulator`` in its own process (keeps its GIL out of measurements)."""
    return start_emulator_process_with(state_dir, log_file, [])


def start_emulator_process_with(state_dir: Path, log_file: Path, extra: list[str]
                                ) -> tuple[subprocess.Popen[bytes], Path]:
    """The same, with extra ``lifecycle-sync emulator`` options (e.g. ``--latency-ms``)."""
    info_file = state_dir / "info.json"
    state_dir.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "service", "emulator", "--state", str(state_dir),
             "--info-file", str(info_file), *extra], stdout=subprocess.DEVNULL, stderr=log,
            env=child_env(), cwd=ROOT)
    poll(info_file.exists, 60, "the emulator's info file")
    return proc, info_file


class Daemon:
    """``lifecycle-sync run`` as a child process; stderr goes to a file for assertions."""

    def __init__(self, info_file: Path, state_dir: Path, log_file: Path,
                 env: dict[str, str] | None = None, auth: str = "auto") -> None:
        self.args = [sys.executable, "-m", "service", "run", "--emulator-info", str(info_file),
                     "--state", str(state_dir), "--auth", auth]
        self.log_file = log_file
        self.env = child_env(env)
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> Daemon:
        self._log = self.log_file.open("ab")
        self.proc = subprocess.Popen(self.args, stdout=subprocess.DEVNULL, stderr=self._log,
                                     env=self.env, cwd=code_root())
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def peak_rss_mb(self) -> float | None:
        """VmHWM of the live process (Linux), in MiB."""
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
        return None

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        self.wait(30)

    def terminate(self, timeout_s: float = 10.0) -> int:
        """SIGTERM, then the exit code (raises if it takes longer than ``timeout_s``)."""
        self.signal(signal.SIGTERM)
        return self.wait(timeout_s)

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def wait(self, timeout_s: float) -> int:
        assert self.proc is not None
        try:
            return self.proc.wait(timeout_s)
        finally:
            if self._log is not None:
                self._log.close()
                self._log = None

    def stop_quietly(self) -> None:
        """Cleanup path: kill if still running; never raises."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_text(self) -> str:
        return self.log_file.read_text(errors="replace")


def poll(predicate: Callable[[], Any], timeout_s: float, what: str, interval_s: float = 0.02
         ) -> Any:
    """The first truthy ``predicate()``; raises TimeoutError after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(interval_s)


def query_inbox(path: Path, sql: str, args: Sequence[object] = ()) -> list[Any]:
    """Rows from a daemon's SQLite inbox, read-only beside it; none while it has no tables.

    The daemon creates the file (its WAL pragma) a moment before it commits its tables, so
    a reader that polls from the start can hit "no such table": that means nothing is
    stored yet, not an error. Any other error (a damaged file, bad SQL) is raised.
    """
    if not path.exists():
        return []
    db = sqlite3.connect(readonly_uri(path), uri=True)
    try:
        return db.execute(sql, args).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []
        raise
    finally:
        db.close()
