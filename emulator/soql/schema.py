"""Check a parsed query against the catalog before any row is read.

Salesforce refuses a query with an unknown object, field or relationship, or with a literal
of the wrong type, even when no row would be compared; so the whole query is checked up
front, in the order the text reads, and the first problem is reported with a caret. The
result, a :class:`Plan`, maps each field reference to its resolved :class:`Bound` path so
the evaluator never looks names up again.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from emulator.catalog import (
    NUMBER_TYPES,
    STRING_TYPES,
    Catalog,
    FieldDef,
    FieldType,
    ObjectDef,
    ObjectKind,
)
from emulator.soql.errors import (
    INVALID_FIELD,
    SoqlError,
    located,
    no_such_column,
    unknown_relationship,
    unsupported_type,
)
from emulator.soql.nodes import (
    And,
    BoolLit,
    Comparison,
    Condition,
    DateLit,
    DateTimeLit,
    FieldRef,
    InList,
    Not,
    NullLit,
    NumberLit,
    Or,
    Query,
    RangeLit,
    StringLit,
    Value,
)

# Field types LIKE applies to: strings that are not IDs.
ID_TYPES = frozenset({FieldType.ID, FieldType.LOOKUP, FieldType.MASTER_DETAIL})
LIKE_TYPES = STRING_TYPES - ID_TYPES
INVALID_QUERY_FILTER_OPERATOR = "INVALID_QUERY_FILTER_OPERATOR"


@dataclass(frozen=True)
class Hop:
    """One step up a relationship: read ``via`` (e.g. ConvertedAccountId), land on ``parent``."""

    via: FieldDef
    parent: str

    @property
    def key(self) -> str:
        """The relationship name as the catalog spells it, used as the nested record's key."""
        return self.via.relationship_name or self.via.name


@dataclass(frozen=True)
class Bound:
    """A field reference resolved to the reference fields to follow and the field to read."""

    hops: tuple[Hop, ...]
    leaf: FieldDef


@dataclass(frozen=True)
class Plan:
    """A query whose every name resolved: the FROM object and each reference's binding."""

    obj: ObjectDef
    fields: dict[FieldRef, Bound]

    def __getitem__(self, ref: FieldRef) -> Bound:
        return self.fields[ref]


def plan(query: Query, catalog: Catalog) -> Plan:
    """Resolve and type-check ``query``; raises INVALID_TYPE or INVALID_FIELD."""
    obj = catalog.get(query.sobject)
    if obj is None:
        raise unsupported_type(query.source, query.sobject_offset, query.sobject)
    fields: dict[FieldRef, Bound] = {}
    selected: set[tuple[str, ...]] = set()
    for ref in query.fields:
        fields[ref] = _bind(query.source, catalog, obj, ref)
        _check_not_selected_twice(selected, fields[ref], ref)
    for comparison in _comparisons(query.where):
        bound = _bind(query.source, catalog, obj, comparison.field)
        _check_filter(query.source, comparison, bound)
        fields[comparison.field] = bound
    for item in query.order_by:
        bound = _bind(query.source, catalog, obj, item.field)
        if bound.leaf.type is FieldType.LONG_TEXT_AREA:
            raise _cannot(query.source, item.field, bound.leaf, "sorted")
        fields[item.field] = bound
    return Plan(obj, fields)


def _comparisons(condition: Condition | None) -> Iterator[Comparison | InList]:
    """The leaf filters of a WHERE tree, left to right."""
    if isinstance(condition, And | Or):
        for operand in condition.operands:
            yield from _comparisons(operand)
    elif isinstance(condition, Not):
        yield from _comparisons(condition.operand)
    elif condition is not None:
        yield condition


# What a polymorphic relationship (Task.Who, Task.What) leads to in SOQL: Salesforce's "Name"
# object, with the target's Type (SOQL guide, "Understanding Polymorphic Keys and
# Relationships": "SELECT Id, Who.Type, What.Type FROM Task").
NAME_OBJECT = ObjectDef(
    name="Name", kind=ObjectKind.STANDARD, key_prefix="",
    fields=tuple(FieldDef(n, t) for n, t in (
        ("Id", FieldType.ID), ("Name", FieldType.TEXT), ("Type", FieldType.TEXT),
        ("FirstName", FieldType.TEXT), ("LastName", FieldType.TEXT), ("Email", FieldType.EMAIL),
        ("Phone", FieldType.PHONE), ("Title", FieldType.TEXT))),
)


def reference_targets(catalog: Catalog, via: FieldDef) -> list[ObjectDef]:
    """The objects a lookup may point to: one, or a polymorphic lookup's several."""
    names = via.polymorphic or (parent_object(via) or "",)
    out: list[ObjectDef] = []
    for name in names:
        if name == "*custom":
            out += [o for o in catalog if o.kind is ObjectKind.CUSTOM]
        elif (obj := catalog.get(name)) is not None:
            out.append(obj)
    return out


def parent_object(via: FieldDef) -> str | None:
    """The object a reference field points to; polymorphic Owner is taken to be a User."""
    if (via.relationship_name or "").lower() == "owner":
        return "User"
    return via.reference_to


def _bind(source: str, catalog: Catalog, obj: ObjectDef, ref: FieldRef) -> Bound:
    hops: list[Hop] = []
    current = obj
    for name in ref.path[:-1]:
        via = current.relationship(name)
        parent = catalog.get(parent_object(via) or "") if via else None
        if via is not None and via.polymorphic:
            parent = NAME_OBJECT
        if via is None or parent is None:
            raise unknown_relationship(source, ref.offset, name)
        hops.append(Hop(via, parent.name))
        current = parent
    leaf = current.field(ref.path[-1])
    if leaf is None:
        raise no_such_column(source, ref.offset, ref.path[-1], current.name)
    return Bound(tuple(hops), leaf)


def _check_not_selected_twice(seen: set[tuple[str, ...]], bound: Bound, ref: FieldRef) -> None:
    """A field selected twice (in any spelling) is refused: SOQL guide, FIELDS() page, shows
    ``400 [{"message": "duplicate field selected: Id", "errorCode": "INVALID_FIELD"}]``."""
    key = (*(hop.via.name for hop in bound.hops), bound.leaf.name)
    if key in seen:
        raise SoqlError(INVALID_FIELD, f"duplicate field selected: {'.'.join(ref.path)}")
    seen.add(key)


def _check_filter(source: str, node: Comparison | InList, bound: Bound) -> None:
    """Refuse what Salesforce refuses: unfilterable fields, LIKE on non-text, wrong types."""
    leaf = bound.leaf
    if leaf.type is FieldType.LONG_TEXT_AREA:
        raise _cannot(source, node.field, leaf, "filtered")
    values = node.values if isinstance(node, InList) else (node.value,)
    for value in values:
        if isinstance(node, Comparison) and node.op == "LIKE":
            _check_like(source, leaf, value)
        elif not _accepts(leaf, value):
            raise _wrong_type(source, leaf, value)
        elif leaf.type in ID_TYPES and isinstance(value, StringLit) and not _id_shaped(value):
            raise _invalid_id(source, value)


def _id_shaped(value: StringLit) -> bool:
    """15 or 18 ASCII letters and digits, or ``''``: what an ID literal must look like.

    The case is not checked: a case-altered ID is a valid literal that matches no record
    (salesforce.stackexchange.com/questions/50163: a lower-cased 18-character ID returns 0 rows).
    ``''`` is taken as null, as on text fields (README lists it as a guess: no source says
    whether Salesforce refuses ``AccountId = ''``).
    """
    text = value.value
    return text == "" or (len(text) in (15, 18) and text.isascii() and text.isalnum())


def _invalid_id(source: str, value: StringLit) -> SoqlError:
    """INVALID_QUERY_FILTER_OPERATOR "invalid ID field: <value>" with the caret (restforce
    issue #557; forcedotcom/salesforcedx-apex issue #153 shows the message and layout)."""
    return located(INVALID_QUERY_FILTER_OPERATOR, source, value.offset,
                   f"invalid ID field: {value.value}")


def _check_like(source: str, leaf: FieldDef, value: Value) -> None:
    if leaf.type in (FieldType.ID, FieldType.LOOKUP, FieldType.MASTER_DETAIL):
        raise located(INVALID_FIELD, source, value.offset, "invalid operator on id field")
    if leaf.type not in LIKE_TYPES or not isinstance(value, StringLit):
        raise _wrong_type(source, leaf, value)


def _type_name(leaf: FieldDef) -> str:
    """The type word Salesforce uses in 'must be of type X'."""
    if leaf.type in STRING_TYPES:
        return "string"
    if leaf.type in NUMBER_TYPES:
        return "double"
    return {FieldType.CHECKBOX: "boolean", FieldType.DATE: "date"}.get(leaf.type, "dateTime")


def _accepts(leaf: FieldDef, value: Value) -> bool:
    """Whether ``value`` is a literal of the field's type (null fits every type)."""
    accepted: dict[str, tuple[type, ...]] = {
        "string": (StringLit,),
        "double": (NumberLit,),
        "boolean": (BoolLit,),
        "date": (DateLit, RangeLit),
        "dateTime": (DateTimeLit, RangeLit),
    }
    return isinstance(value, (NullLit, *accepted[_type_name(leaf)]))


def _wrong_type(source: str, leaf: FieldDef, value: Value) -> SoqlError:
    kind = _type_name(leaf)
    quotes = "be enclosed in quotes" if kind == "string" else "not be enclosed in quotes"
    reason = (
        f"value of filter criterion for field '{leaf.name}' must be of type {kind} "
        f"and should {quotes}"
    )
    return located(INVALID_FIELD, source, value.offset, reason)


def _cannot(source: str, ref: FieldRef, leaf: FieldDef, what: str) -> SoqlError:
    reason = f"field '{leaf.name}' can not be {what} in a query call"
    return located(INVALID_FIELD, source, ref.offset, reason)
