"""Evaluator tests against a small org: operators, nulls, parents, ordering, paging, COUNT().

The rows are chosen so each expectation separates Salesforce's rule from the naive one
(case-sensitive text, nulls dropped by ``!=``, alphabetical picklists...).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from emulator.catalog import Catalog, FieldDef, FieldType, ObjectDef, ObjectKind
from emulator.soql import QueryResult, execute, parse

T = FieldType
NOW = dt.datetime(2024, 3, 13, 15, 30, tzinfo=dt.UTC)
ACME = "001000000000001AAA"
OWNER = "005000000000001AAA"
STATUSES = ("Open", "Working", "Closed - Converted")  # defined order, not alphabetical


def obj(name: str, prefix: str, *fields: FieldDef) -> ObjectDef:
    base = (FieldDef("Id", T.ID), FieldDef("IsDeleted", T.CHECKBOX))
    return ObjectDef(name, ObjectKind.STANDARD, prefix, base + fields)


def ref(name: str, to: str, rel: str) -> FieldDef:
    return FieldDef(name, T.LOOKUP, reference_to=to, relationship_name=rel)


CATALOG = Catalog(
    [
        obj(
            "Lead",
            "00Q",
            FieldDef("LastName", T.TEXT),
            FieldDef("Email", T.EMAIL),
            FieldDef("Status", T.PICKLIST, picklist_values=STATUSES),
            FieldDef("IsConverted", T.CHECKBOX),
            ref("ConvertedAccountId", "Account", "ConvertedAccount"),
            ref("OwnerId", "Group", "Owner"),
            FieldDef("CreatedDate", T.DATETIME),
            FieldDef("Trial_Expiration_Date__c", T.DATE),
            FieldDef("AnnualRevenue", T.CURRENCY),
            FieldDef("Description", T.LONG_TEXT_AREA),
        ),
        obj("Account", "001", FieldDef("Name", T.TEXT), FieldDef("Website", T.URL)),
        obj("User", "005", FieldDef("Email", T.EMAIL)),
        obj(
            "Event_Cache__c",
            "a01",
            FieldDef("Key__c", T.TEXT, case_sensitive=True),
            ref("Lead__c", "Lead", "Lead__r"),
        ),
    ]
)


def lead(last: str, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"Id": f"00Q00000000000{len(LEADS) + 1}AAA", "IsDeleted": False}
    row.update(LastName=last, **values)
    return row


LEADS: list[dict[str, Any]] = []
LEADS.append(
    lead(
        "O'Brien", Email="ob@acme.com", Status="Open", IsConverted=False, OwnerId=OWNER,
        CreatedDate=dt.datetime(2024, 3, 1, 10, tzinfo=dt.UTC),
        Trial_Expiration_Date__c=dt.date(2024, 3, 10), AnnualRevenue=1000.5,
    )
)  # fmt: skip
LEADS.append(
    lead(
        "Smith", Email="SMITH@globex.com", Status="Closed - Converted", IsConverted=True,
        ConvertedAccountId=ACME, CreatedDate=dt.datetime(2024, 3, 2, tzinfo=dt.UTC),
        AnnualRevenue=250000,
    )
)  # fmt: skip
LEADS.append(
    lead(
        "Null Person", Email=None, Status="Working", IsConverted=False, AnnualRevenue=None,
        ConvertedAccountId="001000000000099AAA",  # points at no account
        CreatedDate=dt.datetime(2024, 2, 15, tzinfo=dt.UTC),
    )
)  # fmt: skip
LEADS.append(lead("Gone", IsDeleted=True, Status="Open", IsConverted=False))

PARENTS = {
    ("Account", ACME): {"Id": ACME, "Name": "Globex Corp", "Website": "https://www.globex.com"},
    ("User", OWNER): {"Id": OWNER, "Email": "owner@example.com"},
}


def resolve(object_name: str, record_id: str) -> dict[str, Any] | None:
    return PARENTS.get((object_name, record_id))


def run(soql: str, rows: list[dict[str, Any]] | None = None, **kwargs: Any) -> QueryResult:
    kwargs.setdefault("resolve", resolve)
    return execute(parse(soql), CATALOG, LEADS if rows is None else rows, now=NOW, **kwargs)


def names(where: str, order: str = "") -> list[str]:
    result = run(f"SELECT LastName FROM Lead WHERE {where} {order}")
    return [record["LastName"] for record in result.records]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Email = 'ob@acme.com'", {"O'Brien"}),
        ("Email = 'OB@ACME.COM'", {"O'Brien"}),
        ("Email != 'ob@acme.com'", {"Smith", "Null Person"}),
        ("Email <> 'ob@acme.com'", {"Smith", "Null Person"}),
        ("AnnualRevenue > 1000", {"O'Brien", "Smith"}),
        ("AnnualRevenue > -1", {"O'Brien", "Smith"}),
        ("AnnualRevenue >= 1000.5", {"O'Brien", "Smith"}),
        ("AnnualRevenue < 1000.5", set()),
        ("AnnualRevenue <= 1000.5", {"O'Brien"}),
        ("AnnualRevenue = 250000.00", {"Smith"}),
        ("IsConverted = true", {"Smith"}),
        ("IsConverted = FALSE", {"O'Brien", "Null Person"}),
        ("Email = null", {"Null Person"}),
        ("Email != null", {"O'Brien", "Smith"}),
        ("Status IN ('open', 'Working')", {"O'Brien", "Null Person"}),
        ("Status NOT IN ('Open')", {"Smith", "Null Person"}),
        ("Email NOT IN ('ob@acme.com')", {"Smith", "Null Person"}),
        ("Email IN ('ob@acme.com', null)", {"O'Brien", "Null Person"}),
        ("Email LIKE '%@GLOBEX.com'", {"Smith"}),
        ("Email LIKE 'ob@acme.com'", {"O'Brien"}),
        ("Email LIKE 'ob@acme'", set()),
        (r"LastName LIKE 'o\'b%'", {"O'Brien"}),
        ("LastName LIKE '_mith'", {"Smith"}),
        ("LastName LIKE '%'", {"O'Brien", "Smith", "Null Person"}),
        ("NOT IsConverted = true", {"O'Brien", "Null Person"}),
        ("NOT (Status = 'Open' OR Status = 'Working')", {"Smith"}),
        ("(Status = 'Open' OR Status = 'Working') AND AnnualRevenue != null", {"O'Brien"}),
        ("Status = 'Open' OR (IsConverted = true AND AnnualRevenue > 5)", {"O'Brien", "Smith"}),
        ("CreatedDate > 2024-03-01T00:00:00Z", {"O'Brien", "Smith"}),
        ("CreatedDate < 2024-03-01T11:00:00+02:00", {"Null Person"}),
        ("CreatedDate = 2024-03-01T10:00:00.000+0000", {"O'Brien"}),
        ("CreatedDate = 2024-03-01T05:00:00-05:00", {"O'Brien"}),
        ("Trial_Expiration_Date__c = 2024-03-10", {"O'Brien"}),
        ("Trial_Expiration_Date__c < 2024-03-10", set()),
        ("Trial_Expiration_Date__c != 2024-03-10", {"Smith", "Null Person"}),
        ("Id = '00Q000000000001'", {"O'Brien"}),
        ("Id = '00Q000000000001AAA'", {"O'Brien"}),
        ("Id = '00q000000000001'", set()),
        ("ConvertedAccountId = '001000000000001'", {"Smith"}),
    ],
)
def test_operators(where: str, expected: set[str]) -> None:
    assert set(names(where)) == expected


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("ConvertedAccount.Name = 'globex corp'", {"Smith"}),
        ("ConvertedAccount.Name = null", {"O'Brien", "Null Person"}),
        ("ConvertedAccount.Name != null", {"Smith"}),
        ("ConvertedAccount.Name != 'Other'", {"Smith"}),
        ("ConvertedAccount.Name NOT IN ('Other')", {"Smith"}),
        ("ConvertedAccount.Name IN ('Other', null)", {"O'Brien", "Null Person"}),
        ("ConvertedAccount.Website LIKE '%globex.com%'", {"Smith"}),
        ("Owner.Email = 'owner@example.com'", {"O'Brien"}),
    ],
)
def test_parent_filters_exclude_missing_parents_except_null_tests(
    where: str, expected: set[str]
) -> None:
    assert set(names(where)) == expected


def test_case_sensitive_field_compares_exactly() -> None:
    rows = [{"Id": "a01000000000001AAA", "Key__c": "AbC"}]
    soql = "SELECT Key__c FROM Event_Cache__c WHERE Key__c = '{}'"
    assert run(soql.format("AbC"), rows).total_size == 1
    assert run(soql.format("abc"), rows).total_size == 0


def test_projection_nests_parents_in_select_order() -> None:
    result = run(
        "select lastname, convertedaccount.name, ID, ConvertedAccount.Website, owner.email "
        "from lead order by lastname"
    )
    assert result.records == [
        {"LastName": "Null Person", "ConvertedAccount": None, "Id": LEADS[2]["Id"], "Owner": None},
        {
            "LastName": "O'Brien",
            "ConvertedAccount": None,
            "Id": LEADS[0]["Id"],
            "Owner": {"Email": "owner@example.com"},
        },
        {
            "LastName": "Smith",
            "ConvertedAccount": {"Name": "Globex Corp", "Website": "https://www.globex.com"},
            "Id": LEADS[1]["Id"],
            "Owner": None,
        },
    ]
    assert list(result.records[2]) == ["LastName", "ConvertedAccount", "Id", "Owner"]


def test_custom_relationship_and_deleted_or_unresolvable_parents() -> None:
    rows = [
        {"Id": "a01000000000001AAA", "Lead__c": LEADS[0]["Id"]},
        {"Id": "a01000000000002AAA", "Lead__c": LEADS[3]["Id"]},
    ]
    by_id = {row["Id"]: row for row in LEADS}
    result = execute(
        parse("SELECT Id, Lead__r.Email FROM Event_Cache__c ORDER BY Id"), CATALOG, rows,
        now=NOW, resolve=lambda _obj, record_id: by_id.get(record_id),
    )  # fmt: skip
    assert [r["Lead__r"] for r in result.records] == [{"Email": "ob@acme.com"}, None]
    no_resolver = run("SELECT Lead__r.Email FROM Event_Cache__c", rows, resolve=None)
    assert no_resolver.records == [{"Lead__r": None}, {"Lead__r": None}]


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ("ORDER BY AnnualRevenue", ["Null Person", "O'Brien", "Smith"]),
        ("ORDER BY AnnualRevenue ASC NULLS LAST", ["O'Brien", "Smith", "Null Person"]),
        # SOQL guide, ORDER BY: "By default, null values are sorted first" (DESC included).
        ("ORDER BY AnnualRevenue DESC", ["Null Person", "Smith", "O'Brien"]),
        ("ORDER BY AnnualRevenue DESC NULLS LAST", ["Smith", "O'Brien", "Null Person"]),
        ("ORDER BY AnnualRevenue DESC NULLS FIRST", ["Null Person", "Smith", "O'Brien"]),
        ("ORDER BY Email", ["Null Person", "O'Brien", "Smith"]),
        ("ORDER BY Status", ["O'Brien", "Null Person", "Smith"]),
        ("ORDER BY Status DESC", ["Smith", "Null Person", "O'Brien"]),
        ("ORDER BY IsConverted, LastName DESC", ["O'Brien", "Null Person", "Smith"]),
        ("ORDER BY ConvertedAccount.Name DESC, LastName", ["Null Person", "O'Brien", "Smith"]),
        ("ORDER BY CreatedDate DESC", ["Smith", "O'Brien", "Null Person"]),
        ("ORDER BY LastName LIMIT 2", ["Null Person", "O'Brien"]),
        ("ORDER BY LastName LIMIT 2 OFFSET 1", ["O'Brien", "Smith"]),
        ("ORDER BY LastName OFFSET 2", ["Smith"]),
        ("ORDER BY LastName LIMIT 1 OFFSET 5", []),
        ("ORDER BY LastName LIMIT 0", []),
    ],
)
def test_order_limit_offset(order: str, expected: list[str]) -> None:
    assert names("IsDeleted = false", order) == expected
    assert run(f"SELECT Id FROM Lead {order}").total_size == len(expected)


def test_count() -> None:
    result = run("SELECT COUNT() FROM Lead")
    assert (result.total_size, result.is_count, result.records) == (3, True, [])
    assert run("SELECT count() FROM Lead WHERE IsConverted = false").total_size == 2
    assert run("SELECT COUNT() FROM Lead LIMIT 2").total_size == 2
    assert run("SELECT COUNT() FROM Lead", include_deleted=True).total_size == 4


def test_deleted_rows_only_with_include_deleted() -> None:
    soql = "SELECT LastName, IsDeleted FROM Lead WHERE IsDeleted = true"
    assert run(soql).records == []
    assert run(soql, include_deleted=True).records == [{"LastName": "Gone", "IsDeleted": True}]


def test_plain_query_returns_not_count() -> None:
    result = run("SELECT Id FROM Lead")
    assert (result.total_size, result.is_count, len(result.records)) == (3, False, 3)


def test_missing_keys_read_as_null() -> None:
    result = run("SELECT Email FROM Lead WHERE Email = null", [{"Id": "00Q000000000009AAA"}])
    assert result.records == [{"Email": None}]
