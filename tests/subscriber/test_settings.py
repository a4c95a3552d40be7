"""Settings are validated once, listing every problem; TOML-style strings are accepted."""

from __future__ import annotations

from pathlib import Path

import pytest

from subscriber.settings import IntakeSettings, ReplayPolicy, StartFrom


def test_defaults_follow_salesforce() -> None:
    s = IntakeSettings()
    assert s.endpoint == "api.pubsub.salesforce.com:7443"
    assert s.topics == ("/event/SelfServeTrialEvent__e", "/data/LeadChangeEvent")
    assert (s.keepalive_s, s.watchdog_s, s.batch_size) == (270.0, 300.0, 100)
    assert s.on_invalid_replay is ReplayPolicy.FAIL
    assert s.start_from is StartFrom.EARLIEST


def test_strings_are_coerced() -> None:
    s = IntakeSettings(on_invalid_replay="latest", start_from="latest",  # type: ignore[arg-type]
                       ca_file="ca.pem", topics=["/event/A__e"])  # type: ignore[arg-type]
    assert s.on_invalid_replay is ReplayPolicy.LATEST
    assert s.start_from is StartFrom.LATEST
    assert s.ca_file == Path("ca.pem")
    assert s.topics == ("/event/A__e",)


def test_every_problem_is_listed() -> None:
    with pytest.raises(ValueError, match="invalid intake settings") as raised:
        IntakeSettings(batch_size=101, on_invalid_replay="skip",  # type: ignore[arg-type]
                       topics=(), keepalive_s=0, backoff_max_s=0.1, max_receive_bytes=1024)
    text = str(raised.value)
    for part in ("batch_size", "on_invalid_replay", "fail, earliest, latest", "topics",
                 "keepalive_s", "backoff_max_s", "max_receive_bytes"):
        assert part in text
