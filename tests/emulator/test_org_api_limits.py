"""Salesforce's documented request limits, enforced with the documented status (issue 7, Build 0).

Each assertion names its source; where the source gives the status but not the body, the body
checked is the emulator's (listed in README's differences).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote_plus

import pytest
from conftest_org import OrgHarness, org_emulator_fixture, org_harness_fixture  # noqa: F401

from emulator.org.api_limits import (
    COMPOSITE_MAX_QUERY_OR_COLLECTIONS,
    MAX_URI_AND_HEADERS_BYTES,
    SOQL_MAX_STATEMENT_CHARS,
    SOQL_MAX_WHERE_STRING_CHARS,
)

V = "/services/data/v62.0"
HELP_URI = "https://help.salesforce.com/s/articleView?id=000386264"
COMPOSITE_DOC = ("https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/"
                 "resources_composite_composite_post.htm")
SOQL_LIMITS_DOC = ("https://developer.salesforce.com/docs/atlas.en-us.salesforce_app_limits_"
                   "cheatsheet.meta/salesforce_app_limits_cheatsheet/"
                   "salesforce_app_limits_platform_soslsoql.htm")


def _query_of_length(total: int) -> str:
    """A valid query of exactly ``total`` characters: an IN list of short strings, padded."""
    head, tail = "SELECT Id FROM Lead WHERE LastName IN (", ")"
    values = [f"'n{i:06d}'" for i in range((total - len(head)) // 11 - 1)]
    body = ", ".join(values) + ", "
    query = head + body + "'" + "p" * (total - len(head) - len(body) - 2 - len(tail)) + "'" + tail
    assert len(query) == total
    return query


def test_uri_over_16384_bytes_is_414(org_harness: OrgHarness) -> None:
    values = ",".join(f"'lead{i:05d}@example.com'" for i in range(900))
    response = org_harness.call("GET", "query/",
                                params={"q": f"SELECT Id FROM Lead WHERE Email IN ({values})"})

    assert len(response.request.path_url) > MAX_URI_AND_HEADERS_BYTES
    # Help 000386264 (HELP_URI): the URI itself over 16,384 bytes -> 414
    assert response.status_code == 414, HELP_URI
    assert response.json()[0]["errorCode"] == "URI_TOO_LONG"


def test_uri_past_the_http_layer_buffer_is_a_json_414(org_harness: OrgHarness) -> None:
    response = org_harness.call("GET", "query/", params={"q": "x" * 70_000})

    assert response.status_code == 414, HELP_URI  # Help 000386264; JSON like every refusal
    assert response.json()[0]["errorCode"] == "URI_TOO_LONG"


def test_uri_plus_headers_over_16384_bytes_is_431(org_harness: OrgHarness) -> None:
    response = org_harness.call("GET", "limits/", headers={"X-Padding": "p" * 16_300})

    # Help 000386264 (HELP_URI): URI + headers over 16,384 bytes -> 431
    assert response.status_code == 431, HELP_URI
    assert response.json()[0]["errorCode"] == "REQUEST_HEADER_FIELDS_TOO_LARGE"


def test_uri_and_headers_under_the_limit_pass(org_harness: OrgHarness) -> None:
    response = org_harness.call("GET", "limits/", headers={"X-Padding": "p" * 12_000})

    # Help 000386264 (HELP_URI): the limit is 16,384 bytes, not less
    assert response.status_code == 200, HELP_URI


def _composite(h: OrgHarness, subs: list[dict[str, Any]]) -> Any:
    return h.call("POST", "composite", json={"allOrNone": False, "compositeRequest": subs})


def _query_sub(i: int) -> dict[str, Any]:
    return {"method": "GET", "referenceId": f"q{i}", "url": f"{V}/query/?q=SELECT+Id+FROM+Lead"}


def _collection_sub(i: int) -> dict[str, Any]:
    body = {"records": [{"attributes": {"type": "Account"}, "Name": f"Limit Acme {i}"}]}
    return {"method": "POST", "referenceId": f"c{i}", "url": f"{V}/composite/sobjects",
            "body": body}


@pytest.mark.parametrize(("queries", "collections"), [(6, 0), (0, 6), (3, 3), (7, 0)])
def test_composite_refuses_more_than_5_query_or_collections(
    org_harness: OrgHarness, queries: int, collections: int
) -> None:
    subs = [_query_sub(i) for i in range(queries)] + [_collection_sub(i) for i in
                                                       range(collections)]
    before = org_harness.org.counters.snapshot()["total"]
    response = _composite(org_harness, subs)

    # Composite guide (COMPOSITE_DOC): at most 5 query or sObject Collections subrequests
    assert response.status_code == 400, COMPOSITE_DOC
    assert response.json()["compositeResponse"][0]["body"][0]["errorCode"] == "LIMIT_EXCEEDED"
    assert org_harness.org.counters.snapshot()["total"] == before + 1  # still one API call
    found = org_harness.sf().query("SELECT COUNT() FROM Account WHERE Name LIKE 'Limit Acme%'")
    assert found["totalSize"] == 0  # nothing ran


def test_composite_runs_exactly_5_query_or_collections(org_harness: OrgHarness) -> None:
    subs = [_query_sub(i) for i in range(3)] + [_collection_sub(i) for i in range(2)]
    subs += [{"method": "GET", "referenceId": f"g{i}", "url": f"{V}/limits"} for i in range(20)]
    response = _composite(org_harness, subs)

    # Composite guide (COMPOSITE_DOC): 25 subrequests, 5 of them query or Collections, run
    assert COMPOSITE_MAX_QUERY_OR_COLLECTIONS == 5, COMPOSITE_DOC
    assert response.status_code == 200, COMPOSITE_DOC
    statuses = {e["httpStatusCode"] for e in response.json()["compositeResponse"]}
    assert statuses == {200}


def test_soql_statement_over_100000_chars_is_refused(org_harness: OrgHarness) -> None:
    too_long = quote_plus(_query_of_length(SOQL_MAX_STATEMENT_CHARS + 1))
    at_limit = quote_plus(_query_of_length(SOQL_MAX_STATEMENT_CHARS))
    entries = _composite(org_harness, [
        {"method": "GET", "referenceId": "over", "url": f"{V}/query/?q={too_long}"},
        {"method": "GET", "referenceId": "fine", "url": f"{V}/query/?q={at_limit}"},
    ]).json()["compositeResponse"]

    body = entries[0]
    # Limits cheatsheet (SOQL_LIMITS_DOC): SOQL statements hold at most 100,000 characters
    assert body["httpStatusCode"] == 400, SOQL_LIMITS_DOC
    assert body["body"][0]["errorCode"] == "MALFORMED_QUERY"
    assert "100000" in body["body"][0]["message"]
    assert entries[1]["httpStatusCode"] == 200, entries[1]["body"]


def test_where_string_over_4000_chars_is_refused(org_harness: OrgHarness) -> None:
    long_value = "x" * (SOQL_MAX_WHERE_STRING_CHARS + 1)
    at_limit = "x" * SOQL_MAX_WHERE_STRING_CHARS
    over = org_harness.call("GET", "query/",
                            params={"q": f"SELECT Id FROM Lead WHERE LastName = '{long_value}'"})
    fine = org_harness.call("GET", "query/",
                            params={"q": f"SELECT Id FROM Lead WHERE LastName = '{at_limit}'"})

    # Limits cheatsheet (SOQL_LIMITS_DOC): at most 4,000 characters per WHERE string
    assert over.status_code == 400, SOQL_LIMITS_DOC
    assert over.json()[0]["errorCode"] == "MALFORMED_QUERY"
    assert fine.status_code == 200
