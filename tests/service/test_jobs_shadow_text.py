"""``jobs run`` in shadow mode says what each job would write (B4): every config key it names
exists, and retry-parked's rows are said as the job selects them (New and Error)."""

from __future__ import annotations

import datetime as dt
import re

from scheduler.retry_parked import due_query
from scheduler.settings import JOB_NAMES, RetrySettings
from service.config_schema import SPEC
from service.jobs_cmd import SHADOW_WOULD

KEY = re.compile(r"\b([a-z_]+)\.([a-z_]+)\b")


def test_every_config_key_the_shadow_text_names_exists() -> None:
    assert set(SHADOW_WOULD) == set(JOB_NAMES)
    for job, text in SHADOW_WOULD.items():
        named = KEY.findall(text)
        assert named, f"{job}: names no config key"
        for section, key in named:
            assert key in SPEC.get(section, {}), f"{job}: no config key {section}.{key}"


def test_retry_parked_text_names_the_statuses_the_job_selects() -> None:
    query = due_query(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), RetrySettings())
    statuses = re.search(r"Processing_Status__c IN \(([^)]*)\)", query)
    assert statuses is not None
    for status in re.findall(r"'(\w+)'", statuses.group(1)):
        assert status in SHADOW_WOULD["retry-parked"]
