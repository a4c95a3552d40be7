"""``check-config``'s network checks: reach each endpoint as ``run`` would, change nothing.

In order: a TCP connection and TLS handshake (with the configured CA) to the Pub/Sub endpoint
and to the login URL, one login, a handshake with the instance the login names, then
GetTopic for each topic (read-only: it proves the session, the endpoint and the permission
to subscribe). Each failure is one sentence: what was tried, what failed, what to check.
"""

from __future__ import annotations

import socket
import ssl
from pathlib import Path
from urllib.parse import urlsplit

from service.config import Config
from service.hints import login_failure
from subscriber import auth
from subscriber.errors import Fatal, SubscriberError

CONNECT_TIMEOUT_S = 10.0


def tls_problem(host: str, port: int, ca_file: Path | None, what: str,
                grpc: bool = False) -> str | None:
    """Connect to ``host:port`` and complete a verified TLS handshake; why not, or None.
    ``grpc``: the server must also agree to HTTP/2 (ALPN ``h2``), as gRPC needs; an HTTPS
    port that only speaks HTTP/1.1 (e.g. the REST port) fails here, with a hint."""
    target = f"{host}:{port}"
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    if grpc:
        context.set_alpn_protocols(["h2"])
    try:
        with (socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S) as raw,
              context.wrap_socket(raw, server_hostname=host) as tls):
            if grpc and tls.selected_alpn_protocol() != "h2":
                return (f"{target} completed the TLS handshake but does not speak HTTP/2 "
                        f"(no ALPN h2), so it is no gRPC server; is {what} the Pub/Sub port, "
                        "not an HTTPS/REST one?")
            return None
    except socket.gaierror as exc:
        return f"cannot resolve {host} ({what}): {exc.strerror}; check the host name and DNS"
    except ConnectionRefusedError:
        return (f"TCP connection to {target} refused: nothing listens there; is {what} "
                "right (host and port)?")
    except TimeoutError:
        return (f"no answer from {target} within {CONNECT_TIMEOUT_S:.0f} s; is {what} right, "
                "and does the firewall allow outbound connections to that port?")
    except ssl.SSLCertVerificationError as exc:
        trust = (f"is pubsub.ca_file ({ca_file}) the CA that signed this server?" if ca_file
                 else "the system's CA roots do not trust it; set pubsub.ca_file to its CA")
        return f"TLS handshake with {target} failed: {exc.verify_message}; {trust}"
    except ssl.SSLError as exc:
        return (f"TLS handshake with {target} failed ({exc.reason or exc}); is {what} a TLS "
                "port?")
    except OSError as exc:
        return f"cannot connect to {target} ({what}): {exc.strerror or exc}"


def url_problem(url: str, ca_file: Path | None, what: str) -> str | None:
    """:func:`tls_problem` for an https:// URL (plain http:// gets a TCP connect only)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "http":
        try:
            with socket.create_connection((host, parts.port or 80), timeout=CONNECT_TIMEOUT_S):
                return None
        except OSError as exc:
            return f"cannot connect to {url} ({what}): {exc.strerror or exc}"
    return tls_problem(host, parts.port or 443, ca_file, what)


def remote_checks(config: Config, login: bool = True) -> list[tuple[str, str | None]]:
    """(what was checked, problem or None) for every network check, in order; a check whose
    prerequisite failed is not attempted. ``login=False``: the connections only (the
    credentials are known to be unusable)."""
    results: list[tuple[str, str | None]] = []
    ca = config.pubsub.ca_file
    host, _, port = config.pubsub.endpoint.rpartition(":")
    pubsub = tls_problem(host, int(port), ca, "pubsub.endpoint", grpc=True)
    results.append((f"TLS to Pub/Sub endpoint {config.pubsub.endpoint}", pubsub))
    if config.auth.mode == "static_token":
        instance = url_problem(config.auth.instance_url, ca, "auth.instance_url")
        results.append((f"TLS to instance {config.auth.instance_url}", instance))
        if pubsub is None and instance is None and login:  # GetTopic proves the token too
            results.extend(_topic_checks(config, _static_session(config)))
        return results
    reached = url_problem(config.auth.login_url, ca, "auth.login_url")
    results.append((f"TLS to login URL {config.auth.login_url}", reached))
    if reached is not None or not login:
        return results
    session, problem = _login(config)
    results.append((f"{config.auth.mode} login as {config.auth.username or config.auth.client_id}",
                    problem))
    if session is None:
        return results
    if session.instance_url.rstrip("/") != config.auth.login_url.rstrip("/"):
        results.append((f"TLS to instance {session.instance_url}",
                         url_problem(session.instance_url, ca, "the instance the login named")))
    if pubsub is None:
        results.extend(_topic_checks(config, session))
    return results


def _static_session(config: Config) -> auth.Session:
    token = config.auth.access_token.reveal() if config.auth.access_token else ""
    return auth.Session(access_token=token, instance_url=config.auth.instance_url,
                        org_id=config.auth.tenant_id)


def _login(config: Config) -> tuple[auth.Session | None, str | None]:
    from service.connections import token_source  # grpc-free, but keeps start-up light

    try:
        return token_source(config.auth, config.pubsub.ca_file).fetch(), None
    except Fatal as exc:
        return None, f"{exc}{login_failure(exc.error_code, config.auth)}"
    except SubscriberError as exc:
        return None, f"{exc}; is auth.login_url reachable and answering?"


def _topic_checks(config: Config, session: auth.Session) -> list[tuple[str, str | None]]:
    from service.connections import intake_settings
    from subscriber.channel import PubSubClient, open_channel

    settings = intake_settings(config)
    sessions = auth.SessionProvider(auth.StaticToken(session))
    channel = open_channel(settings)
    client = PubSubClient(channel, sessions, settings.rpc_timeout_s)
    results: list[tuple[str, str | None]] = []
    try:
        for topic in config.pubsub.topics:
            problem: str | None = None
            try:
                info = client.get_topic(topic)
                if not info.can_subscribe:
                    problem = (f"the integration user may not subscribe to {topic}: grant "
                               "the permission set that allows it")
            except SubscriberError as exc:
                problem = _get_topic_problem(topic, exc)
            results.append((f"GetTopic {topic}", problem))
    finally:
        client.close()
        channel.close()
    return results


def _get_topic_problem(topic: str, exc: SubscriberError) -> str:
    """The GetTopic failure without repeating the check's own label, plus what to check."""
    message = str(exc).removeprefix(f"GetTopic {topic} failed: ")
    if "topic.not.found" in exc.error_code or "NOT_FOUND" in message:
        return f"{message}; is the topic name right and its metadata deployed to this org?"
    if "ALPN" in message:
        return f"{message}; is pubsub.endpoint the Pub/Sub port (gRPC), not an HTTPS/REST one?"
    return message
