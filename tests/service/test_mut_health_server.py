"""The metrics endpoint over real HTTP (in process): Prometheus needs its content type to
parse the exposition format, and /readyz answers 503 with the problems."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter

from service.health import HealthServer

DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no proxy from the env


class _Problems:
    def __init__(self, problems: list[str]) -> None:
        self.found = problems

    def problems(self) -> list[str]:
        return self.found


def test_metrics_are_served_with_prometheus_content_type() -> None:
    registry = CollectorRegistry()
    Counter("lifecycle_sync_test", "a counter", registry=registry).inc()
    server = HealthServer(0, registry, _Problems([])).start()
    try:
        with DIRECT.open(f"http://127.0.0.1:{server.port}/metrics", timeout=10) as r:
            assert r.headers["Content-Type"] == CONTENT_TYPE_LATEST
            assert b"lifecycle_sync_test_total 1.0" in r.read()
    finally:
        server.close()


def test_readyz_is_503_naming_each_problem() -> None:
    server = HealthServer(0, CollectorRegistry(), _Problems(["apply stuck", "stream stale"]))
    server.start()
    try:
        with pytest.raises(urllib.error.HTTPError) as raised:
            DIRECT.open(f"http://127.0.0.1:{server.port}/readyz", timeout=10)
        assert raised.value.code == 503
        assert raised.value.headers["Content-Type"] == "text/plain"
        assert raised.value.read() == b"apply stuck\nstream stale\n"
    finally:
        server.close()
