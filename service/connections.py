"""How the daemon reaches Salesforce: the login flow ``auth.mode`` names, one session
provider for gRPC, REST and SOAP alike, and the intake's stream settings."""

from __future__ import annotations

from pathlib import Path

from service.config import AuthConfig, Config, Secret
from service.hints import HintedLogin
from subscriber import auth, oauth
from subscriber.errors import Fatal
from subscriber.settings import IntakeSettings, ReplayPolicy, StartFrom


def token_source(cfg: AuthConfig, ca_file: Path | None) -> auth.TokenSource:
    """The OAuth flow (or static token) ``auth.mode`` names; the config checked its keys."""
    if cfg.mode == "static_token":
        return auth.StaticToken(auth.Session(
            access_token=_reveal(cfg.access_token), instance_url=cfg.instance_url,
            org_id=cfg.tenant_id))
    endpoint = oauth.OAuthEndpoint(cfg.login_url, ca_file=ca_file, timeout_s=cfg.timeout_s)
    if cfg.mode == "jwt":
        return oauth.JwtBearer(endpoint, cfg.client_id, cfg.username, _secret(cfg.private_key))
    if cfg.mode == "client_credentials":
        return oauth.ClientCredentials(endpoint, cfg.client_id, _secret(cfg.client_secret))
    return oauth.UsernamePassword(endpoint, cfg.client_id, _secret(cfg.client_secret),
                                  cfg.username, _secret(cfg.password))


def intake_settings(config: Config) -> IntakeSettings:
    p = config.pubsub
    return IntakeSettings(
        endpoint=p.endpoint, topics=p.topics, ca_file=p.ca_file, keepalive_s=p.keepalive_s,
        watchdog_margin_s=p.watchdog_margin_s, batch_size=p.batch_size,
        backoff_initial_s=p.backoff_initial_s, backoff_max_s=p.backoff_max_s,
        on_invalid_replay=ReplayPolicy(p.on_invalid_replay), start_from=StartFrom(p.start_from),
        ping_interval_s=p.ping_interval_s, ping_timeout_s=p.ping_timeout_s,
        max_receive_bytes=p.max_receive_bytes,
    )


def _secret(value: Secret | None) -> auth.Secret:
    return auth.Secret(_reveal(value))


def _reveal(value: Secret | None) -> str:
    if value is None:  # load_config guarantees the secrets each mode needs
        raise Fatal("a required secret is missing")
    return value.reveal()


def session_provider(config: Config) -> auth.SessionProvider:
    """One login for everything (gRPC, REST, SOAP), refreshed single-flight."""
    login = HintedLogin(token_source(config.auth, config.pubsub.ca_file), config.pubsub.ca_file)
    return auth.SessionProvider(login, backoff_initial_s=config.pubsub.backoff_initial_s,
                                backoff_max_s=config.pubsub.backoff_max_s)


def stale_after_s(config: Config) -> float:
    """Silence on a topic longer than this means the intake is wedged, not merely idle."""
    p = config.pubsub
    return p.keepalive_s + p.watchdog_margin_s + p.backoff_max_s + p.ping_interval_s
