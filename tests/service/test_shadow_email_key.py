"""Shadow mode's log lines name a new Lead by a keyed hash of its email (HMAC-SHA-256 under
the state directory's erasure key), never by the address or an unsalted hash of it, which
anyone could reverse by hashing candidate addresses (docs/privacy.md)."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import pytest

from scheduler.erasure import email_hash, erasure_key
from service.shadow import ShadowGateway

EMAIL = "jane.doe@acme.example"


def test_shadow_log_key_is_an_hmac_under_the_erasure_key(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    key = erasure_key(tmp_path)
    counted: list[tuple[str, str]] = []
    gateway = ShadowGateway(Any, lambda op, obj: counted.append((op, obj)), key)  # type: ignore[arg-type]
    with caplog.at_level(logging.INFO, logger="lifecycle_sync.shadow"):
        leads, failed = gateway.create_leads({EMAIL: {"LastName": "Doe", "Email": EMAIL}})
    assert failed == {}
    [line] = [r.getMessage() for r in caplog.records]
    assert f"key=email#{email_hash(EMAIL, key)[:10]} " in line
    unsalted = hashlib.sha256(EMAIL.encode()).hexdigest()
    assert unsalted[:10] not in line
    assert "@" not in line
    assert unsalted[:9].upper() not in leads[EMAIL].id  # the made-up ID is keyed too
    assert counted == [("create", "Lead")]
