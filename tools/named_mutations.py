"""``python -m tools.named_mutations [N ...]``: apply each of issue 15's named breakages by hand,
run the test that names the behaviour, expect it to FAIL, and restore the file.

Evidence that those tests can fail (mutmut checks the rest mechanically). Each file is restored
in a ``finally``; run it on a clean work tree (``git status`` must show nothing afterwards).
Prints one line per (mutation, test) with pytest's summary; exits 1 if any test passed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
Edit = tuple[str, str]
Mutation = tuple[str, str, list[Edit], list[str]]

S = "tests/subscriber/"
V = "tests/service/"
MUTATIONS: list[Mutation] = [
    ("verify=False on login (+ warnings silenced)", "subscriber/oauth.py",
     [("    http.verify = str(ca_file) if ca_file else True\n",
       "    http.verify = False\n    import urllib3; urllib3.disable_warnings()\n")],
     [S + "test_oauth.py::test_login_verifies_tls_against_bundled_roots_when_no_ca_file_is_given",
      S + "test_oauth.py::test_login_refuses_a_server_the_given_ca_did_not_sign"]),
    ("synchronous FULL -> OFF", "subscriber/inbox_file.py",
     [('db.execute("PRAGMA synchronous=FULL")', 'db.execute("PRAGMA synchronous=OFF")')],
     [S + "test_inbox.py::test_the_inbox_connection_is_wal_with_synchronous_full"]),
    ("backoff not reset on stored events", "subscriber/stream.py",
     [("        self._backoff.reset()\n        self._poison.report(",
       "        self._poison.report(")],
     [S + "test_backoff_and_watchdog.py"
      "::test_backoff_grows_while_attempts_fail_and_resets_once_events_land"]),
    ("backoff not reset on keepalives", "subscriber/stream.py",
     [("            self._backoff.reset()\n            call_hook(\"keepalive\"",
       "            call_hook(\"keepalive\"")],
     [S + "test_backoff_and_watchdog.py::test_keepalives_count_as_progress_for_the_backoff"]),
    ("retention_days used as seconds", "service/inbox_backend.py",
     [("    return config.inbox.retention_days * 86400.0\n",
       "    return config.inbox.retention_days\n")],
     [V + "test_service_retention.py"]),
    ("Watchdog.touch() does nothing", "subscriber/flow.py",
     [("    def touch(self) -> None:\n        with self._cond:\n"
       "            self._deadline = time.monotonic() + self.timeout_s\n",
       "    def touch(self) -> None:\n        pass\n")],
     [S + "test_flow.py::test_watchdog_touch_pushes_the_deadline_back",
      S + "test_backoff_and_watchdog.py"
      "::test_a_stream_that_sends_keepalives_is_never_cancelled_by_the_watchdog"]),
    ("can_subscribe check dropped", "subscriber/stream.py",
     [("        if not info.can_subscribe:\n", "        if False:\n")],
     [S + "test_faults.py::test_a_topic_the_user_may_not_subscribe_to_is_fatal_before_subscribing",
      V + "test_service_daemon.py::test_a_topic_the_user_may_not_subscribe_to_exits_78"]),
    ("request credit x10 (initial request)", "subscriber/flow.py",
     [("        self.outstanding = self.batch\n        return self.batch\n",
       "        self.outstanding = self.batch\n        return self.batch * 10\n")],
     [S + "test_intake_basic.py::test_requested_credit_never_exceeds_batch_size"]),
    ("request credit x10 (top-ups)", "subscriber/flow.py",
     [("        self.outstanding = self.batch\n        return more\n",
       "        self.outstanding = self.batch\n        return more * 10\n")],
     [S + "test_intake_basic.py::test_requested_credit_never_exceeds_batch_size"]),
    ("MSG_DONTWAIT dropped from sd_notify", "service/lifecycle.py",
     [("encode(), socket.MSG_DONTWAIT, self._address)", "encode(), self._address)")],
     [V + "test_service_lifecycle.py::test_notifier_never_blocks_on_a_full_receiver"]),
    ("login session trusts the environment (trust_env on)", "subscriber/oauth.py",
     [("    http.trust_env = False\n", "    http.trust_env = True\n")],
     [S + "test_oauth.py"
      "::test_login_ignores_ca_bundle_and_proxy_variables_from_the_environment"]),
    ("inbox files not made private", "subscriber/inbox_file.py",
     [("    if not readonly:\n        make_private(path)\n", "")],
     [S + "test_inbox.py::test_inbox_files_are_created_private_whatever_the_umask",
      S + "test_inbox.py::test_an_existing_readable_inbox_is_made_private",
      V + "test_service_state_privacy.py"]),
    ("state dir not tightened", "service/lifecycle.py",
     [("    make_private_dir(state_dir)\n    lock_path", "    lock_path")],
     [V + "test_service_state_privacy.py"]),
    ("unescaped read-only URI", "subscriber/inbox_file.py",
     [('f"file:{quote(str(path.absolute()))}?mode=ro"', 'f"file:{path}?mode=ro"')],
     [S + "test_inbox.py::test_a_path_with_uri_characters_opens_that_file_read_only",
      V + "test_service_status.py::test_a_state_path_with_uri_characters_is_read_as_given"]),
    ("LimitCORE=0 removed", "systemd/lifecycle-sync.service",
     [("LimitCORE=0\n", "")],
     ["tests/test_systemd_unit.py::test_no_core_dumps_that_could_hold_keys_tokens_or_emails"]),
]


def check(index: int, mutation: Mutation) -> bool:
    """Apply, run each test, restore; True when every test failed."""
    name, path, edits, tests = mutation
    target = ROOT / path
    original = target.read_text()
    mutated = original
    for old, new in edits:
        if mutated.count(old) != 1:
            raise SystemExit(f"[{index}] {name}: {path} contains {old!r} "
                             f"{mutated.count(old)} times, not once")
        mutated = mutated.replace(old, new, 1)
    killed = True
    target.write_text(mutated)
    try:
        for test in tests:
            done = subprocess.run(  # noqa: S603 - our own interpreter and test ids
                [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-o", "timeout=120",
                 test], cwd=ROOT, capture_output=True, text=True, check=False)
            summary = [line for line in done.stdout.splitlines() if line.strip()][-1:]
            killed = killed and done.returncode == 1
            print(f"[{index}] {name} | {test} | exit {done.returncode} | {' '.join(summary)}",
                  flush=True)
    finally:
        target.write_text(original)
    return killed


def chosen(argv: list[str]) -> list[int]:
    """The indices the command line names (all when none); argparse's usage on bad input."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.named_mutations",
        description="Apply each of issue 15's named breakages, run the tests that name the "
                    "behaviour, expect them to fail, restore the file.")
    parser.add_argument("index", nargs="*", type=int, metavar="N",
                        help=f"mutations to check, 0..{len(MUTATIONS) - 1} (default: all)")
    indices: list[int] = parser.parse_args(argv).index
    wrong = [i for i in indices if not 0 <= i < len(MUTATIONS)]
    if wrong:  # choices= would also reject the empty default on this Python
        parser.error(f"no mutation {wrong[0]}: 0..{len(MUTATIONS) - 1}")
    return indices or list(range(len(MUTATIONS)))


def main(argv: list[str]) -> int:
    """Check the mutations chosen by index (all by default)."""
    results = [check(i, MUTATIONS[i]) for i in chosen(argv)]
    return 0 if all(results) else 1

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
