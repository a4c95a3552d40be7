"""What to check when a login fails: rejected (by OAuth ``error`` code and flow) or never
answered (by the network cause: certificate, refused, unresolvable).

Salesforce's own descriptions (``invalid assertion``, ``authentication failure``) and the
network's (``certificate verify failed``) name the symptom, not the setting to fix; these
hints name the settings. Used by ``check-config`` and by ``run`` (a rejection stops the
daemon; an unreachable login is retried, and :class:`HintedLogin` says what to check).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from service.config import AuthConfig
from subscriber.auth import Session, TokenSource
from subscriber.errors import RetryLater

_JWT_GRANT = (
    "check that the key in auth.private_key_file belongs to the certificate uploaded to the "
    "connected app {client_id}, that auth.username ({username}) is pre-authorized for the "
    "app (admin-approved users, profile or permission set), and that auth.login_url is your "
    "My Domain, login. or test. as the org needs; and that this machine's clock is right "
    "(timedatectl): the assertion expires 3 minutes after this machine's time, so a clock "
    "about 3 minutes or more behind makes every login fail as invalid_grant"
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


def unreachable_login(message: str, ca_file: Path | None) -> str:
    """``"; <what to check>"`` for a login request that got no answer, or "" (no hint)."""
    where = ("auth.login_url" if "/services/oauth2/token failed" in message
             else "the instance URL the login named")
    if "certificate verify failed" in message:
        if ca_file is None:
            return ("; the system's CA roots do not trust that server: set pubsub.ca_file to "
                    "the CA that signed it")
        return f"; is pubsub.ca_file ({ca_file}) the CA that signed the server at {where}?"
    if any(cause in message for cause in ("connection refused", "cannot resolve",
                                          "timed out", "no route to host")):
        return f"; is {where} right (host and port), and reachable from here?"
    return ""


@dataclass(frozen=True)
class HintedLogin:
    """A token source whose unreachable-login errors name the setting to check, as
    ``check-config`` does; rejections (:class:`Fatal`) get theirs where they stop the daemon."""

    source: TokenSource
    ca_file: Path | None

    def fetch(self) -> Session:
        try:
            return self.source.fetch()
        except RetryLater as exc:
            hint = unreachable_login(str(exc), self.ca_file)
            if not hint:
                raise
            raise RetryLater(f"{exc}{hint}", error_code=exc.error_code,
                             rpc_id=exc.rpc_id) from None
