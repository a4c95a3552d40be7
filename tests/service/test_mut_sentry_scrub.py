"""How Sentry groups what the daemon sends: one cause is one issue, named by the exception's
class and the Salesforce error code it carries (ours or simple-salesforce's), never by values
(mutation testing found the code lookup and the missing-type case unpinned)."""

from __future__ import annotations

from typing import Any

from service.sentry_scrub import fingerprint, scrub_event


class CodedError(Exception):
    def __init__(self, error_code: Any) -> None:
        super().__init__("refused")
        self.error_code = error_code


class SalesforceStyleError(Exception):
    """Like simple-salesforce's errors: the response body's list of errors as ``content``."""

    def __init__(self, content: Any) -> None:
        super().__init__("refused")
        self.content = content


def grouped(exc: Exception) -> list[str]:
    event = {"exception": {"values": [{"type": type(exc).__name__, "module": "tests"}]}}
    return list(scrub_event(event, (), {"exc_info": (type(exc), exc, None)})["fingerprint"])


def test_an_exception_carrying_our_error_code_is_grouped_by_class_and_code() -> None:
    assert grouped(CodedError("UNABLE_TO_LOCK_ROW")) == [
        "lifecycle-sync", "exception", "CodedError", "tests", "UNABLE_TO_LOCK_ROW"]


def test_a_simple_salesforce_error_is_grouped_by_the_code_in_its_response() -> None:
    exc = SalesforceStyleError([{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "x"}])
    assert grouped(exc) == ["lifecycle-sync", "exception", "SalesforceStyleError", "tests",
                            "REQUEST_LIMIT_EXCEEDED"]


def test_our_error_code_wins_over_the_response_body() -> None:
    exc = SalesforceStyleError([{"errorCode": "FROM_BODY"}])
    exc.error_code = "OURS"  # type: ignore[attr-defined]
    assert grouped(exc)[-1] == "OURS"


def test_an_error_code_that_is_free_text_leaves_the_default_stack_grouping() -> None:
    assert grouped(CodedError("lead ann@acme.example is locked")) == ["{{ default }}"]
    assert grouped(CodedError(42)) == ["{{ default }}"]
    assert grouped(SalesforceStyleError("not a list")) == ["{{ default }}"]
    assert grouped(ValueError("no code at all")) == ["{{ default }}"]


def test_an_event_without_an_exception_in_its_hint_keeps_its_tag_code() -> None:
    event = {"exception": {"values": [{"type": "X"}]}, "tags": {"error_code": "T"}}
    assert scrub_event(event, (), {"exc_info": None})["fingerprint"][-1] == "T"


def test_an_exception_without_a_type_is_grouped_with_an_empty_class() -> None:
    assert fingerprint({"exception": {"values": [{}]}}, "CODE") == [
        "lifecycle-sync", "exception", "", "", "CODE"]


def test_the_last_exception_of_a_chain_names_the_group() -> None:
    event = {"exception": {"values": [{"type": "Cause", "module": "a"},
                                      {"type": "Raised", "module": "b"}]}}
    assert fingerprint(event, "C") == ["lifecycle-sync", "exception", "Raised", "b", "C"]


def test_a_log_message_is_grouped_by_logger_template_and_the_cause_argument() -> None:
    event = {"logger": "lifecycle_sync", "logentry": {"message": "stopped: %s: %s",
                                                      "params": ["Fatal", "ann@acme.example"]}}
    assert fingerprint(event) == ["lifecycle-sync", "log", "lifecycle_sync", "stopped: %s: %s",
                                  "", "Fatal"]
    other = {"logger": "x", "logentry": {"message": "landed %d", "params": [5]}}
    assert fingerprint(other) == ["lifecycle-sync", "log", "x", "landed %d", ""]
