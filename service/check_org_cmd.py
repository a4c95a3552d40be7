"""``lifecycle-sync check``: is this org ready for the daemon? Everything ``check-config``
tries (configuration, state directory, key, CA, connections, login, GetTopic), then describe
calls for every object, field and picklist value the daemon needs
(:mod:`service.org_checks`). One ``ok:``/``FAILED:`` line per check on stdout, each failure
saying how to fix it.

Exit codes: 0 everything is in place; 1 the org lacks something (deploy the metadata or
assign the permission set, as the report says); 69 (EX_UNAVAILABLE) a connection, the login
or GetTopic failed; 78 (EX_CONFIG) invalid configuration or a local check failed.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from service.check_cmd import EX_UNAVAILABLE, config_and_local_checks
from service.config import Config
from service.run_cmd import EX_CONFIG, config_source_args


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "check", help="is the org ready? config, login, topics, objects, fields, permissions",
        description="Runs every check-config check, then describes each object the daemon "
                    "uses and reports each missing object, field or picklist value and each "
                    "field the integration user cannot write, with how to fix it.",
        epilog="exit codes: 0 all in place, 1 something is missing in the org (see the "
               "FAILED lines), 69 connection, login or GetTopic failed, 78 invalid "
               "configuration or a local check failed")
    config_source_args(p)
    p.set_defaults(func=_check)


def _check(args: argparse.Namespace) -> int:
    found = config_and_local_checks(args)
    if found is None or _report(found[1]):
        return EX_CONFIG
    config = found[0]
    from service.remote_checks import remote_checks  # loads grpc

    if _report(remote_checks(config)):
        return EX_UNAVAILABLE
    if _report(_org_results(config)):
        return 1
    print("the org is ready for lifecycle-sync")
    return 0


def _report(results: list[tuple[str, str | None]]) -> bool:
    for what, problem in results:
        print(f"ok: {what}" if problem is None else f"FAILED: {what}: {problem}")
    return any(problem is not None for _, problem in results)


def _org_results(config: Config) -> list[tuple[str, str | None]]:
    """Describe every object the daemon needs (Opportunity too when it creates them), then
    what describe cannot show: the converted Lead status and the Convert Leads permission."""
    from handlers.sf_client import ClientSettings, SalesforceClient
    from scheduler.sf_ops import JobsSalesforce
    from service.connections import session_provider
    from service.org_access import access_checks
    from service.org_checks import org_checks, required

    client = SalesforceClient(session_provider(config),
                              ClientSettings(ca_file=config.pubsub.ca_file))
    results = org_checks(_describer(client), required(config.apply.create_opportunity))
    return results + access_checks(JobsSalesforce(client).query, _user_id(client))


def _user_id(client: Any) -> str | None:
    """The integration user's ID (OpenID Connect userinfo), or None if it is not offered."""
    from handlers.errors import GatewayError

    try:
        info = client.rest_url("/services/oauth2/userinfo")
    except GatewayError:
        return None
    found = info.get("user_id") if isinstance(info, dict) else None
    return str(found) if found else None


def _describer(client: Any) -> Any:
    from handlers.errors import GatewayError

    def describe(name: str) -> Mapping[str, Any] | None:
        try:
            found: Mapping[str, Any] = client.rest("GET", f"sobjects/{name}/describe",
                                                   idempotent=True)
        except GatewayError as exc:
            if "NOT_FOUND" in str(getattr(exc, "error_class", "")) or "NOT_FOUND" in str(exc):
                return None
            raise
        return found

    return describe
