"""Each configuration value parser, as an operator meets it: what it accepts (TOML values and
their environment-variable spellings), what it turns them into, and the message that says what
was expected when it refuses one (mutation testing found several of these unpinned)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from service.config_values import (
    Invalid,
    assignment_rule,
    choice,
    clock_time,
    days_list,
    endpoint,
    nonempty_text,
    number,
    path_value,
    plain,
    topic_list,
    url,
    user_ids,
    zone,
)


def refused(parse: Any, value: Any) -> str:
    with pytest.raises(Invalid) as caught:
        parse(value)
    return str(caught.value)


@pytest.mark.parametrize(("given", "rule"), [
    (True, "TRUE"), (False, "FALSE"), ("on", "TRUE"), ("True", "TRUE"), ("yes", "TRUE"),
    ("off", "FALSE"), ("FALSE", "FALSE"), ("no", "FALSE"), (" No ", "FALSE"),
    ("01Q000000000001", "01Q000000000001"), ("01Q000000000001AAA", "01Q000000000001AAA")])
def test_the_lead_assignment_rule_is_on_off_or_a_rule_id(given: Any, rule: str) -> None:
    assert assignment_rule(given) == rule


@pytest.mark.parametrize("given", ["01Q00000000001", "01Q0000000000001", "00Q000000000001",
                                   "01Q00000000000-", "maybe"])
def test_an_assignment_rule_that_is_not_a_switch_or_a_rule_id_is_refused(given: str) -> None:
    assert refused(assignment_rule, given) == (
        f"expected on, off or an AssignmentRule ID (01Q…), got {given!r}")


@pytest.mark.parametrize("given", ["005000000000001", "005000000000001AAA"])
def test_an_owner_allowlist_takes_15_and_18_character_user_ids(given: str) -> None:
    assert user_ids([given]) == (given,)
    assert user_ids(f"{given},{given[:15]}") == (given, given[:15])  # the environment form


@pytest.mark.parametrize("given", ["0050000000000001", "00500000000001", "006000000000001",
                                   "005-00000000001"])
def test_an_owner_allowlist_entry_that_is_not_a_user_id_is_refused_by_name(given: str) -> None:
    assert refused(user_ids, [given]) == (
        f"{given!r} is not a User ID (15 or 18 characters starting 005)")


def test_an_owner_allowlist_that_is_not_a_list_is_refused() -> None:
    assert refused(user_ids, 5) == (
        'expected a list of Salesforce User IDs, like ["005000000000001AAA"]')
    assert user_ids([]) == ()  # empty: no allowlist


@pytest.mark.parametrize(("given", "days"), [
    ([7, 1], (7, 1)), ([1, 7, 3], (7, 3, 1)), ("3, 14", (14, 3)), ("0", (0,)), ((365,), (365,))])
def test_alert_thresholds_are_whole_days_largest_first(given: Any, days: tuple[int, ...]) -> None:
    assert days_list(given) == days


@pytest.mark.parametrize(("given", "message"), [
    ([], "expected a non-empty list of whole days, like [7, 1]"),
    (7, "expected a non-empty list of whole days, like [7, 1]"),
    ([7, 7], "a threshold is listed twice"),
    ([366], "must be between 0 and 365, got 366"),
    ("1 7", "expected an integer, got '1 7'")])
def test_bad_alert_thresholds_say_what_was_expected(given: Any, message: str) -> None:
    assert refused(days_list, given) == message


def test_topics_are_event_or_data_channels_each_listed_once() -> None:
    assert topic_list("/event/A__e, /data/LeadChangeEvent") == ("/event/A__e",
                                                                "/data/LeadChangeEvent")
    assert refused(topic_list, ["/topic/x"]) == "topic '/topic/x' must start with /event/ or /data/"
    assert refused(topic_list, ["/event/A__e", "/event/A__e"]) == "a topic is listed twice"
    assert refused(topic_list, []) == "expected a non-empty list of topic names"


@pytest.mark.parametrize(("given", "message"), [
    (True, "expected an integer"), ("x", "expected an integer, got 'x'"),
    (None, "expected an integer, got None"), (0, "must be between 1 and 10, got 0"),
    (11, "must be between 1 and 10, got 11")])
def test_an_integer_setting_out_of_range_or_of_another_type_is_refused(
        given: Any, message: str) -> None:
    assert refused(number(int, 1, 10), given) == message


def test_numbers_accept_the_bounds_and_environment_text() -> None:
    parse = number(float, 0.01, 4194304)
    assert parse(" 0.01 ") == 0.01
    assert parse(4194304) == 4194304.0
    assert parse("2") == 2.0
    assert refused(parse, 0.001) == "must be between 0.01 and 4194304, got 0.001"
    assert refused(parse, "ten") == "expected a number, got 'ten'"


@pytest.mark.parametrize(("value", "text"), [(1, "1"), (1.0, "1"), (0.01, "0.01"),
                                             (4194304.0, "4194304"), (2.5, "2.5")])
def test_limits_in_messages_are_written_plainly(value: float, text: str) -> None:
    assert plain(value) == text


def test_a_choice_is_matched_ignoring_case_and_lists_the_options_when_refused() -> None:
    assert choice(("live", "shadow"))(" Shadow ") == "shadow"
    assert choice(("INFO", "DEBUG"), upper=True)("debug") == "DEBUG"
    assert refused(choice(("live", "shadow")), "dry") == (
        "expected one of live, shadow, got 'dry'")


def test_urls_lose_a_trailing_slash_and_must_be_http_or_https() -> None:
    assert url(" https://login.salesforce.com/ ") == "https://login.salesforce.com"
    assert url("http://127.0.0.1:8443") == "http://127.0.0.1:8443"
    assert refused(url, "login.salesforce.com") == (
        "expected an https:// URL, got 'login.salesforce.com'")


def test_an_endpoint_is_host_and_numeric_port() -> None:
    assert endpoint("api.pubsub.salesforce.com:7443") == "api.pubsub.salesforce.com:7443"
    assert refused(endpoint, "api.pubsub.salesforce.com") == (
        "expected host:port, got 'api.pubsub.salesforce.com'")
    assert refused(endpoint, ":7443") == "expected host:port, got ':7443'"
    assert refused(endpoint, "host:https") == "expected host:port, got 'host:https'"


@pytest.mark.parametrize("given", ["", "   ", 3, None])
def test_text_settings_must_be_non_empty_strings(given: Any) -> None:
    assert refused(nonempty_text, given) == "expected a non-empty string"


def test_paths_expand_the_home_directory() -> None:
    assert path_value("~/state") == Path.home() / "state"
    assert path_value(" /var/lib/x ") == Path("/var/lib/x")


def test_a_time_of_day_keeps_hours_and_minutes_only() -> None:
    assert clock_time("09:30:45") == dt.time(9, 30)
    assert refused(clock_time, "9am") == "expected a time of day like 09:00, got '9am'"


def test_time_zones_are_iana_names() -> None:
    assert zone("Europe/Paris") == "Europe/Paris"
    assert refused(zone, "Mars/Olympus") == (
        "unknown time zone 'Mars/Olympus' (use an IANA name like Europe/Paris)")
