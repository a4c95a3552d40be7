"""What ``lifecycle-sync check`` verifies beyond describe: that the integration user can read
the converted Lead status and may convert Leads.

- The converted ``LeadStatus``: the daemon's own query (``handlers.gateway_reads``) must
  return a row, or every conversion fails.
- The Convert Leads permission (``PermissionsConvertLeads``), which describe does not show:
  ``PermissionSetAssignment`` joined to ``PermissionSet`` covers both the user's profile
  (its permission set has ``IsOwnedByProfile``) and the assigned permission sets. An org or
  emulator that cannot answer that query (``INVALID_TYPE``) gets an ok line that says it was
  not verified and how to check by hand: a guess is not a failure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from handlers.errors import GatewayError
from handlers.gateway_reads import STATUS_QUERY
from handlers.soql import quote_literal
from service.org_checks import ASSIGN, Check

Query = Callable[[str], list[dict[str, Any]]]
LEAD_STATUS_FIX = ("add a Lead status marked Converted (Setup > Lead Status) and let the "
                   "integration user read LeadStatus")
CONVERT_BY_HAND = ("check by hand that the integration user's profile or a permission set "
                   "grants Convert Leads (Lifecycle_Sync_Integration does)")


def access_checks(query: Query, user_id: str | None) -> list[Check]:
    """The converted Lead status, then the Convert Leads permission (when the user is known)."""
    results = [_converted_status(query)]
    if user_id:
        results.append(_convert_permission(query, user_id))
    return results


def _converted_status(query: Query) -> Check:
    what = "converted Lead status readable (LeadStatus WHERE IsConverted = true)"
    try:
        rows = query(STATUS_QUERY)
    except GatewayError as exc:
        return what, f"cannot read it ({exc}): {LEAD_STATUS_FIX}"
    if not rows:
        return what, f"no converted status found: {LEAD_STATUS_FIX}"
    return f"{what}: {rows[0].get('MasterLabel')!r}", None


def _convert_permission(query: Query, user_id: str) -> Check:
    what = "Convert Leads permission of the integration user"
    soql = ("SELECT PermissionSet.Name FROM PermissionSetAssignment WHERE AssigneeId = "  # noqa: S608 - escaped by quote_literal
            f"{quote_literal(user_id)} AND PermissionSet.PermissionsConvertLeads = true LIMIT 1")
    try:
        rows = query(soql)
    except GatewayError as exc:
        if "INVALID_TYPE" in str(exc) or "INVALID_FIELD" in str(exc):
            return f"{what}: not verifiable in this org ({type(exc).__name__}); " \
                   f"{CONVERT_BY_HAND}", None
        return what, f"cannot check it ({exc}); {CONVERT_BY_HAND}"
    if not rows:
        return what, f"missing: conversions will fail; {ASSIGN}"
    return f"{what}: granted", None
