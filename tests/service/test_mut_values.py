"""Behaviours of small service functions that mutation testing found unpinned: config value
parsing, the admin commands' argument parsing and decisions, and Sentry scrubbing."""

from __future__ import annotations

import datetime as dt

import pytest

from service.check_cmd import to_toml
from service.config_report import _dsn_host
from service.config_values import Invalid, boolean, days_list
from service.connection_state import _iso
from service.gap_report import gap_lines
from service.publish_cmd import event_time
from service.replay_cmd import parse_start
from service.review_cmd import _decision
from service.sentry_scrub import fingerprint, scrub_event
from service.sla import sla_line
from service.status_cmd import _ops_lines


@pytest.mark.parametrize("text", ["false", "No", "0", "OFF"])
def test_a_config_boolean_spelled_false_is_false(text: str) -> None:
    assert boolean(text) is False


@pytest.mark.parametrize("text", ["true", "Yes", "1", "on"])
def test_a_config_boolean_spelled_true_is_true(text: str) -> None:
    assert boolean(text) is True


def test_a_config_boolean_that_is_neither_is_refused() -> None:
    with pytest.raises(Invalid, match="expected true or false"):
        boolean("maybe")


def test_alert_thresholds_from_the_environment_are_comma_separated() -> None:
    assert days_list("1,7") == (7, 1)  # LIFECYCLE_SYNC_ALERTS_THRESHOLDS_DAYS=1,7


@pytest.mark.parametrize("word", ["earliest", "latest"])
def test_replay_from_earliest_or_latest_is_taken_as_that_word(word: str) -> None:
    assert parse_start(word) == word


def test_replay_from_a_hex_replay_id_is_its_bytes() -> None:
    assert parse_start("00ff") == b"\x00\xff"


def test_publish_at_a_naive_time_means_utc() -> None:
    assert event_time("2026-11-30T09:00:00") == dt.datetime(2026, 11, 30, 9, tzinfo=dt.UTC)


def test_review_retry_resets_the_retry_count_so_retry_parked_tries_it_again() -> None:
    row = {"Event_Uuid__c": "u-1", "Processing_Notes__c": "gave up"}
    change, _ = _decision(row, "retry")
    assert change["Retry_Count__c"] == 0
    assert change["Processing_Status__c"] == "Error"
    assert change["Needs_Review__c"] is False


def test_sentry_tags_that_still_hold_redacted_text_are_dropped_the_others_kept() -> None:
    event = {"tags": {"topic": "/event/SelfServeTrialEvent__e", "who": "[redacted]",
                      "mail": "[email]"}}
    assert scrub_event(event, ())["tags"] == {"topic": "/event/SelfServeTrialEvent__e"}


def test_sentry_drops_local_variables_of_every_frame() -> None:
    frame = {"function": "apply", "vars": {"email": "ann@acme.co.uk"}}
    event = {"exception": {"values": [{"type": "KeyError", "stacktrace": {"frames": [frame]}}]}}
    scrubbed = scrub_event(event, ())
    frames = scrubbed["exception"]["values"][0]["stacktrace"]["frames"]
    assert frames == [{"function": "apply"}]


def test_an_exception_without_a_module_is_grouped_by_class_and_code() -> None:
    event = {"exception": {"values": [{"type": "SalesforceError"}]},
             "tags": {"error_code": "UNABLE_TO_LOCK_ROW"}}
    assert fingerprint(event) == ["lifecycle-sync", "exception", "SalesforceError", "",
                                  "UNABLE_TO_LOCK_ROW"]


def test_a_gap_line_says_when_the_replay_id_was_refused_and_why() -> None:
    gap = {"refused_at": "2026-11-30T09:00:00+00:00", "error_code": "replayid.corrupted",
           "last_good_replay_id": "00ff", "last_good_at": None, "policy": "earliest",
           "reconcile": "re-publish"}
    assert gap_lines({"gaps": [gap]}) == [
        "  GAP: replay ID refused at 2026-11-30T09:00:00+00:00 (replayid.corrupted); "
        "last good 00ff at -; policy earliest", "    to do: re-publish"]


def test_the_sentry_line_names_the_host_never_the_dsns_key() -> None:
    assert _dsn_host("https://0123abcd@o1.ingest.sentry.io/42") == "o1.ingest.sentry.io/42"


def test_connection_times_are_shown_in_utc_whatever_the_local_zone() -> None:
    assert _iso(0.0) == "1970-01-01T00:00:00+00:00"


def test_a_breached_sla_line_lists_its_reasons() -> None:
    line = sla_line({"breached": True, "since": 0.0, "reasons": ["pending 20 min", "lag"]})
    assert line == "sync SLA: BREACHED since 1970-01-01T00:00:00Z: pending 20 min; lag"


def test_check_config_prints_toml_that_starts_with_its_first_table() -> None:
    assert to_toml({"pubsub": {"batch_size": 100}, "inbox": {"#": "kept"}}) == (
        "[pubsub]\nbatch_size = 100\n\n[inbox]\n#: kept\n")


def test_status_says_whether_sentry_cron_check_ins_are_on() -> None:
    sentry = {"on": True, "environment": "production", "release": "1.0", "host": "o1.sentry.io",
              "crons": True}
    assert _ops_lines({"sentry": sentry, "metrics_port": 9464})[1] == (
        "sentry: on, environment production, release 1.0, to o1.sentry.io, cron check-ins on")
    assert _ops_lines({"sentry": {**sentry, "crons": False}})[1].endswith("check-ins off")
