"""Fixtures shared by the whole suite.

- ``emulator_factory``: start emulators in ``tmp_path`` with chosen settings; all are stopped at
  teardown. Calling it again with the same ``state_dir`` restarts on the same state.
- ``emulator``: one emulator for the session (short keepalive); faults are cleared after each
  test. Tests that expire tokens or change schemas must use ``emulator_factory`` instead.
- ``pubsub``: a :class:`helpers.pubsub_client.PubSubClient` connected to ``emulator``.
- ``pg_server``: one throwaway PostgreSQL for the session (:mod:`helpers.postgres`), skipped
  with the reason when no PostgreSQL binaries are installed; ``pg_dsn``: a DSN on a fresh schema.

Test helpers live in ``tests/helpers`` and are imported as ``helpers.<module>`` (pytest puts
this directory on ``sys.path`` because it holds this conftest and no ``__init__.py``).
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import EmulatorFactory
from helpers.children import HITS_ENV, merge_child_hits
from helpers.inbox_places import InboxPlace, PgPlace, SqlitePlace
from helpers.ports import reserved_port
from helpers.postgres import PgServer, find_bindir
from helpers.pubsub_client import PubSubClient

from emulator.catalog import Catalog
from emulator.pubsub.service import PubSubService
from emulator.pubsub.subscribe import StreamSettings, SubscribeStream
from emulator.schema import build_catalog
from emulator.server import Emulator, EmulatorSettings
from proto import pubsub_api_pb2 as pb


def pytest_configure(config: pytest.Config) -> None:
    """Under mutmut's stats run, give daemon subprocesses somewhere to report what they ran."""
    if os.environ.get("MUTANT_UNDER_TEST") == "stats" and HITS_ENV not in os.environ:
        os.environ[HITS_ENV] = tempfile.mkdtemp(prefix="mutmut-hits-")


# Fixtures that start an emulator (about a second) or the daemon as a subprocess (more).
_EMULATOR_FIXTURES = frozenset({"emulator_factory", "_session_emulator", "harness_factory"})
_DAEMON_FIXTURES = frozenset({"rig", "make_rig"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With a mutant active (``make mutate``), run the mutated module's own tests first, then
    plain unit tests, then emulator tests, then daemon tests, each group cheapest first (its
    clean duration): mutmut stops at the first failure, so most mutants die in milliseconds,
    and the budget below keeps as many tests as fit (a test that starts an emulator through
    a fixture not named above only shows up by its duration)."""
    if os.environ.get("MUTANT_UNDER_TEST") == "":  # mutmut's clean pass (unset outside mutmut)
        durations = _clean_durations()
        items.sort(key=lambda item: durations.get(item.nodeid, 1.0))
        _keep_within_budget(config, items, "MUTATE_CLEAN_S")
        return
    if "__mutmut_" not in os.environ.get("MUTANT_UNDER_TEST", ""):
        return  # not running a mutant (stats, listing tests, forced fail)

    mutant = os.environ["MUTANT_UNDER_TEST"]
    module = mutant.split(".")[1] if mutant.count(".") >= 2 else ""  # subscriber.flow.x_f__mutmut_1
    durations = _clean_durations()

    def cost(item: pytest.Item) -> tuple[int, int, float]:
        used = set(getattr(item, "fixturenames", ()))
        weight = 2 if used & _DAEMON_FIXTURES else 1 if used & _EMULATOR_FIXTURES else 0
        own = 0 if module and module in item.path.stem else 1
        return (own, weight, durations.get(item.nodeid, 1.0))

    items.sort(key=cost)
    _keep_within_budget(config, items, "MUTATE_BUDGET_S")


def _clean_durations() -> dict[str, float]:
    """Each test's clean duration from mutmut's stats (``{}`` before the stats pass)."""
    stats = Path("mutmut-stats.json")  # mutmut runs the tests from inside mutants/
    if not stats.exists():
        return {}
    durations: dict[str, float] = json.loads(stats.read_text()).get("duration_by_test", {})
    return durations


def _keep_within_budget(config: pytest.Config, items: list[pytest.Item], variable: str) -> None:
    """``MUTATE_BUDGET_S``: run a mutant's tests, in the order above, only until their clean
    durations (mutmut's stats) add up to this many seconds; the rest are deselected. A mutant
    that survives the budget is reported as surviving: raise the budget to look further.

    ``MUTATE_CLEAN_S`` does the same for mutmut's clean pass, which otherwise reruns unmutated
    every test any selected mutant uses: for a package that is the whole suite again, right
    after the stats pass ran it unmutated (and failed the run if a test failed)."""
    budget_s = float(os.environ.get(variable, "0") or 0)
    durations = _clean_durations()
    if budget_s <= 0 or not durations:
        return
    kept, spent_s = [], 0.0
    for item in items:
        if kept and spent_s + durations.get(item.nodeid, 1.0) > budget_s:
            break
        kept.append(item)
        spent_s += durations.get(item.nodeid, 1.0)
    if len(kept) < len(items):
        config.hook.pytest_deselected(items=items[len(kept):])
        items[:] = kept


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    """Before mutmut's own teardown hook reads the stats: add what finished children ran."""
    merge_child_hits()


# Short keepalives so tests can wait for one; a long idle timeout so streams stay open.
SESSION_STREAM = StreamSettings(keepalive_s=0.5, idle_timeout_s=30.0)


@pytest.fixture
def emulator_factory(tmp_path: Path) -> Iterator[EmulatorFactory]:
    """``start(state_dir=None, stream=None, token_lifetime_s=7200.0, **settings) -> Emulator``."""
    started: list[Emulator] = []

    def start(
        state_dir: Path | None = None,
        stream: StreamSettings | None = None,
        token_lifetime_s: float = 7200.0,
        **settings: Any,
    ) -> Emulator:
        emu = Emulator(
            EmulatorSettings(
                state_dir=state_dir or tmp_path / "state",
                stream=stream or SESSION_STREAM,
                token_lifetime_s=token_lifetime_s,
                **settings,
            )
        )
        started.append(emu.start())
        return emu

    yield start
    for emu in reversed(started):
        emu.stop()


@pytest.fixture(scope="session")
def _session_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    state = tmp_path_factory.mktemp("emulator-state")
    with Emulator(EmulatorSettings(state_dir=state, stream=SESSION_STREAM)) as emu:
        yield emu


@pytest.fixture
def emulator(_session_emulator: Emulator) -> Iterator[Emulator]:
    yield _session_emulator
    _session_emulator.context.pubsub_faults.clear()


@pytest.fixture
def pubsub(emulator: Emulator) -> Iterator[PubSubClient]:
    with PubSubClient(emulator.info()) as client:
        yield client


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """Started on first use, stopped (pg_ctl stop) and removed at the end of the session."""
    bindir = find_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not found: install PostgreSQL "
                    "(e.g. apt-get install postgresql) or set LIFECYCLE_SYNC_PG_BIN")
    server = PgServer(bindir)
    try:
        server.start()  # binaries present but no server: a failure, never a skip
        yield server
    finally:
        server.destroy()


@pytest.fixture
def pg_dsn(pg_server: PgServer) -> str:
    return pg_server.new_schema()


@pytest.fixture
def inbox_backend(request: pytest.FixtureRequest) -> str:
    """``sqlite`` unless a test module asks for both (``helpers.inbox_places.BOTH_BACKENDS``)."""
    return str(getattr(request, "param", "sqlite"))



@pytest.fixture
def inbox_place(inbox_backend: str, request: pytest.FixtureRequest, tmp_path: Path
                ) -> Iterator[InboxPlace]:
    """The test's inbox: the SQLite file, or a fenced fresh PostgreSQL schema
    (:mod:`helpers.inbox_places`)."""
    place: InboxPlace = (SqlitePlace(tmp_path / "inbox.db") if inbox_backend == "sqlite"
                         else PgPlace(request.getfixturevalue("pg_dsn")))
    yield place
    place.close()


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    """The emulator's catalog, built from our SFDX metadata (``salesforce/``)."""
    return build_catalog()


@pytest.fixture
def subscribed(monkeypatch: pytest.MonkeyPatch) -> list[threading.Event]:
    """One Event per Subscribe the in-process emulator starts, set once its start position is
    fixed: events published after that are delivered to it. It wraps the real method (a probe,
    not a stand-in), so tests can wait for "subscribed" instead of sleeping."""
    started = [threading.Event() for _ in range(10)]
    real = SubscribeStream._start_position
    count = [0]
    lock = threading.Lock()  # Subscribe calls arrive on several gRPC server threads at once

    def recording(self: SubscribeStream, first: pb.FetchRequest) -> int:
        position = real(self, first)
        with lock:
            n = count[0]
            count[0] += 1
        started[n].set()
        return position

    monkeypatch.setattr(SubscribeStream, "_start_position", recording)
    return started


@pytest.fixture
def deny_subscribe(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Topics added to the returned set are answered by every in-process emulator's
    ``GetTopic`` with ``can_subscribe=false``, as Salesforce answers a user whose permission
    sets do not allow subscribing (the emulator has no permission model of its own). It wraps
    the real method: everything else in the answer is the emulator's. gRPC binds handlers when
    a server starts: request this fixture before any fixture that starts an emulator."""
    denied: set[str] = set()
    real = PubSubService.GetTopic

    def answer(self: PubSubService, request: pb.TopicRequest, context: Any) -> pb.TopicInfo:
        info = real(self, request, context)
        if info.topic_name in denied:
            info.can_subscribe = False
        return info

    monkeypatch.setattr(PubSubService, "GetTopic", answer)
    return denied


@pytest.fixture
def held_port() -> Iterator[int]:
    """A port for the daemon's metrics server, held by the test until the daemon binds it and
    for the rest of the test (:func:`helpers.ports.reserved_port`): no pick-then-release race."""
    with reserved_port() as port:
        yield port
