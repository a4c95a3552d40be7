"""Metric labels, liveness and JSON log lines: behaviours mutation testing found unpinned."""

from __future__ import annotations

import json
import logging
import sys

from scheduler.settings import SchedulerSettings
from service.event_labels import type_label
from service.log_json import JsonFormatter
from service.progress import DaemonHooks
from service.sentry_setup import monitor_configs
from subscriber.events import ChangeHeader, EntryKind
from subscriber.settings import ReplayPolicy

TOPIC = "/event/SelfServeTrialEvent__e"


def test_a_change_event_of_another_object_is_labelled_other() -> None:
    header = ChangeHeader("Contact", "UPDATE", "", ("003x",), "tx", 1, 0, 1, "005x")
    assert type_label(EntryKind.EVENT, None, header) == "other"


def test_a_refused_replay_id_counts_as_a_sign_of_life_for_its_topic() -> None:
    now = [0.0]
    hooks = DaemonHooks([TOPIC], stale_after_s=10.0, clock=lambda: now[0])
    now[0] = 20.0
    assert not hooks.alive()
    hooks.replay_rejected(TOPIC, b"\x01", ReplayPolicy.EARLIEST)
    assert hooks.alive()


def test_a_json_log_line_carries_the_exceptions_traceback() -> None:
    try:
        raise KeyError("Workspace_ID__c")
    except KeyError:
        record = logging.LogRecord("lifecycle_sync", logging.ERROR, __file__, 1, "apply failed",
                                   (), sys.exc_info())
    line = json.loads(JsonFormatter().format(record))
    assert "Traceback" in line["exc"]
    assert "KeyError: 'Workspace_ID__c'" in line["exc"]


def test_each_daily_jobs_sentry_monitor_is_a_crontab_at_its_time_of_day() -> None:
    settings = SchedulerSettings()
    configs = monitor_configs(settings)
    at = settings.retention.at
    assert configs["retention"]["schedule"] == {"type": "crontab",
                                                "value": f"{at.minute} {at.hour} * * *"}
    assert configs["trial-alerts"]["timezone"] == settings.alerts.timezone
