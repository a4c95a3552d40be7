"""Lead conversion with Salesforce's semantics, inside the call's record transaction.

The order of writes is Salesforce's (Account, Contact, Opportunity created, then the Lead
updated), so the change events of a conversion get the documented sequence numbers and the
Lead's ``changedFields`` come out as in the CDC guide. A lead's failure is a per-record
:class:`~emulator.org.errors.DmlError`; the caller rolls back only that lead's writes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from emulator.ids import is_valid, to18
from emulator.org.dml import CONVERTED
from emulator.org.errors import DmlError
from emulator.org.records import RecordTransaction
from emulator.org.runtime import Org
from emulator.standard_objects import LEAD_STATUSES

DEFAULT_CONVERTED_STATUS = "Closed - Converted"
OPPORTUNITY_NAME_MAX = 120
# Standard lead field mapping (Setup > Lead Fields > Map Lead Fields), per target object;
# only pairs whose target field exists in the catalog are applied.
ACCOUNT_MAP = {"Name": "Company", "Website": "Website", "Phone": "Phone", "Industry": "Industry",
               "AnnualRevenue": "AnnualRevenue", "NumberOfEmployees": "NumberOfEmployees",
               "Rating": "Rating", "Fax": "Fax", "BillingStreet": "Street", "BillingCity": "City",
               "BillingState": "State", "BillingPostalCode": "PostalCode",
               "BillingCountry": "Country"}
CONTACT_MAP = {"Salutation": "Salutation", "FirstName": "FirstName", "LastName": "LastName",
               "Title": "Title", "Email": "Email", "Phone": "Phone", "MobilePhone": "MobilePhone",
               "Fax": "Fax", "LeadSource": "LeadSource", "Description": "Description",
               "HasOptedOutOfEmail": "HasOptedOutOfEmail", "MailingStreet": "Street",
               "MailingCity": "City", "MailingState": "State", "MailingPostalCode": "PostalCode",
               "MailingCountry": "Country"}
OPPORTUNITY_MAP = {"LeadSource": "LeadSource"}


@dataclass(frozen=True)
class LeadConvert:
    """One ``leadConverts`` element (partner WSDL LeadConvert), with absent booleans false."""

    lead_id: str | None
    converted_status: str | None
    account_id: str | None = None
    contact_id: str | None = None
    opportunity_id: str | None = None
    do_not_create_opportunity: bool = False
    opportunity_name: str | None = None
    overwrite_lead_source: bool = False
    owner_id: str | None = None


@dataclass(frozen=True)
class Converted:
    """A successful conversion's IDs (``opportunity_id`` None when none was made)."""

    lead_id: str
    account_id: str
    contact_id: str
    opportunity_id: str | None


def convert_lead(org: Org, tx: RecordTransaction, request: LeadConvert) -> Converted:
    """Convert one lead inside ``tx``; raises DmlError with the lead's errors."""
    lead = _lead(tx, request.lead_id)
    _check_status(tx, request.converted_status)
    account = _existing(tx, "Account", request.account_id, "accountId")
    contact = _existing(tx, "Contact", request.contact_id, "contactId")
    opportunity = _existing(tx, "Opportunity", request.opportunity_id, "opportunityId")
    _check_relations(account, contact, opportunity)
    owner = _existing(tx, "User", request.owner_id, "ownerId")
    for operation in ("convertLead", "update"):
        fault = org.faults.record_fault(operation, "Lead", str(lead["Id"]))
        if fault is not None:
            raise DmlError([fault])
    owner_id = str(owner["Id"]) if owner else str(lead.get("OwnerId") or tx.user_id)
    account_id = _account(tx, lead, account, owner_id)
    contact_id = _contact(tx, lead, contact, account_id, owner_id, request.overwrite_lead_source)
    opportunity_id = _opportunity(tx, lead, opportunity, request, account_id, owner_id)
    tx.update("Lead", str(lead["Id"]), {
        "Status": request.converted_status, "IsConverted": True,
        "ConvertedDate": dt.datetime.now(dt.UTC).date(), "ConvertedAccountId": account_id,
        "ConvertedContactId": contact_id, "ConvertedOpportunityId": opportunity_id,
    })
    return Converted(str(lead["Id"]), account_id, contact_id, opportunity_id)


def _lead(tx: RecordTransaction, lead_id: str | None) -> dict[str, Any]:
    """The lead to convert, or the per-record error Salesforce gives for it."""
    if not lead_id:
        raise DmlError.one("REQUIRED_FIELD_MISSING", "Required fields are missing: [leadId]",
                           ["leadId"])
    if not is_valid(lead_id):
        raise DmlError.one("MALFORMED_ID", f"Lead ID: id value of incorrect type: {lead_id}",
                           ["leadId"])
    lead = _record(tx, "Lead", lead_id, "leadId")
    if lead.get("IsConverted"):
        raise DmlError([CONVERTED])
    return lead


def _record(tx: RecordTransaction, object_name: str, record_id: str, where: str) -> dict[str, Any]:
    """The live record; INVALID_CROSS_REFERENCE_KEY when unknown or of another object."""
    obj = tx.catalog.get(object_name)
    assert obj is not None
    found = tx.get(obj.name, to18(record_id), include_deleted=True)
    if found is None or record_id[:3] != obj.key_prefix:
        raise DmlError.one("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [where])
    if found.get("IsDeleted"):
        raise DmlError.one("ENTITY_IS_DELETED", "entity is deleted", [where])
    return found


def _existing(tx: RecordTransaction, object_name: str, record_id: str | None,
              where: str) -> dict[str, Any] | None:
    """An optional target record named by the request; None when not given."""
    if not record_id:
        return None
    if not is_valid(record_id):
        raise DmlError.one("MALFORMED_ID", f"{where}: id value of incorrect type: {record_id}",
                           [where])
    return _record(tx, object_name, record_id, where)


def _check_status(tx: RecordTransaction, status: str | None) -> None:
    """``convertedStatus`` must name a LeadStatus whose IsConverted is true."""
    if status not in converted_statuses(tx):
        raise DmlError.one("INVALID_STATUS", f"invalid convertedStatus: {status or ''}",
                           ["Status"])


def converted_statuses(tx: RecordTransaction) -> set[str]:
    """Labels (MasterLabel and ApiName) of converted statuses; a default org's when unseeded."""
    rows = [r for r in tx.rows("LeadStatus") if not r.get("IsDeleted")]
    if not rows:
        return {DEFAULT_CONVERTED_STATUS} if DEFAULT_CONVERTED_STATUS in LEAD_STATUSES else set()
    return {str(r[k]) for r in rows if r.get("IsConverted") for k in ("MasterLabel", "ApiName")
            if r.get(k)}


def _check_relations(account: dict[str, Any] | None, contact: dict[str, Any] | None,
                     opportunity: dict[str, Any] | None) -> None:
    """An existing Contact or Opportunity needs the Account it belongs to."""
    for child, name in ((contact, "contactId"), (opportunity, "opportunityId")):
        if child is None:
            continue
        if account is None:
            raise DmlError.one("INVALID_CROSS_REFERENCE_KEY",
                               f"{name} can be specified only together with accountId", [name])
        if child.get("AccountId") != account["Id"]:
            raise DmlError.one("FIELD_INTEGRITY_EXCEPTION",
                               f"The {name[:-2]} isn't associated with the selected account",
                               [name])


def _mapped(tx: RecordTransaction, target: str, mapping: dict[str, str],
            lead: dict[str, Any]) -> dict[str, Any]:
    """Lead values for ``target`` through the field mapping, skipping empty ones."""
    obj = tx.catalog.get(target)
    assert obj is not None
    return {t: lead[s] for t, s in mapping.items()
            if obj.field(t) is not None and lead.get(s) is not None}


def _fill_empty(tx: RecordTransaction, target: str, record: dict[str, Any],
                values: dict[str, Any]) -> None:
    """Merge into an existing record: only fields that are empty there are filled."""
    fill = {k: v for k, v in values.items() if record.get(k) is None}
    if fill:
        tx.update(target, str(record["Id"]), fill)


def _account(tx: RecordTransaction, lead: dict[str, Any], account: dict[str, Any] | None,
             owner_id: str) -> str:
    """The Account the lead converts into: the given one (filled where empty) or a new one."""
    values = _mapped(tx, "Account", ACCOUNT_MAP, lead)
    if account is not None:
        _fill_empty(tx, "Account", account, values)
        return str(account["Id"])
    if not values.get("Name"):
        values["Name"] = _person_name(lead)
    return tx.insert("Account", {**values, "OwnerId": owner_id})


def _contact(tx: RecordTransaction, lead: dict[str, Any], contact: dict[str, Any] | None,
             account_id: str, owner_id: str, overwrite_source: bool) -> str:
    """The Contact: the given one (filled where empty) or a new one on the account."""
    values = _mapped(tx, "Contact", CONTACT_MAP, lead)
    if contact is None:
        return tx.insert("Contact", {**values, "AccountId": account_id, "OwnerId": owner_id})
    _fill_empty(tx, "Contact", contact, values)
    if overwrite_source and "LeadSource" in values:
        tx.update("Contact", str(contact["Id"]), {"LeadSource": values["LeadSource"]})
    return str(contact["Id"])


def _opportunity(tx: RecordTransaction, lead: dict[str, Any], opportunity: dict[str, Any] | None,
                 request: LeadConvert, account_id: str, owner_id: str) -> str | None:
    """The Opportunity: the given one, none when asked for none, else a new one."""
    if opportunity is not None:
        return str(opportunity["Id"])
    if request.do_not_create_opportunity:
        return None
    name = request.opportunity_name or str(lead.get("Company") or _person_name(lead))
    today = dt.datetime.now(dt.UTC).date()
    values = {
        **_mapped(tx, "Opportunity", OPPORTUNITY_MAP, lead),
        "Name": name[:OPPORTUNITY_NAME_MAX], "AccountId": account_id, "OwnerId": owner_id,
        "StageName": _first_open_stage(tx), "CloseDate": _end_of_quarter(today),
    }
    return tx.insert("Opportunity", values)


def _first_open_stage(tx: RecordTransaction) -> str:
    """The first stage of the picklist, which Salesforce uses for converted opportunities."""
    obj = tx.catalog.get("Opportunity")
    field = obj.field("StageName") if obj else None
    return field.picklist_values[0] if field and field.picklist_values else "Prospecting"


def _end_of_quarter(day: dt.date) -> dt.date:
    """The close date Salesforce gives a converted opportunity: the quarter's last day."""
    last_month = (day.month - 1) // 3 * 3 + 3
    first_next = dt.date(day.year + last_month // 12, last_month % 12 + 1, 1)
    return first_next - dt.timedelta(days=1)


def _person_name(lead: dict[str, Any]) -> str:
    return " ".join(str(p) for p in (lead.get("FirstName"), lead.get("LastName")) if p)
