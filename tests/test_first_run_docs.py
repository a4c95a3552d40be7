"""What a new admin reads matches what the product does: how to call the CLI, fixed emulator
ports, precedence, one config path everywhere, a credential slot for every secret."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
DEPLOYMENT = (ROOT / "docs" / "deployment.md").read_text()
EXAMPLE = (ROOT / "lifecycle-sync.example.toml").read_text()
UNIT = (ROOT / "systemd" / "lifecycle-sync.service").read_text()


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start:end if end > 0 else None]


def test_readme_says_how_to_run_the_cli_from_the_venv() -> None:
    running = _section(README, "## Running the daemon")
    assert ".venv/bin/lifecycle-sync" in running  # was: `lifecycle-sync: command not found`
    assert ". .venv/bin/activate" in running
    assert "/opt/lifecycle-sync/.venv/bin/lifecycle-sync" in DEPLOYMENT


def test_readme_gives_the_emulators_fixed_port_options() -> None:
    running = _section(README, "## Running the daemon")
    for option in ("--pubsub-port", "--rest-port", "--admin-port"):
        assert option in running
    help_text = subprocess.run([sys.executable, "-m", "service", "emulator", "--help"],
                               capture_output=True, text=True, cwd=ROOT, timeout=60).stdout
    for option in ("--pubsub-port", "--rest-port", "--admin-port"):
        assert option in help_text  # the README names real options


def test_readme_has_a_precedence_section_with_the_path_rule() -> None:
    precedence = _section(README, "### Configuration and precedence")
    assert "the environment" in precedence
    assert "refused with a message naming both" in precedence
    assert "against the\nfolder of the config file" in precedence


def test_example_config_names_the_path_the_docs_and_unit_use() -> None:
    pattern = re.compile(r"/etc/lifecycle-sync/[\w.-]+\.toml")
    paths = {p for text in (EXAMPLE, DEPLOYMENT, UNIT, README) for p in pattern.findall(text)}
    assert paths == {"/etc/lifecycle-sync/config.toml"}  # was: lifecycle-sync.toml in one


def test_unit_has_a_credential_slot_for_every_secret_the_example_names() -> None:
    names = set(re.findall(r"\b(?:private_key|client_secret|password|access_token)_file = "
                           r"\"([\w.-]+)\"", EXAMPLE))
    assert names == {"sf_jwt_key", "sf_client_secret", "sf_password", "sf_token"}
    for name in names:  # was: no slot for password or static-token auth
        assert f"\nLoadCredential={name}:lifecycle-sync.{name}\n" in UNIT


def test_version_option_prints_the_version() -> None:
    done = subprocess.run([sys.executable, "-m", "service", "--version"], capture_output=True,
                          text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0
    assert re.fullmatch(r"lifecycle-sync \d+\.\d+\.\d+\S*\n", done.stdout), done.stdout


def test_pre_enable_check_gets_the_units_state_directory() -> None:
    """A fresh host has no /var/lib/lifecycle-sync, and the dynamic user cannot create it:
    the documented check must get it the way the unit does (StateDirectory=)."""
    [unit_dir] = re.findall(r"^StateDirectory=(\S+)$", UNIT, re.MULTILINE)
    start = DEPLOYMENT.index("systemd-run --pipe")
    command = DEPLOYMENT[start:DEPLOYMENT.index("```", start)]
    assert "-p DynamicUser=yes" in command
    assert f"-p StateDirectory={unit_dir}" in command  # was: missing, so check-config said 78
    assert f'state_dir = "/var/lib/{unit_dir}"' in EXAMPLE
