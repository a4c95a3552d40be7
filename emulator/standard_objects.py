"""The standard objects of the emulated org, the subset lifecycle-sync and its tests touch.

Field order is deliberate: Lead's order reproduces the field positions of Salesforce's
``LeadChangeEvent`` schema closely enough that the documented lead-conversion change event
(``changedFields ["0x08F81000"]``: Status, IsConverted, ConvertedDate, the three Converted*Id
fields and LastModifiedDate) comes out bit for bit. Fields change events leave out (Id,
IsDeleted, SystemModstamp, and derived fields such as the top-level person ``Name``) take no
position, so they may sit anywhere. Custom fields from our metadata are appended after these
by :func:`emulator.schema.build_catalog`.
"""

from __future__ import annotations

from emulator.catalog import FieldDef, FieldType, ObjectDef, ObjectKind

T = FieldType


def _f(name: str, ftype: FieldType, **kw: object) -> FieldDef:
    return FieldDef(name, ftype, kw.pop("label", name), **kw)  # type: ignore[arg-type]


def _ref(name: str, to: str, rel: str, system: bool = False) -> FieldDef:
    return FieldDef(name, T.LOOKUP, name, reference_to=to, relationship_name=rel, system=system)


def _audit() -> tuple[FieldDef, ...]:
    return (
        _f("CreatedDate", T.DATETIME, system=True),
        _ref("CreatedById", "User", "CreatedBy", system=True),
        _f("LastModifiedDate", T.DATETIME, system=True),
        _ref("LastModifiedById", "User", "LastModifiedBy", system=True),
        _f("SystemModstamp", T.DATETIME, system=True),
    )


def _person_name() -> FieldDef:
    """A person's ``Name`` ("First Last"), read-only, computed from FirstName and LastName."""
    return _f("Name", T.TEXT, length=121, system=True, derived=True)


def _head() -> tuple[FieldDef, ...]:
    return (_f("Id", T.ID, system=True), _f("IsDeleted", T.CHECKBOX, system=True, default=False))


LEAD_STATUSES = ("Open - Not Contacted", "Working - Contacted", "Closed - Converted",
                 "Closed - Not Converted")

LEAD = ObjectDef(
    name="Lead",
    kind=ObjectKind.STANDARD,
    key_prefix="00Q",
    fields=(
        *_head(),
        # Change-event positions start here: 0 is ChangeEventHeader, 1 is Name.
        _f("Salutation", T.PICKLIST, compound="Name",
           picklist_values=("Mr.", "Ms.", "Mrs.", "Dr.", "Prof.")),
        _f("FirstName", T.TEXT, length=40, compound="Name"),
        _f("LastName", T.TEXT, length=80, required=True, compound="Name"),
        _person_name(),  # derived: not in change events, where Name is the compound above
        _f("Title", T.TEXT, length=128),
        _f("Company", T.TEXT, length=255, required=True),
        _f("Street", T.TEXT_AREA, length=255, compound="Address"),
        _f("City", T.TEXT, length=40, compound="Address"),
        _f("State", T.TEXT, length=80, compound="Address"),
        _f("PostalCode", T.TEXT, length=20, compound="Address"),
        _f("Country", T.TEXT, length=80, compound="Address"),
        _f("Phone", T.PHONE, length=40),
        _f("MobilePhone", T.PHONE, length=40),
        _f("Fax", T.PHONE, length=40),
        _f("Email", T.EMAIL, length=80),
        _f("Website", T.URL, length=255),
        _f("Description", T.LONG_TEXT_AREA, length=32000),
        _f("LeadSource", T.PICKLIST,
           picklist_values=("Web", "Phone Inquiry", "Partner Referral", "Purchased List",
                            "Other", "Product Signup", "Marketo")),
        _f("Status", T.PICKLIST, picklist_values=LEAD_STATUSES, default="Open - Not Contacted"),
        _f("Industry", T.PICKLIST, picklist_values=("Technology", "Finance", "Other")),
        _f("Rating", T.PICKLIST, picklist_values=("Hot", "Warm", "Cold")),
        _f("AnnualRevenue", T.CURRENCY, precision=18, scale=0),
        _f("NumberOfEmployees", T.NUMBER, precision=8, scale=0),
        _ref("OwnerId", "User", "Owner"),
        _f("HasOptedOutOfEmail", T.CHECKBOX, default=False),
        _f("IsConverted", T.CHECKBOX, system=True, default=False),
        _f("ConvertedDate", T.DATE, system=True),
        _ref("ConvertedAccountId", "Account", "ConvertedAccount", system=True),
        _ref("ConvertedContactId", "Contact", "ConvertedContact", system=True),
        _ref("ConvertedOpportunityId", "Opportunity", "ConvertedOpportunity", system=True),
        _f("IsUnreadByOwner", T.CHECKBOX, default=True),
        *_audit(),
        _f("LastActivityDate", T.DATE, system=True),
    ),
)

ACCOUNT = ObjectDef(
    name="Account",
    kind=ObjectKind.STANDARD,
    key_prefix="001",
    fields=(
        *_head(),
        _f("Name", T.TEXT, length=255, required=True),
        _f("Website", T.URL, length=255),
        _f("Phone", T.PHONE, length=40),
        _f("Industry", T.PICKLIST, picklist_values=("Technology", "Finance", "Other")),
        _f("Type", T.PICKLIST, picklist_values=("Prospect", "Customer - Direct", "Other")),
        _f("Description", T.LONG_TEXT_AREA, length=32000),
        _ref("OwnerId", "User", "Owner"),
        *_audit(),
    ),
)

CONTACT = ObjectDef(
    name="Contact",
    kind=ObjectKind.STANDARD,
    key_prefix="003",
    fields=(
        *_head(),
        _ref("AccountId", "Account", "Account"),
        _f("Salutation", T.PICKLIST, picklist_values=("Mr.", "Ms.", "Mrs.", "Dr.", "Prof.")),
        _f("FirstName", T.TEXT, length=40),
        _f("LastName", T.TEXT, length=80, required=True),
        _person_name(),
        _f("Email", T.EMAIL, length=80),
        _f("Phone", T.PHONE, length=40),
        _f("Title", T.TEXT, length=128),
        _ref("OwnerId", "User", "Owner"),
        *_audit(),
    ),
)

OPPORTUNITY = ObjectDef(
    name="Opportunity",
    kind=ObjectKind.STANDARD,
    key_prefix="006",
    fields=(
        *_head(),
        _ref("AccountId", "Account", "Account"),
        _f("Name", T.TEXT, length=120, required=True),
        _f("StageName", T.PICKLIST, required=True,
           picklist_values=("Prospecting", "Qualification", "Closed Won", "Closed Lost")),
        _f("CloseDate", T.DATE, required=True),
        _f("Amount", T.CURRENCY, precision=18, scale=2),
        _ref("OwnerId", "User", "Owner"),
        *_audit(),
    ),
)

LEAD_STATUS = ObjectDef(
    name="LeadStatus",
    kind=ObjectKind.STANDARD,
    key_prefix="01J",
    fields=(
        *_head(),
        _f("MasterLabel", T.TEXT, length=255, required=True),
        _f("ApiName", T.TEXT, length=255),
        _f("SortOrder", T.NUMBER, precision=9, scale=0),
        _f("IsDefault", T.CHECKBOX, default=False),
        _f("IsConverted", T.CHECKBOX, default=False),
        *_audit(),
    ),
)

TASK = ObjectDef(
    name="Task",
    kind=ObjectKind.STANDARD,
    key_prefix="00T",
    fields=(
        *_head(),
        _f("Subject", T.TEXT, length=255),
        _f("Description", T.LONG_TEXT_AREA, length=32000),
        _f("Status", T.PICKLIST, required=True, default="Not Started",
           picklist_values=("Not Started", "In Progress", "Completed")),
        _f("Priority", T.PICKLIST, required=True, default="Normal",
           picklist_values=("High", "Normal", "Low")),
        _f("ActivityDate", T.DATE),
        # Object Reference, Task: WhoId is a Lead or Contact; WhatId an Account, Opportunity or
        # custom object (and must be empty when WhoId is a Lead).
        _f("WhoId", T.LOOKUP, reference_to="Lead", relationship_name="Who",
           polymorphic=("Lead", "Contact")),
        _f("WhatId", T.LOOKUP, reference_to="Account", relationship_name="What",
           polymorphic=("Account", "Opportunity", "*custom")),
        _ref("OwnerId", "User", "Owner"),
        *_audit(),
    ),
)

USER = ObjectDef(
    name="User",
    kind=ObjectKind.STANDARD,
    key_prefix="005",
    fields=(
        *_head(),
        _f("Username", T.TEXT, length=80, required=True, unique=True),
        _f("FirstName", T.TEXT, length=40),
        _f("LastName", T.TEXT, length=80, required=True),
        _person_name(),
        _f("Email", T.EMAIL, length=128, required=True),
        _f("IsActive", T.CHECKBOX, default=True),
        *_audit(),
    ),
)

ORGANIZATION = ObjectDef(
    name="Organization",
    kind=ObjectKind.STANDARD,
    key_prefix="00D",
    fields=(
        *_head(),
        _f("Name", T.TEXT, length=80, system=True),
        _f("InstanceName", T.TEXT, length=5, system=True),
        _f("IsSandbox", T.CHECKBOX, system=True, default=False),
        _f("OrganizationType", T.TEXT, length=40, system=True),
        *_audit(),
    ),
)

ASSIGNMENT_RULE = ObjectDef(
    # Object Reference, "AssignmentRule": read only (rules are made in Setup); clients query it
    # by name for the ID to send in the assignment rule header. Mirrors the admin API's rules.
    name="AssignmentRule",
    kind=ObjectKind.STANDARD,
    key_prefix="01Q",
    fields=(
        *_head(),
        _f("Name", T.TEXT, length=120, system=True),
        _f("SobjectType", T.PICKLIST, length=40, system=True, picklist_values=("Case", "Lead")),
        _f("Active", T.CHECKBOX, system=True, default=False),
        *_audit(),
    ),
)

STANDARD_OBJECTS: tuple[ObjectDef, ...] = (
    LEAD, ACCOUNT, CONTACT, OPPORTUNITY, LEAD_STATUS, TASK, USER, ORGANIZATION, ASSIGNMENT_RULE,
)
