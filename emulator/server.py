"""Start and stop a whole emulator: Pub/Sub over gRPC+TLS, the org over HTTPS, the admin API.

:class:`Emulator` is the Python API tests and benchmarks use in-process;
``lifecycle-sync emulator`` runs the same thing in the foreground. State (events, schemas,
sessions, records, the CA) lives in one state directory and survives restarts.
"""

from __future__ import annotations

import json
import ssl
import threading
from concurrent import futures
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

import grpc
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from emulator.admin import ROUTES, make_admin_app
from emulator.admin_faults import EXTRA_ROUTES
from emulator.admin_reliability import ROUTES as RELIABILITY_ROUTES
from emulator.avro_schemas import change_event_schema, platform_event_schema
from emulator.catalog import ObjectKind
from emulator.context import EmulatorContext
from emulator.identity import load_or_create_identity
from emulator.metadata import DEFAULT_METADATA_DIR
from emulator.org.app import make_org_app
from emulator.org.cdc import ChangeDataCapture
from emulator.org.credentials import ensure_client_credentials
from emulator.org.limits import ApiUsage
from emulator.org.records import RecordStore
from emulator.org.runtime import MAX_QUERY_BATCH, Org, OrgSettings
from emulator.org.seed import seed_org
from emulator.proxy import TcpRelay
from emulator.pubsub.bus import EventBus
from emulator.pubsub.faults import PubSubFaults
from emulator.pubsub.service import Authenticator, PubSubService
from emulator.pubsub.store import EventStore
from emulator.pubsub.subscribe import StreamSettings
from emulator.schema import build_catalog
from emulator.tls import ensure_tls
from emulator.tokens import TokenStore
from proto import pubsub_api_pb2_grpc as pb_grpc


@dataclass(frozen=True)
class EmulatorSettings:
    """Where state lives, which ports to bind (0: any free one) and the server's timing rules.

    ``latency_ms`` delays every org HTTP request; ``daily_api_limit`` is the API allocation
    (403 REQUEST_LIMIT_EXCEEDED when spent); ``query_batch_size`` is the default query batch
    (Salesforce: 2000; set it small to exercise ``nextRecordsUrl`` paging). All three can be
    changed while running through ``Emulator.org.settings`` / ``org.usage`` or the admin API.
    """

    state_dir: Path
    host: str = "127.0.0.1"
    pubsub_port: int = 0
    rest_port: int = 0
    admin_port: int = 0
    stream: StreamSettings = field(default_factory=StreamSettings)
    token_lifetime_s: float = 7200.0
    metadata_dir: Path = DEFAULT_METADATA_DIR
    grpc_workers: int = 64
    latency_ms: float = 0.0
    daily_api_limit: int = 100_000
    query_batch_size: int = MAX_QUERY_BATCH


class Emulator:
    """A running emulator. Use as a context manager, or call :meth:`start` and :meth:`stop`."""

    def __init__(self, settings: EmulatorSettings) -> None:
        self.settings = settings
        self._threads: list[threading.Thread] = []
        self._http: list[BaseWSGIServer] = []
        self._grpc: grpc.Server | None = None
        self._relay: TcpRelay | None = None
        self.ctx: EmulatorContext | None = None
        self.access_token = ""

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> Emulator:
        state = self.settings.state_dir
        state.mkdir(parents=True, exist_ok=True)
        identity = load_or_create_identity(state)
        db = state / "emulator.db"
        ctx = EmulatorContext(
            state_dir=state,
            catalog=build_catalog(self.settings.metadata_dir),
            bus=EventBus(EventStore(db)),
            tokens=TokenStore(db, identity.org_id, self.settings.token_lifetime_s),
            identity=identity,
            tls=ensure_tls(state),
            pubsub_faults=PubSubFaults(),
        )
        self.ctx = ctx
        self._define_topics(ctx)
        org = ctx.org = self._build_org(ctx)
        rest_server = self._serve_https(make_org_app(ctx), self.settings.rest_port)
        ctx.instance_url = org.instance_url = f"https://{self.settings.host}:{rest_server.server_port}"
        self._start_grpc(ctx)
        ctx.extras["cut_connections"] = self.cut_connections
        routes = {**ROUTES, **RELIABILITY_ROUTES, **EXTRA_ROUTES}
        self._serve_http(make_admin_app(ctx, routes), self.settings.admin_port)
        self.access_token, _ = ctx.tokens.issue(identity.integration_user_id)
        return self

    def stop(self) -> None:
        for server in self._http:
            server.shutdown()
            server.server_close()
        if self._relay is not None:
            self._relay.close()
        if self._grpc is not None:
            self._grpc.stop(grace=0).wait(5)
        for t in self._threads:
            t.join(timeout=5)
        if self.ctx is not None:
            if self.ctx.org is not None:
                self.ctx.org.store.close()
            self.ctx.bus.store.close()
            self.ctx.tokens.close()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what clients need --------------------------------------------------------------

    @property
    def context(self) -> EmulatorContext:
        if self.ctx is None:
            raise RuntimeError("the emulator is not started")
        return self.ctx

    @property
    def org(self) -> Org:
        """The org half: records, limits, org faults and call counters (see :class:`Org`)."""
        org = self.context.org
        if org is None:
            raise RuntimeError("the emulator is not started")
        return org

    def info(self) -> dict[str, Any]:
        """Everything a client needs to connect; written as JSON by ``--info-file``.

        ``private_key`` is the PEM key whose certificate the emulator trusts for the JWT bearer
        grant; ``password`` is the integration user's password for the password grant.
        """
        ctx = self.context
        assert self._relay is not None
        return {
            "pubsub_endpoint": f"{self.settings.host}:{self._relay.port}",
            "instance_url": ctx.instance_url,
            "access_token": self.access_token,
            "tenant_id": ctx.identity.org_id,
            "ca_cert": str(ctx.tls.ca_cert.resolve()),
            "admin_url": f"http://{self.settings.host}:{self._http[-1].server_port}",
            "login_url": ctx.instance_url,
            "client_id": ctx.identity.client_id,
            "client_secret": ctx.identity.client_secret,
            "username": ctx.identity.username,
            "password": self.org.credentials.password,
            "private_key": str(self.org.credentials.private_key.resolve()),
            "user_id": ctx.identity.integration_user_id,
            "topics": sorted(ctx.bus.store.topic_names()),
            "state_dir": str(self.settings.state_dir.resolve()),
        }

    def write_info(self, path: Path) -> None:
        """Write the info file atomically, readable only by its owner (it holds a token)."""
        tmp = path.with_name(path.name + ".tmp")
        tmp.touch(mode=0o600)
        tmp.write_text(json.dumps(self.info(), indent=2) + "\n")
        tmp.replace(path)

    def cut_connections(self) -> int:
        """Drop every client's gRPC TCP connection (fault injection)."""
        return self._relay.cut() if self._relay is not None else 0

    # -- internals ----------------------------------------------------------------------

    def _build_org(self, ctx: EmulatorContext) -> Org:
        """Records (``org.db``), seed rows, credentials, limits; CDC listens to every commit."""
        store = RecordStore(ctx.state_dir / "org.db", ctx.catalog)
        seed_org(store, ctx.identity)
        store.add_listener(ChangeDataCapture(ctx.bus, ctx.catalog))
        return Org(
            catalog=ctx.catalog,
            store=store,
            identity=ctx.identity,
            tokens=ctx.tokens,
            bus=ctx.bus,
            credentials=ensure_client_credentials(ctx.state_dir),
            usage=ApiUsage(self.settings.daily_api_limit),
            settings=OrgSettings(self.settings.latency_ms, self.settings.query_batch_size),
        )

    def _define_topics(self, ctx: EmulatorContext) -> None:
        for obj in ctx.catalog:
            if obj.kind is ObjectKind.PLATFORM_EVENT:
                ctx.bus.define_topic(f"/event/{obj.name}", platform_event_schema(obj))
            elif obj.topic:
                ctx.bus.define_topic(obj.topic, change_event_schema(obj))

    def _start_grpc(self, ctx: EmulatorContext) -> None:
        auth = Authenticator(ctx.tokens, ctx.identity, ctx.instance_url)
        service = PubSubService(ctx.bus, auth, ctx.pubsub_faults, self.settings.stream)
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=self.settings.grpc_workers),
            options=[("grpc.max_receive_message_length", 16 * 1024 * 1024)],
        )
        pb_grpc.add_PubSubServicer_to_server(service, server)
        creds = grpc.ssl_server_credentials([ctx.tls.server_credentials()])
        port = server.add_secure_port("127.0.0.1:0", creds)
        server.start()
        self._grpc = server
        self._relay = TcpRelay(self.settings.host, self.settings.pubsub_port, port)
        self._relay.start()

    def _serve_https(self, app: object, port: int) -> BaseWSGIServer:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(self.context.tls.server_cert, self.context.tls.server_key)
        return self._serve(app, port, tls)

    def _serve_http(self, app: object, port: int) -> BaseWSGIServer:
        return self._serve(app, port, None)

    def _serve(self, app: object, port: int, tls: ssl.SSLContext | None) -> BaseWSGIServer:
        server = make_server(
            self.settings.host, port, app, threaded=True, ssl_context=tls,  # type: ignore[arg-type]
            request_handler=_QuietHandler,
        )
        thread = threading.Thread(target=server.serve_forever, name="emulator-http", daemon=True)
        thread.start()
        self._http.append(server)
        self._threads.append(thread)
        return server


class _QuietHandler(WSGIRequestHandler):
    """Werkzeug's handler without its per-request access log (tests and benchmarks are noisy)."""

    # TCP_NODELAY: without it Nagle holds the response's first TLS record until the client's
    # delayed ACK, about 10 ms on every HTTPS request (measured: benchmarks.emulator).
    disable_nagle_algorithm = True

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """JSON, never http.server's HTML page, for what the HTTP layer refuses by itself (a
        request line or header line past its 64 KB buffer: 414 / 431, as Help 000386264 says
        Salesforce answers oversized requests)."""
        names = {414: "URI_TOO_LONG", 431: "REQUEST_HEADER_FIELDS_TOO_LARGE"}
        reason = message or HTTPStatus(code).phrase
        body = json.dumps([{"errorCode": names.get(code, "BAD_REQUEST"), "message": reason}])
        payload = body.encode()
        self.send_response(code, reason)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Connection", "close")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.close_connection = True
        if getattr(self, "command", "") != "HEAD" and code not in (204, 304):
            self.wfile.write(payload)
