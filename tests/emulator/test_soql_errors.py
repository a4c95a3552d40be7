"""Schema errors: unknown objects, fields and relationships, and literals of the wrong type.

Salesforce rejects these before reading data, so every query here runs over no rows.
"""

from __future__ import annotations

import datetime as dt

import pytest

from emulator.catalog import Catalog, FieldDef, FieldType, ObjectDef, ObjectKind
from emulator.soql import SoqlError, execute, parse

T = FieldType
CATALOG = Catalog(
    [
        ObjectDef(
            "Lead",
            ObjectKind.STANDARD,
            "00Q",
            (
                FieldDef("Id", T.ID),
                FieldDef("Email", T.EMAIL),
                FieldDef("Status", T.PICKLIST, picklist_values=("Open",)),
                FieldDef("IsConverted", T.CHECKBOX),
                FieldDef(
                    "ConvertedAccountId",
                    T.LOOKUP,
                    reference_to="Account",
                    relationship_name="ConvertedAccount",
                ),
                FieldDef("CreatedDate", T.DATETIME),
                FieldDef("Trial_Expiration_Date__c", T.DATE),
                FieldDef("AnnualRevenue", T.CURRENCY),
                FieldDef("NumberOfEmployees", T.NUMBER),
                FieldDef("Description", T.LONG_TEXT_AREA),
            ),
        ),
        ObjectDef("Account", ObjectKind.STANDARD, "001", (FieldDef("Name", T.TEXT),)),
    ]
)
NO_SUCH_COLUMN = (
    "No such column '{}' on entity '{}'. If you are attempting to use a custom field, be sure "
    "to append the '__c' after the custom field name. Please reference your WSDL or the "
    "describe call for the appropriate names."
)
NOT_SUPPORTED = (
    "sObject type '{}' is not supported. If you are attempting to use a custom object, be sure "
    "to append the '__c' after the entity name. Please reference your WSDL or the describe call "
    "for the appropriate names."
)


def failure(soql: str) -> SoqlError:
    query = parse(soql)
    with pytest.raises(SoqlError) as caught:
        execute(query, CATALOG, [], now=dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
    return caught.value


def test_unknown_field_message_layout() -> None:
    error = failure("SELECT Id, Emial FROM Lead")
    assert error.error_code == "INVALID_FIELD"
    assert error.reason == NO_SUCH_COLUMN.format("Emial", "Lead")
    assert error.message == (
        "\nSELECT Id, Emial FROM Lead\n" + " " * 11 + "^\nERROR at Row:1:Column:12\n" + error.reason
    )


@pytest.mark.parametrize(
    ("soql", "column", "reason"),
    [
        ("SELECT Id FROM Lead WHERE Emial = 'x'", 27, NO_SUCH_COLUMN.format("Emial", "Lead")),
        ("SELECT Id FROM Lead ORDER BY Nme", 30, NO_SUCH_COLUMN.format("Nme", "Lead")),
        ("SELECT ConvertedAccount.Nme FROM Lead", 8, NO_SUCH_COLUMN.format("Nme", "Account")),
        ("SELECT ConvertedAccountId.Name FROM Lead", 8, "Didn't understand relationship"),
        ("SELECT Foo__r.Name FROM Lead", 8, "Didn't understand relationship 'Foo__r' in field"),
        ("SELECT Id FROM Lead WHERE Email = 'a' AND Bad = 1", 43, "No such column 'Bad'"),
    ],
)
def test_unknown_fields_and_relationships(soql: str, column: int, reason: str) -> None:
    error = failure(soql)
    assert error.error_code == "INVALID_FIELD"
    assert error.reason.startswith(reason)
    assert error.column == column


@pytest.mark.parametrize("soql", ["SELECT Id FROM Leed", "SELECT Bogus FROM Leed WHERE X = 1"])
def test_unknown_object_is_invalid_type_and_checked_first(soql: str) -> None:
    error = failure(soql)
    assert (error.error_code, error.reason, error.column) == (
        "INVALID_TYPE",
        NOT_SUPPORTED.format("Leed"),
        16 if "Id" in soql else 19,
    )


def test_names_are_case_insensitive() -> None:
    query = parse("select ID, EMAIL, convertedaccount.NAME from LEAD where ISCONVERTED = false")
    result = execute(query, CATALOG, [{"Id": "x", "Email": "e", "IsConverted": False}],
                     now=dt.datetime(2024, 1, 1, tzinfo=dt.UTC))  # fmt: skip
    assert result.records == [{"Id": "x", "Email": "e", "ConvertedAccount": None}]


TRIAL = "Trial_Expiration_Date__c"


def type_reason(field: str, kind: str) -> str:
    quotes = "be enclosed in quotes" if kind == "string" else "not be enclosed in quotes"
    return (
        f"value of filter criterion for field '{field}' must be of type {kind} and should {quotes}"
    )


@pytest.mark.parametrize(
    ("where", "reason"),
    [
        ("IsConverted = 'true'", type_reason("IsConverted", "boolean")),
        ("isconverted = 1", type_reason("IsConverted", "boolean")),
        ("Email = 5", type_reason("Email", "string")),
        ("Email = true", type_reason("Email", "string")),
        ("Status IN ('Open', 5)", type_reason("Status", "string")),
        ("AnnualRevenue = '5'", type_reason("AnnualRevenue", "double")),
        ("NumberOfEmployees > TODAY", type_reason("NumberOfEmployees", "double")),
        ("CreatedDate = 2024-01-01", type_reason("CreatedDate", "dateTime")),
        ("CreatedDate > '2024-01-01T00:00:00Z'", type_reason("CreatedDate", "dateTime")),
        ("Trial_Expiration_Date__c = 2024-01-01T00:00:00Z", type_reason(TRIAL, "date")),
        ("Trial_Expiration_Date__c = '2024-01-01'", type_reason(TRIAL, "date")),
        ("ConvertedAccount.Name = 1", type_reason("Name", "string")),
        ("AnnualRevenue LIKE '5%'", type_reason("AnnualRevenue", "double")),
        ("IsConverted LIKE 'true'", type_reason("IsConverted", "boolean")),
        ("Email LIKE 5", type_reason("Email", "string")),
        ("ConvertedAccountId LIKE '001%'", "invalid operator on id field"),
        ("Id LIKE '00Q%'", "invalid operator on id field"),
        ("Description = 'x'", "field 'Description' can not be filtered in a query call"),
    ],
)
def test_filter_type_errors(where: str, reason: str) -> None:
    error = failure(f"SELECT Id FROM Lead WHERE {where}")
    assert (error.error_code, error.reason) == ("INVALID_FIELD", reason)


@pytest.mark.parametrize(
    "where",
    [
        "Email = null",
        "IsConverted != null",
        "CreatedDate = null",
        "CreatedDate = LAST_N_DAYS:3",
        "Trial_Expiration_Date__c IN (TODAY, 2024-01-01, null)",
        "Status LIKE 'Op%'",
        "AnnualRevenue = 5",
        "NumberOfEmployees IN (1, 2.5)",
    ],
)
def test_well_typed_filters_pass(where: str) -> None:
    failure_free = execute(parse(f"SELECT Id FROM Lead WHERE {where}"), CATALOG, [],
                           now=dt.datetime(2024, 1, 1, tzinfo=dt.UTC))  # fmt: skip
    assert failure_free.total_size == 0


def test_long_text_cannot_be_sorted() -> None:
    error = failure("SELECT Id FROM Lead ORDER BY Description")
    assert error.reason == "field 'Description' can not be sorted in a query call"


def test_type_error_points_at_the_literal() -> None:
    error = failure("SELECT Id FROM Lead WHERE IsConverted = 'true'")
    assert (error.row, error.column) == (1, 41)
