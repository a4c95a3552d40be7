"""``run`` with a login that never gets an answer (wrong login URL port, wrong CA): the
journal says what fails and which setting to check, once per topic, and never a secret.
The daemon runs as a real process against the emulator; waits poll a condition."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fr_cli import RunningDaemon, jwt_toml, log_lines, other_ca_pem, refused_port, write_config
from svc_waiting import wait_until

from emulator.server import Emulator
from service.connection_state import read_connection_state

TOPICS = ("/event/SelfServeTrialEvent__e", "/data/LeadChangeEvent")


def _failures(state: Path, topic: str) -> int:
    found = read_connection_state(state)
    return int(found["topics"].get(topic, {}).get("failures", 0)) if found else 0


def _wrong_login_port(tmp_path: Path, info: dict[str, Any], run: Callable[[str], str]) -> str:
    with refused_port() as port:
        return run(jwt_toml(info, login_url=f"https://127.0.0.1:{port}"))


def _wrong_ca(tmp_path: Path, info: dict[str, Any], run: Callable[[str], str]) -> str:
    ca = tmp_path / "other-ca.pem"
    ca.write_text(other_ca_pem())
    return run(jwt_toml(info, ca_file=str(ca)))


@pytest.mark.parametrize(("mistake", "cause", "hint"), [
    (_wrong_login_port, "/services/oauth2/token failed: ConnectionError: connection refused",
     "is auth.login_url right (host and port)"),
    (_wrong_ca, "/services/oauth2/token failed: SSLError: certificate verify failed (",
     "the CA that signed the server at auth.login_url?"),
], ids=["login-port", "ca"])
def test_unanswered_login_says_why_and_what_to_check_once_per_topic(
    tmp_path: Path, emulator: Emulator, mistake: Any, cause: str, hint: str
) -> None:
    info: dict[str, Any] = emulator.info()
    state = tmp_path / "state"

    def run(text: str) -> str:
        config = write_config(tmp_path, text)
        with RunningDaemon("--config", str(config), log_file=tmp_path / "run.log") as daemon:
            for topic in TOPICS:  # enough attempts for the login backoff to kick in
                wait_until(lambda t=topic: _failures(state, t) >= 5, 60,
                           what=f"5 failures on {topic}")
            assert daemon.stop() == 0
        return daemon.log()

    log = mistake(tmp_path, info, run)
    warnings = [line for line in log_lines(log) if line.startswith("WARNING")]
    for topic in TOPICS:
        # One per topic for the whole episode: the first failed login and the "login failed
        # N time(s) in a row (last: ...)" backoff reports after it are the same cause.
        [line] = [w for w in warnings if f": {topic}: not connected since " in w]
        assert line.count("next") == 1, line  # was: the stream's and the login's "next"
        assert "time(s) in a row" not in line
        assert cause in line, line  # was: "failed: ConnectionError" / "failed: SSLError"
        assert hint in line, line
    assert len(warnings) == len(TOPICS), warnings
    last = (read_connection_state(state) or {})["topics"][TOPICS[0]]["last_error"]
    assert cause in last  # status shows the cause too
    assert "time(s) in a row" not in last
    for secret in (info["username"], Path(info["private_key"]).read_text().splitlines()[1]):
        assert secret not in log
