"""query / queryAll over REST: paging by nextRecordsUrl paths, batch sizes, errors, shapes.

Research notes §2.3: ``{totalSize, done, records[, nextRecordsUrl]}``, ``nextRecordsUrl`` is a
path, batches default to 2,000 and follow ``Sforce-Query-Options: batchSize=N`` (200-2,000);
queryAll returns deleted rows; bad SOQL is MALFORMED_QUERY, bad columns INVALID_FIELD.
"""

from __future__ import annotations

import pytest
from conftest_org import OrgHarness, org_emulator_fixture, org_harness_fixture  # noqa: F401
from simple_salesforce.exceptions import SalesforceMalformedRequest


def make_leads(h: OrgHarness, tag: str, count: int) -> list[str]:
    records = [{"attributes": {"type": "Lead"}, "LastName": f"{tag}-{i:03d}", "Company": tag}
               for i in range(count)]
    ids: list[str] = []
    for start in range(0, count, 200):
        response = h.call("POST", "composite/sobjects",
                          json={"allOrNone": True, "records": records[start:start + 200]})
        ids += [r["id"] for r in response.json()]
    return ids


def test_small_batches_page_with_query_more_and_query_all(org_harness: OrgHarness) -> None:
    make_leads(org_harness, "paged", 7)
    org_harness.org.settings.query_batch_size = 3
    sf = org_harness.sf()
    soql = "SELECT Id, LastName FROM Lead WHERE Company = 'paged' ORDER BY LastName"

    first = sf.query(soql)
    assert (first["totalSize"], first["done"], len(first["records"])) == (7, False, 3)
    assert first["nextRecordsUrl"].startswith("/services/data/v62.0/query/01g")
    second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert (second["totalSize"], second["done"], len(second["records"])) == (7, False, 3)
    everything = sf.query_all(soql)
    assert [r["LastName"] for r in everything["records"]] == [f"paged-{i:03d}" for i in range(7)]


def test_batch_size_header_is_honoured(org_harness: OrgHarness) -> None:
    make_leads(org_harness, "batchhdr", 250)
    params = {"q": "SELECT Id FROM Lead WHERE Company = 'batchhdr'"}

    default = org_harness.call("GET", "query/", params=params).json()
    small = org_harness.call("GET", "query/", params=params,
                             headers={"Sforce-Query-Options": "batchSize=200"}).json()
    rest = org_harness.call("GET", small["nextRecordsUrl"].split("/v62.0/")[1]).json()

    assert (default["done"], len(default["records"])) == (True, 250)
    assert (small["done"], len(small["records"]), small["totalSize"]) == (False, 200, 250)
    assert (rest["done"], len(rest["records"]), "nextRecordsUrl" in rest) == (True, 50, False)


def test_query_all_includes_deleted_rows(org_harness: OrgHarness) -> None:
    [kept, dropped] = make_leads(org_harness, "bin", 2)
    org_harness.sf().Lead.delete(dropped)
    soql = "SELECT Id, IsDeleted FROM Lead WHERE Company = 'bin'"

    live = org_harness.sf().query(soql)["records"]
    everything = org_harness.sf().query_all(soql, include_deleted=True)["records"]

    assert [r["Id"] for r in live] == [kept]
    assert {(r["Id"], r["IsDeleted"]) for r in everything} == {(kept, False), (dropped, True)}


def test_records_carry_attributes_and_nested_parents(org_harness: OrgHarness) -> None:
    account = org_harness.create("Account", Name="Parent Co", Website="https://www.parent.io")
    contact = org_harness.create("Contact", LastName="Kid", AccountId=account)
    orphan = org_harness.create("Contact", LastName="Orphan")
    soql = ("SELECT LastName, Account.Name, CreatedDate FROM Contact "
            f"WHERE Id IN ('{contact}', '{orphan}') ORDER BY LastName")

    [kid, lone] = org_harness.sf().query(soql)["records"]

    assert kid == {
        "attributes": {"type": "Contact",
                       "url": f"/services/data/v62.0/sobjects/Contact/{contact}"},
        "LastName": "Kid",
        "Account": {"attributes": {"type": "Account",
                                   "url": f"/services/data/v62.0/sobjects/Account/{account}"},
                    "Name": "Parent Co"},
        "CreatedDate": kid["CreatedDate"],
    }
    assert kid["CreatedDate"].endswith(".000+0000")
    assert lone["Account"] is None


def test_case_insensitive_comparisons_and_count(org_harness: OrgHarness) -> None:
    org_harness.create("Lead", LastName="Mixed", Company="CaseCo", Email="Mixed.Case@Example.COM")
    sf = org_harness.sf()

    found = sf.query("SELECT Email FROM lead WHERE email = 'MIXED.case@example.com'")
    counted = sf.query("SELECT COUNT() FROM Lead WHERE Company LIKE 'caseco'")

    # Stored in lower case (Help 000384328), found whatever the case of the literal.
    assert [r["Email"] for r in found["records"]] == ["mixed.case@example.com"]
    assert (counted["totalSize"], counted["records"]) == (1, [])


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELECT Id FROM Lead WHERE Email = 'a' AND LastName = 'b' OR Company = 'c'",
         "MALFORMED_QUERY"),
        ("SELECT Shoe__c FROM Lead", "INVALID_FIELD"),
        ("SELECT Id FROM Nope__c", "INVALID_TYPE"),
    ],
)
def test_soql_errors(org_harness: OrgHarness, soql: str, code: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        org_harness.sf().query(soql)

    [error] = exc.value.content
    assert error["errorCode"] == code
    assert "ERROR at Row:1:Column:" in error["message"]


def test_unknown_locator_is_invalid_query_locator(org_harness: OrgHarness) -> None:
    response = org_harness.call("GET", "query/01g8d0000000000AAA-2000")

    assert response.status_code == 400
    assert response.json() == [{"message": "invalid query locator",
                                "errorCode": "INVALID_QUERY_LOCATOR"}]
