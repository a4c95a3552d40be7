"""The shipped systemd unit keeps the daemon's promises: notify, restart policy, hardening.

The unit is parsed with a small parser of our own because systemd allows a key more than once
(``LoadCredential=``, ``SystemCallFilter=``), which configparser cannot represent. When
``systemd-analyze`` (systemd >= 250, for ``--offline``) is installed, the unit is also checked
by systemd itself: no unknown keys, and an exposure score of at most 1.5. Nothing is
installed by these tests; without systemd-analyze those checks are skipped.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from service.config import PubSubConfig, ServiceConfig

ROOT = Path(__file__).resolve().parents[1]
UNIT = ROOT / "systemd" / "lifecycle-sync.service"
EXAMPLE_CONFIG = ROOT / "lifecycle-sync.example.toml"
EX_CONFIG = 78  # sysexits.h: the daemon's exit code for a fatal configuration error
MAX_EXPOSURE = 1.5

Unit = dict[str, list[tuple[str, str]]]


def parse_unit(text: str) -> Unit:
    """Sections to ``(key, value)`` pairs in file order; repeated keys are all kept."""
    sections: Unit = {}
    current: list[tuple[str, str]] | None = None
    pending = ""
    for raw in text.splitlines():
        line = pending + raw.strip()
        pending = ""
        if not line or line[0] in "#;":
            continue
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        assert current is not None, f"key outside a section: {line!r}"
        key, sep, value = line.partition("=")
        assert sep, f"not a key=value line: {line!r}"
        current.append((key.strip(), value.strip()))
    return sections


def values(unit: Unit, section: str, key: str) -> list[str]:
    return [v for k, v in unit.get(section, []) if k == key]


def value(unit: Unit, section: str, key: str) -> str:
    """The effective (last) assignment of a key; fails when the key is missing."""
    found = values(unit, section, key)
    assert found, f"[{section}] {key}= is missing"
    return found[-1]


def seconds(span: str) -> float:
    """A systemd time span (``600``, ``15s``, ``5min``, ``1h 30s``) in seconds."""
    units = {"": 1.0, "s": 1.0, "sec": 1.0, "ms": 0.001, "m": 60.0, "min": 60.0, "h": 3600.0}
    total = 0.0
    for number, suffix in re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", span):
        assert suffix in units, f"unsupported time unit in {span!r}"
        total += float(number) * units[suffix]
    return total


@pytest.fixture(scope="module")
def unit() -> Unit:
    return parse_unit(UNIT.read_text())


def test_type_notify_from_the_main_process_only(unit):
    assert value(unit, "Service", "Type") == "notify"
    assert value(unit, "Service", "NotifyAccess") == "main"


def test_exec_start_runs_the_daemon_with_the_etc_config(unit):
    argv = shlex.split(value(unit, "Service", "ExecStart"))
    assert argv[0] == "/opt/lifecycle-sync/.venv/bin/lifecycle-sync"
    assert argv[1] == "run"
    assert argv[argv.index("--config") + 1] == "/etc/lifecycle-sync/config.toml"
    assert len(values(unit, "Service", "ExecStart")) == 1


def test_restarts_on_failure_but_not_on_fatal_config_errors(unit):
    assert value(unit, "Service", "Restart") == "on-failure"
    assert seconds(value(unit, "Service", "RestartSec")) >= 1
    prevented = " ".join(values(unit, "Service", "RestartPreventExitStatus")).split()
    assert str(EX_CONFIG) in prevented


def test_start_limit_actually_trips_on_a_crash_loop(unit):
    # The limit lives in [Unit] (systemd ignores StartLimit* in [Service] since v230). Burst
    # restarts spaced RestartSec apart must fit inside the interval, or it never trips.
    interval = seconds(value(unit, "Unit", "StartLimitIntervalSec"))
    burst = int(value(unit, "Unit", "StartLimitBurst"))
    restart_sec = seconds(value(unit, "Service", "RestartSec"))
    assert burst >= 2
    assert interval > burst * restart_sec


def test_watchdog_is_fed_often_and_fires_soon_after_the_daemon_stops_feeding_it(unit):
    # The daemon pings every min(WatchdogSec/2, 5 s) while its topics show life, and itself
    # stops pinging once a topic has been silent past keepalive + margin + backoff + ping.
    # WatchdogSec only has to cover the ping tick and pauses of the main thread; anything
    # longer just delays the restart of a wedged daemon.
    watchdog = seconds(value(unit, "Service", "WatchdogSec"))
    assert 30 <= watchdog <= 600
    assert watchdog < PubSubConfig().keepalive_s


def test_stop_gives_the_graceful_shutdown_time_to_finish(unit):
    assert value(unit, "Service", "KillSignal") == "SIGTERM"
    stop = seconds(value(unit, "Service", "TimeoutStopSec"))
    assert stop == 15
    assert stop > ServiceConfig(state_dir=Path("/x")).shutdown_timeout_s


def test_runs_unprivileged_with_its_own_state_and_config_directories(unit):
    dynamic = value(unit, "Service", "DynamicUser") == "yes"
    assert dynamic or values(unit, "Service", "User"), "needs DynamicUser=yes or a User="
    assert values(unit, "Service", "User") != ["root"]
    assert value(unit, "Service", "StateDirectory") == "lifecycle-sync"
    assert value(unit, "Service", "ConfigurationDirectory") == "lifecycle-sync"
    example = tomllib.loads(EXAMPLE_CONFIG.read_text())
    assert example["service"]["state_dir"] == "/var/lib/lifecycle-sync"


HARDENING = {
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "NoNewPrivileges": "yes",
    "CapabilityBoundingSet": "",
    "AmbientCapabilities": "",
    "SystemCallArchitectures": "native",
    "LockPersonality": "yes",
    "RestrictRealtime": "yes",
    "RestrictNamespaces": "yes",
    "RestrictSUIDSGID": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes",
    "ProtectControlGroups": "yes",
    "ProtectClock": "yes",
    "ProtectHostname": "yes",
    "ProtectProc": "invisible",
    "ProcSubset": "pid",
    "UMask": "0077",
}


@pytest.mark.parametrize(("key", "expected"), HARDENING.items())
def test_hardening_directive(unit, key, expected):
    assert value(unit, "Service", key) == expected


def test_no_core_dumps_that_could_hold_keys_tokens_or_emails(unit):
    """The watchdog kills with SIGABRT, which dumps core by default."""
    assert value(unit, "Service", "LimitCORE") == "0"


def test_only_internet_and_unix_sockets(unit):
    families = value(unit, "Service", "RestrictAddressFamilies").split()
    assert sorted(families) == ["AF_INET", "AF_INET6", "AF_UNIX"]


def test_system_calls_limited_to_the_service_allow_list(unit):
    filters = values(unit, "Service", "SystemCallFilter")
    # The first assignment is the allow-list; later "~..." lines only remove from it.
    assert filters[0].split() == ["@system-service"]
    assert all(f.startswith("~") for f in filters[1:])
    assert value(unit, "Service", "SystemCallErrorNumber") == "EPERM"


SECRET_TEXT = re.compile(
    r"-----BEGIN|https?://[^\s/@]+@|(secret|password|passwd|token|dsn|api_?key)\s*=",
    re.IGNORECASE,
)


def test_no_secret_is_written_into_the_unit(unit):
    service = dict(unit["Service"])
    # Inline credentials and environment variables end up in `systemctl show`, readable by
    # every local user; secrets must come from files via LoadCredential(Encrypted)=.
    for key in ("SetCredential", "SetCredentialEncrypted", "EnvironmentFile"):
        assert key not in service, f"{key}= would put a secret in the unit or its environment"
    for line in UNIT.read_text().splitlines():
        if not line.lstrip().startswith(("#", ";")):
            assert not SECRET_TEXT.search(line), f"looks like an inline secret: {line!r}"


def test_credentials_cover_the_example_config_and_come_from_the_credstore(unit):
    loaded = {}
    for spec in values(unit, "Service", "LoadCredential"):
        cred_id, _, source = spec.partition(":")
        loaded[cred_id] = source
    example = tomllib.loads(EXAMPLE_CONFIG.read_text())
    wanted = {v for k, v in example["auth"].items() if k.endswith("_file")}
    assert wanted <= loaded.keys()
    assert {"sf_jwt_key", "sf_client_secret", "sentry_dsn"} <= loaded.keys()
    # Credstore names, not absolute paths: a missing one is skipped rather than failing the
    # start with 243/CREDENTIALS, so the daemon can name the secret its auth mode needs.
    assert all(source and not source.startswith("/") for source in loaded.values())


# --- Checks by systemd itself -----------------------------------------------------------------


def systemd_analyze() -> str:
    """Path to a systemd-analyze that supports ``--offline`` (systemd >= 250), else skip."""
    path = shutil.which("systemd-analyze")
    if path is None:
        pytest.skip("systemd-analyze is not installed (Debian: apt-get install systemd)")
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    match = re.match(r"systemd (\d+)", out.stdout)
    if match is None or int(match.group(1)) < 250:
        pytest.skip(f"systemd-analyze too old for --offline: {out.stdout.splitlines()[:1]}")
    return path


def test_systemd_knows_every_key(tmp_path):
    analyze = systemd_analyze()
    # `verify` insists that ExecStart= is executable, and /opt/lifecycle-sync is not here;
    # swap in /bin/true (same unit name, so the unit's own name-based settings still apply).
    copy = tmp_path / UNIT.name
    copy.write_text(re.sub(r"(?m)^ExecStart=\S+", "ExecStart=/bin/true", UNIT.read_text()))
    done = subprocess.run(
        [analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60, check=False
    )
    about_unit = [line for line in done.stderr.splitlines() if str(copy) in line]
    assert about_unit == [], "\n".join(about_unit)


def test_exposure_score_is_at_most_one_and_a_half():
    analyze = systemd_analyze()
    # --threshold uses systemd's internal 0-100 scale: 15 means an overall exposure of 1.5.
    done = subprocess.run(
        [
            analyze,
            "security",
            "--offline=true",
            f"--threshold={round(MAX_EXPOSURE * 10)}",
            str(UNIT),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", done.stdout)
    assert match, done.stdout[-2000:] + done.stderr[-2000:]
    score = float(match.group(1))
    worst = [line for line in done.stdout.splitlines() if line.startswith("✗")]
    assert score <= MAX_EXPOSURE, f"exposure {score} > {MAX_EXPOSURE}:\n" + "\n".join(worst)
    assert done.returncode == 0, done.stderr[-2000:]
