"""Queries at the SOQL limits: conditions nested absurdly deep, OFFSET beyond 2,000.

Both are 400s with Salesforce's error body, never a 500: deep nesting is MALFORMED_QUERY (the
emulator parses 100 levels of parentheses and NOT; Salesforce's own limit is undocumented),
an OFFSET over 2,000 is NUMBER_OUTSIDE_VALID_RANGE "Maximum SOQL offset allowed is 2000".
"""

from __future__ import annotations

from urllib.parse import quote_plus

import pytest
from conftest_org import OrgHarness, org_emulator_fixture, org_harness_fixture  # noqa: F401

from emulator.soql import SoqlError, parse
from emulator.soql.parser import MAX_NESTING

BASE = "SELECT Id FROM Lead WHERE "


@pytest.mark.parametrize(("where", "at"), [
    ("NOT " * 1000 + "Email = 'a'", 4 * MAX_NESTING),
    ("(" * 1000 + "Email = 'a'" + ")" * 1000, MAX_NESTING),
    ("NOT (" * 600 + "Email = 'a'" + ")" * 600, 5 * MAX_NESTING // 2),
])
def test_deep_nesting_is_malformed_query(where: str, at: int) -> None:
    with pytest.raises(SoqlError) as exc:
        parse(BASE + where)

    assert exc.value.error_code == "MALFORMED_QUERY"
    assert exc.value.reason.startswith("Conditions are nested too deeply")
    assert exc.value.column == len(BASE) + at + 1  # the first token past the limit


def test_nesting_up_to_the_limit_parses() -> None:
    half = MAX_NESTING // 2
    query = parse(BASE + "NOT (" * half + "Email = 'a'" + ")" * half)

    assert query.where is not None


@pytest.mark.parametrize("where", ["NOT " * 5000 + "Email = 'a'",
                                   "(" * 5000 + "Email = 'a'" + ")" * 5000])
def test_deep_nesting_over_rest_is_a_400(org_harness: OrgHarness, where: str) -> None:
    # Over 16,384 bytes a GET URI is refused with 414 (Help 000386264), so the query travels in
    # a Composite body, the workaround that article gives.
    url = f"/services/data/v62.0/query/?q={quote_plus(BASE + where)}"
    response = org_harness.call("POST", "composite", json={"compositeRequest": [
        {"method": "GET", "url": url, "referenceId": "deep"}]})

    [entry] = response.json()["compositeResponse"]
    assert entry["httpStatusCode"] == 400
    assert entry["body"][0]["errorCode"] == "MALFORMED_QUERY"


def test_offset_over_2000_is_number_outside_valid_range(org_harness: OrgHarness) -> None:
    over = org_harness.call("GET", "query/", params={"q": "SELECT Id FROM Lead OFFSET 2001"})
    at_limit = org_harness.call("GET", "query/", params={"q": "SELECT Id FROM Lead OFFSET 2000"})

    assert over.status_code == 400
    assert over.json() == [{"message": "Maximum SOQL offset allowed is 2000",
                            "errorCode": "NUMBER_OUTSIDE_VALID_RANGE"}]
    assert at_limit.status_code == 200
