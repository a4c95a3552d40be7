"""What to check when Salesforce rejects a login, by its OAuth ``error`` code and flow.

Salesforce's own descriptions (``invalid assertion``, ``authentication failure``) name the
symptom, not the setting to fix; these hints name the settings. Used by ``check-config`` and
by ``run`` when a login rejection stops the daemon.
"""

from __future__ import annotations

from service.config import AuthConfig

_JWT_GRANT = (
    "check that the key in auth.private_key_file belongs to the certificate uploaded to the "
    "connected app {client_id}, that auth.username ({username}) is pre-authorized for the "
    "app (admin-approved users, profile or permission set), and that auth.login_url is your "
    "My Domain, login. or test. as the org needs"
)
_HINTS = {
    ("jwt", "invalid_grant"): _JWT_GRANT,
    ("password", "invalid_grant"): (
        "the username or password was refused: check auth.username, auth.password_file "
        "(append the security token unless the IP is trusted) and that the org allows the "
        "username-password flow"),
    ("client_credentials", "invalid_grant"): (
        "the app has no run-as user, or client credentials are off for it: enable the client "
        "credentials flow and set a run-as user on the connected app"),
    ("*", "invalid_client_id"): (
        "auth.client_id ({client_id}) is not a consumer key this org knows: copy the app's "
        "Consumer Key, and log in at the org where the app lives"),
    ("*", "invalid_client"): (
        "the client ID and secret do not match: check auth.client_id and "
        "auth.client_secret_file (the Consumer Secret)"),
    ("*", "unsupported_grant_type"): (
        "the org refuses the {mode} flow at this login URL (client_credentials needs your My "
        "Domain URL; username-password is blocked in orgs created since Summer '23)"),
    ("*", "invalid_request"): "the request was malformed: check auth.login_url and auth.mode",
}


def login_failure(error_code: str, cfg: AuthConfig) -> str:
    """``"; <what to check>"`` for a rejected login, or "" when there is no hint."""
    hint = _HINTS.get((cfg.mode, error_code)) or _HINTS.get(("*", error_code))
    if hint is None:
        return ""
    return "; " + hint.format(client_id=cfg.client_id, username=cfg.username, mode=cfg.mode)
