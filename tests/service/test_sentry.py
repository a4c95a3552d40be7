"""Sentry through the real SDK and its HTTP transport, to a local ingest endpoint: events
built to leak (emails in messages, SOQL URLs, tokens, payloads in local variables) arrive with
none of it; one cause is one fingerprint; scheduled jobs send Cron check-ins."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import sentry_sdk
from simple_salesforce.exceptions import SalesforceMalformedRequest

from scheduler.runner import JobRunner
from scheduler.runs import RunStore
from scheduler.settings import SchedulerSettings
from scheduler.timing import triggers
from service.apply_reports import Reporter
from service.sentry_scrub import scrub_text
from service.sentry_setup import (
    SentrySettings,
    from_env,
    init_sentry,
    monitor_configs,
    monitored,
    report,
)
from tests.service.sentry_server import Envelopes, sentry_server

TOKEN = "00D5g000004ABCD!AQ8AQHx9sEcReTtOkEn.value_1234567890"
SECRET = "client-secret-value-42"
EMAILS = [f"jane.doe{n}@example.com" for n in range(5)]
LEAKS = re.compile(rb"example\.com|jane\.doe|sEcReTtOkEn|client-secret-value|api-key-123")


@pytest.fixture
def sentry() -> Iterator[Envelopes]:
    with sentry_server() as (dsn, envelopes):
        assert init_sentry(SentrySettings(dsn=dsn, environment="pilot",
                                          release="lifecycle-sync@9.9.9"), [SECRET])
        try:
            yield envelopes
        finally:
            sentry_sdk.get_client().close(timeout=2)
            sentry_sdk.get_global_scope().set_client(None)


def _flush() -> None:
    sentry_sdk.get_client().flush(timeout=5)


def _soql_failure(email: str) -> None:
    payload = {"Email": email, "token": TOKEN, "nested": {"auth": f"Bearer {TOKEN}"}}
    url = ("https://org.my.salesforce.com/services/data/v60.0/query/?q=SELECT+Id+FROM+Lead+"
           f"WHERE+Email+IN+(%27{email.replace('@', '%40')}%27)")
    content = [{"message": f"Email = '{email}' api_key=api-key-123 {payload}",
                "errorCode": "MALFORMED_QUERY"}]
    raise SalesforceMalformedRequest(url, 400, "query", content)


def test_events_built_to_leak_arrive_scrubbed_and_grouped(sentry: Envelopes) -> None:
    logger = logging.getLogger("lifecycle_sync.test_sentry")
    logger.setLevel(logging.INFO)
    logger.info("looking up %s with Bearer %s", EMAILS[0], TOKEN)  # a breadcrumb
    # A real HTTP request with SOQL and an email in its query string: a breadcrumb.
    with contextlib.suppress(urllib.error.URLError, OSError):
        urllib.request.urlopen(
            "http://127.0.0.1:9/q?q=SELECT+Id+FROM+Lead+WHERE+Email=%27jane.doe%40example.com%27",
            timeout=2)
    for email in EMAILS:
        try:
            _soql_failure(email)
        except SalesforceMalformedRequest:
            sentry_sdk.capture_exception()
    logger.error("could not apply %s (client_secret=%s, token %s)", EMAILS[1], SECRET, TOKEN)
    _flush()

    events = sentry.items("event")
    assert len(events) == 6
    assert not LEAKS.search(sentry.raw()), LEAKS.findall(sentry.raw())
    assert {e["environment"] for e in events} == {"pilot"}
    assert {e["release"] for e in events} == {"lifecycle-sync@9.9.9"}
    exceptions = [e for e in events if e.get("exception")]
    assert len(exceptions) == 5
    assert len({tuple(e["fingerprint"]) for e in exceptions}) == 1  # one cause, one issue
    assert all("vars" not in frame for e in exceptions
               for v in e["exception"]["values"] for frame in v["stacktrace"]["frames"])
    crumbs = [c for e in events for c in e.get("breadcrumbs", {}).get("values", [])]
    assert any("looking up" in str(c.get("message")) for c in crumbs)


def test_reported_classes_are_one_issue_each_tagged_without_emails(
        sentry: Envelopes, tmp_path: Path) -> None:
    for n, email in enumerate(EMAILS):
        report("apply", "INVALID_EMAIL_ADDRESS", f"Salesforce refused {email} ({TOKEN})",
               {"workspace_id": f"ws-{n}", "topic": "/event/SelfServeTrialEvent__e",
                "event_type": "Trial", "email": email})
    report("poison", "undecodable payload", f"bad bytes from {EMAILS[0]}", {"topic": "/x"})
    _flush()

    events = sentry.items("event")
    assert len(events) == 6
    assert not LEAKS.search(sentry.raw())
    apply = [e for e in events if e["tags"]["kind"] == "apply"]
    assert {tuple(e["fingerprint"]) for e in apply} == {
        ("lifecycle-sync", "apply", "INVALID_EMAIL_ADDRESS")}
    assert {e["tags"]["workspace_id"] for e in apply} == {f"ws-{n}" for n in range(5)}
    assert all(e["tags"]["error_code"] == "INVALID_EMAIL_ADDRESS" for e in apply)
    assert all(e["tags"]["event_type"] == "Trial" for e in apply)
    assert all("email" not in e["tags"] for e in events)


def test_apply_reporter_sends_each_error_class_once(sentry: Envelopes, tmp_path: Path) -> None:
    from subscriber.inbox import Inbox

    inbox = Inbox(tmp_path / "inbox.db")
    try:
        reporter = Reporter(inbox, lambda cls, msg, tags: report("apply", cls, msg, tags))
        for email in EMAILS * 3:
            reporter.report("DUPLICATE_VALUE", f"duplicate value for {email}")
        reporter.report("STRING_TOO_LONG", "Company too long")
    finally:
        inbox.close()
    _flush()
    events = sentry.items("event")
    assert sorted(e["tags"]["error_code"] for e in events) == ["DUPLICATE_VALUE",
                                                               "STRING_TOO_LONG"]
    assert not LEAKS.search(sentry.raw())


def test_jobs_send_cron_check_ins(sentry: Envelopes, tmp_path: Path) -> None:
    settings = SchedulerSettings()
    configs = monitor_configs(settings)

    def failing(now: dt.datetime) -> str:
        raise RuntimeError(f"Salesforce said no to {EMAILS[0]}")

    jobs = {"retry-parked": monitored("retry-parked", lambda now: "0 retried",
                                      configs["retry-parked"]),
            "trial-alerts": monitored("trial-alerts", failing, configs["trial-alerts"]),
            "retention": monitored("retention", lambda now: "ok", configs["retention"])}
    store = RunStore(tmp_path / "jobs.db")
    try:
        runner = JobRunner(jobs, triggers(settings), store)
        assert runner.run("retry-parked").ok
        assert not runner.run("trial-alerts").ok
    finally:
        store.close()
    _flush()
    checkins = sentry.items("check_in")
    by_slug = {(c["monitor_slug"], c["status"]) for c in checkins}
    assert by_slug == {("retry-parked", "in_progress"), ("retry-parked", "ok"),
                       ("trial-alerts", "in_progress"), ("trial-alerts", "error")}
    assert {c["monitor_config"]["schedule"]["type"] for c in checkins} == {"interval",
                                                                            "crontab"}
    pairs = {c["monitor_slug"]: c["check_in_id"] for c in checkins if c["status"] != "ok"}
    assert all(c["check_in_id"] == pairs[c["monitor_slug"]] for c in checkins)
    job_events = [e for e in sentry.items("event") if e["tags"].get("kind") == "job"]
    assert [e["tags"]["job"] for e in job_events] == ["trial-alerts"]
    assert not LEAKS.search(sentry.raw())


def test_log_arguments_never_reach_sentry_raw(sentry: Envelopes) -> None:
    logging.getLogger("lifecycle_sync.test_sentry").error(
        "oops: token=%s key=%s", "zq-abc-tok", "AKIAZQ0EXAMPLE123456")
    _flush()
    (event,) = sentry.items("event")
    assert b"zq-abc-tok" not in sentry.raw()
    assert b"AKIAZQ0EXAMPLE123456" not in sentry.raw()
    assert "params" not in event["logentry"]


def _raise_key_error_here() -> None:
    raise KeyError("a")


def _raise_key_error_there() -> None:
    {}["b"]  # a KeyError from another place


def test_exceptions_group_by_stack_unless_they_carry_an_error_code(sentry: Envelopes) -> None:
    for raising in (_raise_key_error_here, _raise_key_error_there):
        try:
            raising()
        except KeyError:
            sentry_sdk.capture_exception()
    try:
        _soql_failure(EMAILS[0])
    except SalesforceMalformedRequest:
        sentry_sdk.capture_exception()
    _flush()
    plain, other, coded = (e["fingerprint"] for e in sentry.items("event"))
    assert plain == other == ["{{ default }}"]  # Sentry groups these two by their stacks
    assert coded[-1] == "MALFORMED_QUERY"
    assert "SalesforceMalformedRequest" in coded


def test_stopped_log_events_are_grouped_by_their_cause(sentry: Envelopes) -> None:
    logger = logging.getLogger("lifecycle_sync.test_sentry")
    logger.error("stopped: %s: %s", "KeyError", "'Workspace_ID__c'")
    logger.error("stopped: %s: %s", "KeyError", "'Email'")
    logger.error("stopped: %s: %s", "RetryLater", "Salesforce is down")
    logger.error("cannot start: %s: %s", "Fatal", "bad login")
    _flush()
    prints = [tuple(e["fingerprint"]) for e in sentry.items("event")]
    assert prints[0] == prints[1]  # same cause, other values: one issue
    assert len({prints[0], prints[2], prints[3]}) == 3
    assert "RetryLater" in prints[2]
    assert not any("Salesforce is down" in part for part in prints[2])


def test_off_without_a_dsn_and_standard_variables_fill_the_gaps() -> None:
    assert not init_sentry(SentrySettings())
    filled = from_env(SentrySettings(), {"SENTRY_DSN": "https://k@o1.ingest.sentry.io/5",
                                         "SENTRY_ENVIRONMENT": "staging",
                                         "SENTRY_RELEASE": "r1"})
    assert (filled.dsn, filled.environment, filled.release) == (
        "https://k@o1.ingest.sentry.io/5", "staging", "r1")
    mine = from_env(SentrySettings(dsn="https://a@b/1", environment="prod-eu", release="x"),
                    {"SENTRY_DSN": "https://other@c/2", "SENTRY_ENVIRONMENT": "staging"})
    assert (mine.dsn, mine.environment, mine.release) == ("https://a@b/1", "prod-eu", "x")


@pytest.mark.parametrize("text", [
    "https://x.my.salesforce.com/services/data/v60.0/query/?q=SELECT+Id+FROM+Lead+WHERE+"
    "Email+%3D+%27jane.doe%40example.com%27",
    "SELECT Id FROM Lead WHERE Email IN ('jane.doe@example.com', 'x@y.example.com')",
    f"Authorization: Bearer {TOKEN}",
    "refresh_token=abcdef123456 api_key: api-key-123",
])
def test_scrub_text_masks(text: str) -> None:
    assert not LEAKS.search(scrub_text(text).encode())
    assert "abcdef123456" not in scrub_text(text)


def test_release_is_not_mistaken_for_an_email() -> None:
    assert scrub_text("lifecycle-sync@1.2.3") == "lifecycle-sync@1.2.3"


def test_a_busy_retry_parked_run_checks_in_ok_and_raises_no_issue(sentry: Envelopes,
                                                                   tmp_path: Path) -> None:
    from service.apply_loop import KeysBusy

    def busy(now: dt.datetime) -> str:
        raise KeysBusy("apply cycles kept these Workspaces busy; trying next run")

    settings = SchedulerSettings()
    job = monitored("retry-parked", busy, monitor_configs(settings)["retry-parked"])
    store = RunStore(tmp_path / "jobs.db")
    try:
        outcome = JobRunner({"retry-parked": job}, triggers(settings), store).run("retry-parked")
    finally:
        store.close()
    assert not outcome.ok  # the runner still retries it soon
    _flush()
    assert [c["status"] for c in sentry.items("check_in")] == ["in_progress", "ok"]
    assert not [e for e in sentry.items("event") if e["tags"].get("kind") == "job"]


def test_an_explicit_environment_in_the_config_beats_sentry_environment(tmp_path: Path) -> None:
    from service.config import load_config

    path = tmp_path / "c.toml"
    base = ('[service]\nstate_dir = "s"\n[auth]\nmode = "static_token"\n'
            'instance_url = "https://x.example"\ntenant_id = "00D"\n'
            'access_token_file = "t"\n')
    (tmp_path / "t").write_text("tok")
    env = {"SENTRY_ENVIRONMENT": "staging"}
    path.write_text(base + '[sentry]\nenvironment = "production"\n')
    assert from_env(load_config(path, env).sentry, env).environment == "production"
    path.write_text(base)  # not set in the config: the variable, else production
    assert from_env(load_config(path, env).sentry, env).environment == "staging"
    assert from_env(load_config(path, {}).sentry, {}).environment == "production"


def test_the_user_context_is_never_sent(sentry: Envelopes) -> None:
    sentry_sdk.set_user({"id": "0055g00000AbCdE", "username": "integration.user",
                         "email": EMAILS[0], "ip_address": "10.1.2.3"})
    try:
        sentry_sdk.capture_message("something happened")
        _flush()
    finally:
        sentry_sdk.set_user(None)
    (event,) = sentry.items("event")
    assert "user" not in event
    for leak in (b"0055g00000AbCdE", b"integration.user", b"10.1.2.3"):
        assert leak not in sentry.raw()
