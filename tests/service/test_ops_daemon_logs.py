"""A real daemon run whose events carry email addresses: with ``--log-format json`` every
stdout line is one JSON object, none at INFO or above holds an email, a token or a key; and
with ``SENTRY_DSN`` pointing at a local ingest endpoint, what the daemon sends Sentry holds
none either (the events are malformed on purpose, so they are parked and reported)."""

from __future__ import annotations

import io
import json
import logging
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import IO

import fastavro
from sentry_server import sentry_server
from svc_rig import ROOT, Rig
from svc_waiting import wait_until

from benchmarks.rig import TRIAL_TOPIC, Daemon, Publisher, pb
from service.config import inbox_path
from service.log_json import JsonFormatter, resolve_format
from service.logging_setup import ScrubbingFormatter
from subscriber.events import EntryStatus
from subscriber.inbox import Inbox

LEAK = re.compile(r"[A-Za-z0-9._%+\-]+(?:@|%40)example\.com|access_token|Bearer [A-Za-z0-9]")


class MixedPublisher(Publisher):
    """Half the events valid Trials (so the daemon looks their emails up by SOQL), half
    malformed (so they are parked and reported)."""

    def _event(self, n: int) -> pb.ProducerEvent:
        now_ms = int(time.time() * 1000)
        data = {"trial_expiration": "2030-01-31" if n % 2 == 0 else "never"}
        record = {
            "CreatedDate": now_ms, "CreatedById": "005000000000000AAA",
            "Workspace_ID__c": f"ws-{n}", "Email__c": f"o'wner+{n}@example.com",
            "Event_Type__c": "Trial", "Event_Data__c": json.dumps(data),
            "Event_Timestamp__c": now_ms}
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, self._schema, record)
        return pb.ProducerEvent(id=str(uuid.uuid4()), schema_id=self._schema_id,
                                payload=buf.getvalue())


class StdoutDaemon(Daemon):
    """The rig's daemon, with stdout kept in a file too (JSON logs go there)."""

    def __init__(self, *args: object, stdout_file: Path, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.stdout_file = stdout_file
        self._out: IO[bytes] | None = None

    def start(self) -> StdoutDaemon:
        self._log = self.log_file.open("ab")
        self._out = self.stdout_file.open("ab")
        self.proc = subprocess.Popen(self.args, stdout=self._out, stderr=self._log,
                                     env=self.env, cwd=ROOT)
        return self

    def wait(self, timeout_s: float) -> int:
        try:
            return super().wait(timeout_s)
        finally:
            self.close_stdout()

    def close_stdout(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None


def _pending(state: Path) -> int:
    try:
        with Inbox.open_readonly(inbox_path(state)) as inbox:
            return len(inbox.entries(EntryStatus.PENDING, limit=100_000, topic=TRIAL_TOPIC))
    except Exception:
        return -1


def test_json_logs_and_sentry_of_a_real_run_hold_no_email(rig: Rig, tmp_path: Path) -> None:
    with sentry_server() as (dsn, envelopes):
        daemon = StdoutDaemon(
            rig.info_file, rig.state, tmp_path / "daemon.err", stdout_file=tmp_path / "out",
            env={"SENTRY_DSN": dsn, "SENTRY_ENVIRONMENT": "ci",
                 "LIFECYCLE_SYNC_SERVICE_LOG_LEVEL": "DEBUG"})
        daemon.args.extend(["--log-format", "json"])
        daemon.start()
        try:  # the daemon is stopped in `finally`; its output files are closed by wait()
            publisher = MixedPublisher(json.loads(rig.info_file.read_text()))
            publisher.publish(30)
            publisher.close()
            wait_until(lambda: _pending(rig.state) == 0 and len(rig.entries()) == 30, 60,
                       what="every event applied or parked")
            wait_until(lambda: envelopes.items("event"), 30, what="a Sentry event")
            assert daemon.terminate(20) == 0
        finally:
            daemon.stop_quietly()
            daemon.close_stdout()
        lines = (tmp_path / "out").read_text().splitlines()
        records = [json.loads(line) for line in lines]  # every line is one JSON object
        assert {"ts", "level", "logger", "msg"} <= set(records[0])
        loud = [r for r in records if r["level"] in ("INFO", "WARNING", "ERROR", "CRITICAL")]
        assert any("started" in r["msg"] for r in loud)
        assert any(r["logger"] == "lifecycle_sync.apply" for r in loud)  # parked and reported
        assert not [r for r in loud if LEAK.search(json.dumps(r))]
        raw = envelopes.raw().decode("utf-8", "replace")
        assert not LEAK.search(raw), LEAK.findall(raw)[:5]
        events = envelopes.items("event")
        assert {e["environment"] for e in events} == {"ci"}
        fingerprints = [tuple(e["fingerprint"]) for e in events]
        assert len(fingerprints) == len(set(fingerprints))  # 30 parked events: one per class
    status = subprocess.run([sys.executable, "-m", "service", "status", "--state",
                             str(rig.state)], cwd=ROOT, capture_output=True, text=True,
                            timeout=60, check=False)
    assert "sentry: on, environment ci" in status.stdout, status.stdout + status.stderr
    assert "publickey" not in status.stdout  # the DSN's key is not shown
    assert "metrics: off" in status.stdout
    assert "apply: applied" in status.stdout


def test_json_formatter_is_the_safety_net() -> None:
    formatter = JsonFormatter(secrets=["s3cret-value-123"])

    def line(level: int, msg: str, *args: object) -> dict[str, str]:
        record = logging.LogRecord("x", level, __file__, 1, msg, args, None)
        return dict(json.loads(formatter.format(record)))

    loud = line(logging.INFO, "lead %s; url q=Email%%3D%%27a%%40example.com%%27; %s; api_key=k1",
                "jane@example.com", "Bearer abcdefghijklmnop")
    assert not LEAK.search(json.dumps(loud))
    assert "k1" not in loud["msg"]
    assert "s3cret-value-123" not in line(logging.DEBUG, "secret s3cret-value-123")["msg"]
    assert "jane@example.com" in line(logging.DEBUG, "lead jane@example.com")["msg"]
    assert line(logging.WARNING, "two\nlines")["msg"] == "two\nlines"  # one line on output
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "ok", None, None)
    record.threadName = "export for jane@example.com"  # a library's thread name
    assert "jane@example.com" not in formatter.format(record)


def test_text_formatter_scrubs_like_json() -> None:
    """Text logs (the default off journald) get the same scrubbing as JSON logs at INFO+."""
    formatter = ScrubbingFormatter()
    record = logging.LogRecord(
        "simple_salesforce", logging.WARNING, __file__, 1,
        "GET https://x.my.salesforce.com/services/data/v60.0/query/?q=SELECT+Id+FROM+Lead"
        "+WHERE+Email%%3D%%27bob%%40example.com%%27 failed; "
        "https://x.my.salesforce.com/services/data/v60.0/sobjects/Lead/Email/carol%%40example.com"
        " api_key=zqkey1 sid=zqsid", (), None)
    text = formatter.format(record)
    for leaked in ("bob", "carol", "%40", "example.com", "zqkey1", "zqsid"):
        assert leaked not in text, text
    assert "api_key=[redacted]" in text
    assert "/sobjects/Lead/Email/[email]" in text


def test_log_format_auto_follows_journald() -> None:
    assert resolve_format("auto", {"JOURNAL_STREAM": "8:1234"}) == "json"
    assert resolve_format("auto", {}) == "text"
    assert resolve_format("text", {"JOURNAL_STREAM": "8:1234"}) == "text"


def test_the_deployment_guide_documents_every_log_format() -> None:
    from service.log_json import LOG_FORMATS

    guide = (ROOT / "docs" / "deployment.md").read_text()
    assert f"--log-format {'|'.join(LOG_FORMATS)}" in guide
    for name in LOG_FORMATS:
        assert f"- `{name}`:" in guide
