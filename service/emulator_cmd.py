"""``lifecycle-sync emulator``: run the local Salesforce emulator in the foreground."""

from __future__ import annotations

import argparse
import gc
import signal
import sys
import threading
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "emulator",
        help="run the local Salesforce emulator (Pub/Sub gRPC, REST, OAuth) in the foreground",
        description=(
            "Runs a local, SQLite-backed Salesforce emulator over TLS until SIGINT or SIGTERM. "
            "It writes an info file (JSON) with everything a client needs: pubsub_endpoint, "
            "instance_url, access_token, tenant_id, ca_cert, login_url, client_id, "
            "client_secret, username, admin_url. State (events, records, sessions, the CA) "
            "survives restarts."
        ),
    )
    p.add_argument("--state", type=Path, default=Path("emulator-state"),
                   help="state directory (created if missing; default: %(default)s)")
    p.add_argument("--info-file", type=Path, default=None,
                   help="write connection details here as JSON, mode 0600 "
                   "(default: STATE/info.json)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    p.add_argument("--pubsub-port", type=int, default=0, help="Pub/Sub gRPC port (0: any free)")
    p.add_argument("--rest-port", type=int, default=0, help="HTTPS REST/OAuth/SOAP port (0: any)")
    p.add_argument("--admin-port", type=int, default=0, help="plain-HTTP admin API port (0: any)")
    p.add_argument("--keepalive-s", type=float, default=270.0,
                   help="seconds between keepalive responses on an idle stream (Salesforce: 270)")
    p.add_argument("--idle-timeout-s", type=float, default=60.0,
                   help="close a stream after this long with nothing requested (Salesforce: 60)")
    p.add_argument("--retention-h", type=float, default=72.0,
                   help="hours events stay replayable (Salesforce: 72)")
    p.add_argument("--publish-stream-idle-s", type=float, default=70.0,
                   help="close a PublishStream that sends no event for this long (default: 70)")
    p.add_argument("--token-lifetime-s", type=float, default=7200.0,
                   help="lifetime of issued access tokens in seconds (default: %(default)s)")
    p.add_argument("--latency-ms", type=float, default=0.0,
                   help="fixed latency added to every REST/OAuth/SOAP request (default: 0)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Imported here, not at the top: every other command (``run`` above all) would otherwise
    # load the emulator (werkzeug, its SOQL engine) at start-up: ~170 ms and ~15 MB for nothing.
    from emulator.pubsub.subscribe import StreamSettings
    from emulator.server import Emulator, EmulatorSettings

    settings = EmulatorSettings(
        state_dir=args.state,
        host=args.host,
        pubsub_port=args.pubsub_port,
        rest_port=args.rest_port,
        admin_port=args.admin_port,
        stream=StreamSettings(
            keepalive_s=args.keepalive_s,
            idle_timeout_s=args.idle_timeout_s,
            retention_s=args.retention_h * 3600.0,
            publish_stream_idle_s=args.publish_stream_idle_s,
        ),
        token_lifetime_s=args.token_lifetime_s,
        latency_ms=args.latency_ms,
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    emulator = Emulator(settings).start()
    # This process is the emulator and its loaded org lives as long as it does: keep the cyclic
    # collector from walking the org on every full collection (90 ms at 100,000 Leads).
    gc.freeze()
    info_file = args.info_file or (args.state / "info.json")
    emulator.write_info(info_file)
    info = emulator.info()
    print(
        f"emulator ready: pubsub {info['pubsub_endpoint']}, instance {info['instance_url']}, "
        f"admin {info['admin_url']}; info file {info_file}",
        file=sys.stderr, flush=True,
    )
    stop.wait()
    emulator.stop()
    print("emulator stopped", file=sys.stderr, flush=True)
    return 0
