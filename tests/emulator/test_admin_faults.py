"""The reliability suite's extra emulator faults (emulator/admin_faults.py), through the admin
HTTP API as the suite drives them: an event appended past Publish's validation, and a skewed
org clock for JWT assertions."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator

import pytest
import requests
from conftest_org import (  # noqa: F401 - fixtures
    JWT_GRANT,
    OrgHarness,
    assertion,
    org_emulator_fixture,
    org_harness_fixture,
)

TRIAL = "/event/SelfServeTrialEvent__e"


@pytest.fixture
def harness(org_harness: OrgHarness) -> Iterator[OrgHarness]:
    yield org_harness
    org_harness.admin("POST", "/faults/clock", {"offset_s": 0})


def _login(h: OrgHarness, **claims: object) -> requests.Response:
    url = f"{h.info['login_url']}/services/oauth2/token"
    return h.session.post(url, data={"grant_type": JWT_GRANT,
                                     "assertion": assertion(h.info, **claims)}, timeout=10)


def test_a_clock_ahead_of_the_assertions_lifetime_refuses_it_as_expired(
    harness: OrgHarness,
) -> None:
    three_min_ahead = {"exp": int(time.time()) + 180}  # what simple-salesforce and we send
    assert _login(harness, **three_min_ahead).status_code == 200

    assert harness.admin("POST", "/faults/clock", {"offset_s": 300}) == {"clock_offset_s": 300.0}
    refused = _login(harness, **three_min_ahead)
    assert refused.status_code == 400
    assert refused.json() == {"error": "invalid_grant",
                              "error_description": "expired authorization code"}

    harness.admin("POST", "/faults/clock", {"offset_s": 0})
    assert _login(harness, **three_min_ahead).status_code == 200


def test_a_raw_event_skips_publish_validation_and_lands_as_given(harness: OrgHarness) -> None:
    store = harness.emu.context.bus.store
    before = store.max_seq(TRIAL)
    answer = harness.admin("POST", "/faults/pubsub/raw", {
        "topic": TRIAL, "schema_id": "no-such-schema", "event_id": "raw-1",
        "payload_b64": base64.b64encode(b"\xff\x00not avro").decode()})

    [event] = store.read_after(TRIAL, before, 10)
    assert (event.event_id, event.schema_id, event.payload) == (
        "raw-1", "no-such-schema", b"\xff\x00not avro")
    assert answer["replay_id"] == event.replay_id.hex()


@pytest.mark.parametrize(("path", "body"), [
    ("/faults/pubsub/raw", {"topic": "/event/Nope__e", "payload_b64": ""}),
    ("/faults/pubsub/raw", {"topic": TRIAL, "payload_b64": "%%%"}),
    ("/faults/clock", {"offset_s": "soon"}),
])
def test_bad_fault_requests_are_400(harness: OrgHarness, path: str, body: dict[str, object]
                                    ) -> None:
    response = harness.admin_session.post(f"{harness.info['admin_url']}{path}", json=body,
                                          timeout=10)
    assert response.status_code == 400


def test_expire_others_keeps_the_listed_sessions(harness: OrgHarness) -> None:
    mine, other = harness.new_token(), harness.new_token()
    answer = harness.admin("POST", "/faults/tokens/expire-others", {"keep": [mine, harness.token]})
    assert answer["expired"] >= 1
    for token, status in ((mine, 200), (other, 401)):
        assert harness.call("GET", "limits/", token=token).status_code == status
