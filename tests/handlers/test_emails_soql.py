"""Domains (public-suffix aware, shared domains never match) and SOQL escaping in one place."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from handlers import soql
from handlers.emails import email_domain, is_shared_domain, registrable_domain, website_domain
from handlers.limits import SOQL_MAX_CHARS, URI_MAX_BYTES


@pytest.mark.parametrize(("host", "domain"), [
    ("mail.acme.co.uk", "acme.co.uk"), ("acme.com", "acme.com"), ("a.b.acme.com.au",
                                                                  "acme.com.au"),
    ("co.uk", None), ("", None),
])
def test_registrable_domain(host, domain):
    assert registrable_domain(host) == domain


@pytest.mark.parametrize(("site", "domain"), [
    ("https://www.acme.co.uk/about", "acme.co.uk"), ("www.acme.com", "acme.com"),
    ("http://shop.acme.com:8080", "acme.com"), ("", None), ("https://", None),
])
def test_website_domain(site, domain):
    assert website_domain(site) == domain


def test_shared_domains_from_maintained_lists():
    assert is_shared_domain("gmail.com")
    assert is_shared_domain("mailinator.com")
    assert not is_shared_domain("acme.co.uk")
    assert email_domain("x@mail.acme.co.uk") == "acme.co.uk"


@pytest.mark.parametrize(("value", "literal"), [
    ("O'Brien", "'O\\'Brien'"), ("a\\b", "'a\\\\b'"), ('say "hi"', "'say \\\"hi\\\"'"),
    ("line\nbreak", "'line\\nbreak'"), ("50%_off", "'50%_off'"),
    ("' OR Name != '", "'\\' OR Name != \\''"),
])
def test_quote_literal(value, literal):
    assert soql.quote_literal(value) == literal


def test_like_escapes_wildcards():
    assert soql.like_literal("%", "50%_off", "%") == "'%50\\%\\_off%'"


def test_literal_longer_than_soql_allows_is_refused():
    with pytest.raises(soql.LiteralTooLong):
        soql.quote_literal("x" * 4001)


def test_in_queries_split_to_fit_the_uri_limit():
    values = tuple(f"workspace-{i:05d}-{'x' * 40}" for i in range(2000))
    queries = soql.in_queries("/services/data/v62.0", "SELECT Id FROM Workspace__c",
                              [soql.Condition("Workspace_ID__c", values)])
    assert len(queries) > 1
    for q in queries:
        assert len(q) <= SOQL_MAX_CHARS
        assert len(f"/services/data/v62.0/query?q={quote(q, safe='')}") <= URI_MAX_BYTES
    covered = [v for v in values if any(soql.quote_literal(v) in q for q in queries)]
    assert covered == list(values)


def test_in_queries_or_conditions_and_suffix():
    [q] = soql.in_queries("/x", "SELECT Id FROM Lead",
                          [soql.Condition("Email", ("a@b.com",)), soql.Condition("Id", ()),
                           soql.Condition("Website", ("acme.com",), ("%", "%"))],
                          "IsDeleted = false")
    assert q == ("SELECT Id FROM Lead WHERE ((Email IN ('a@b.com')) OR "
                 "(Website LIKE '%acme.com%')) AND IsDeleted = false")
