"""The reliability rig for issue 12: two nodes on one PostgreSQL, one emulator.

:class:`PgCluster` is a :class:`rel_harness.Cluster` whose inbox is the shared PostgreSQL one
(read straight from its tables, as a third party would) and whose daemons are *nodes*, each
with its own state directory. ``cluster.daemon`` is the active node (the lease holder), so the
harness's kill points hit the active. :meth:`PgCluster.supervise` plays systemd's
``Restart=on-failure``: a node that exited non-zero is started again (as a standby), and the
run-until-idle wait calls it on every poll.

:class:`CutProxy` sits between one node and PostgreSQL: ``cut()`` drops every connection and
refuses new ones (that node is cut off from PostgreSQL but not from Salesforce).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import psycopg
from helpers.children import module_argv
from helpers.postgres import PgServer
from rel_harness import FAST, Cluster, running_cluster
from rel_workload import Workload, make_workload

from benchmarks.rig import Daemon, NotifySocket
from subscriber.pg_schema import upgrade

LEASE_TTL_S = 6.0  # renewed every 2 s: a loaded 2-core CI machine must not miss it
TAKEOVER_WAIT_S = 0.5
# The emulator's call kinds that change records (emulator/org/rest.py, soap.py).
SF_WRITE_KINDS = frozenset({
    "sobject_create", "sobject_update", "sobject_upsert", "sobject_delete", "composite",
    "collections_create", "collections_update", "collections_upsert", "collections_delete",
    "soap_convertLead"})
PG_ENV = {
    "LIFECYCLE_SYNC_INBOX_BACKEND": "postgres",
    "LIFECYCLE_SYNC_INBOX_LEASE_TTL_S": str(LEASE_TTL_S),
    # The production default (TTL + 130 s) would make every takeover last minutes here; the
    # emulator answers each request at once, so no request of a former active is in flight
    # for longer than this. The daemon logs a warning about it, expected.
    "LIFECYCLE_SYNC_INBOX_TAKEOVER_WAIT_S": str(TAKEOVER_WAIT_S),
}


class PgCluster(Cluster):
    dsn: str = ""
    nodes: dict[str, list[Daemon]]

    def node(self, name: str, dsn: str | None = None) -> Daemon:
        """Start (or restart) node ``name`` on its own state directory."""
        notify = NotifySocket(self.sock_dir / f"n{len(self.daemons)}")
        daemon = Daemon(self.info_file, self.work / f"state-{name}",
                        self.work / f"daemon-{name}-{len(self.daemons)}.log",
                        env={**FAST, **PG_ENV, "LIFECYCLE_SYNC_INBOX_DSN": dsn or self.dsn,
                             "NOTIFY_SOCKET": str(notify.path)}, auth="jwt")
        daemon.args[:3] = module_argv("service")
        daemon.node = name  # type: ignore[attr-defined]
        daemon.dsn = dsn  # type: ignore[attr-defined]
        self.notifies.append(notify)
        self.daemons.append(daemon.start())
        self.nodes.setdefault(name, []).append(daemon)
        return daemon

    def query(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.dsn, autocommit=True, connect_timeout=5) as conn:
            return conn.execute(sql, args).fetchall()

    def lease(self) -> tuple[int | None, int]:
        """(PID of the live lease's holder or None, epoch)."""
        try:
            rows = self.query("SELECT holder, epoch, expires_at > now() FROM lsync_lease")
        except psycopg.OperationalError:
            return None, -1
        if not rows:
            return None, 0
        holder, epoch, live = rows[0]
        return (int(holder.split(":")[1]) if live and holder else None), int(epoch)

    def lease_times(self) -> tuple[int, float, float]:
        """(epoch, acquired_at, expires_at) of the lease row, in epoch seconds (the database's
        clock; the emulator's request log uses the same machine's clock)."""
        epoch, acquired, expires = self.query(
            "SELECT epoch, extract(epoch FROM acquired_at)::float8, "
            "extract(epoch FROM expires_at)::float8 FROM lsync_lease")[0]
        return int(epoch), float(acquired), float(expires)

    def sf_writes(self) -> list[dict[str, Any]]:
        """Every Salesforce write request the emulator admitted, in arrival order, each with
        its ``caller`` (one per login session: a node has several), arrival ``at`` and
        ``ran_at``."""
        calls = self.admin("/org/requests")
        assert calls["dropped"] == 0, "the emulator's request log overflowed"
        # the rig's own session (publishing events, changing Leads) is not a node's
        rig = hashlib.sha256(str(self.info["access_token"]).encode()).hexdigest()[:12]
        return [c for c in calls["requests"]
                if c["kind"] in SF_WRITE_KINDS and c["caller"] != rig]

    @property
    def daemon(self) -> Daemon:
        """The active node's process (the newest one when none holds the lease)."""
        pid, _ = self.lease()
        for d in self.daemons:
            if d.proc is not None and d.pid == pid:
                return d
        return self.daemons[-1]

    def wait_active(self, epoch_above: int = 0, timeout_s: float = 60.0) -> Daemon:
        def found() -> Daemon | None:
            self.supervise()
            pid, epoch = self.lease()
            live = [d for d in self.daemons if d.pid == pid and d.proc.poll() is None]  # type: ignore[union-attr]
            return live[0] if live and epoch > epoch_above else None

        from rel_harness import wait_for

        active = wait_for(found, timeout_s, f"an active node above epoch {epoch_above}", 0.1)
        assert active is not None  # wait_for returns only a truthy result
        return active

    def supervise(self) -> None:
        """systemd's Restart=on-failure: restart each node whose newest process exited != 0."""
        for name, runs in self.nodes.items():
            code = runs[-1].proc.poll() if runs[-1].proc is not None else None
            if code not in (None, 0, 78):
                self.node(name, getattr(runs[-1], "dsn", None))

    def inbox_rows(self) -> list[tuple[str, str, str, str]]:
        try:
            rows = self.query(
                "SELECT topic, event_id, status, error FROM lsync_entries ORDER BY id")
            return [cast(tuple[str, str, str, str], tuple(r)) for r in rows]
        except psycopg.OperationalError:
            return []

    def checkpoints(self) -> dict[str, bytes]:
        try:
            return {t: bytes(r) for t, r in self.query(
                "SELECT topic, replay_id FROM lsync_checkpoints")}
        except psycopg.OperationalError:
            return {}

    def idle_now(self, workload: Workload) -> bool:
        self.supervise()
        return super().idle_now(workload)

    def integrity(self) -> str:
        """At most one row per (topic, dedupe key) is the schema's own UNIQUE constraint;
        what can still go wrong across a failover is a row applied at an older epoch than a
        later takeover, which :func:`written_after_takeover` reports."""
        dupes = self.query("SELECT count(*) - count(DISTINCT (topic, dedupe_key)) "
                           "FROM lsync_entries")[0][0]
        return "ok" if dupes == 0 else f"{dupes} duplicate rows"

    def epoch_rows(self, epoch: int) -> list[tuple[Any, ...]]:
        """Every row landed or applied at ``epoch`` (for the no-write-after-waking check)."""
        return self.query("SELECT id, status, landed_epoch, applied_epoch FROM lsync_entries "
                          "WHERE landed_epoch = %s OR applied_epoch = %s ORDER BY id",
                          (epoch, epoch))


@contextlib.contextmanager
def pg_case(work: Path, pg: PgServer, seed: int, events: int) -> Iterator[tuple[PgCluster,
                                                                                Workload]]:
    """An emulator with the workload's org data, a fresh upgraded schema, no node yet."""
    dsn = pg.new_schema()
    with psycopg.connect(dsn, autocommit=True) as conn:
        upgrade(conn)
    with running_cluster(work) as base:
        cluster = PgCluster(**{k: getattr(base, k) for k in (
            "work", "emulator", "info_file", "info", "sf", "sock_dir")})
        cluster.dsn, cluster.nodes = dsn, {}
        try:
            workload = make_workload(seed, events, cluster.info["user_id"])
            cluster.prepare(workload)
            yield cluster, workload
        finally:
            for daemon in cluster.daemons:
                daemon.stop_quietly()
            for notify in cluster.notifies:
                notify.close()
            if cluster._publisher is not None:
                cluster._publisher.close()


class Handover:
    """One change of active, seen in the emulator's request log.

    Built once the old active can no longer renew (killed, frozen or cut off), before its
    lease expires: ``expires_at`` is then the old term's end. :meth:`taken` notes the new
    term's start; the sessions that wrote before it are the former actives' (only an active
    writes, and a new one not before its term plus the takeover wait). :meth:`check` asserts
    the takeover's ordering: the new active's first write arrived no earlier than the old
    term's end plus the takeover wait, and after the old one's last write ran; no write of an
    old session arrived after the new term began."""

    def __init__(self, cluster: PgCluster, epoch: int) -> None:
        found, _, self.expires_at = cluster.lease_times()
        assert found == epoch, f"the lease moved on (epoch {found}) before the handover was seen"
        self.epoch = epoch
        self.acquired_at = 0.0
        self.old_callers: set[str] = set()

    def taken(self, cluster: PgCluster) -> None:
        epoch, self.acquired_at, _ = cluster.lease_times()
        assert epoch > self.epoch
        self.old_callers = {w["caller"] for w in cluster.sf_writes()
                            if w["at"] < self.acquired_at}

    def new_callers(self, cluster: PgCluster) -> set[str]:
        return {w["caller"] for w in cluster.sf_writes()
                if w["at"] >= self.acquired_at} - self.old_callers

    def check(self, cluster: PgCluster) -> str:
        assert self.acquired_at, "taken() was not called"
        writes = cluster.sf_writes()
        old = [w for w in writes if w["caller"] in self.old_callers]
        late = [w for w in old if w["at"] >= self.acquired_at]
        assert not late, f"a former active wrote after epoch {self.epoch}'s end: {late[:3]}"
        new = [w for w in writes if w["caller"] not in self.old_callers]
        assert new, "the new active never wrote to Salesforce"
        first = new[0]["at"]
        assert first >= self.expires_at + TAKEOVER_WAIT_S, (
            f"the new active wrote {self.expires_at + TAKEOVER_WAIT_S - first:.3f} s before the "
            "old term's end plus the takeover wait")
        last_old = max((w["ran_at"] or w["at"] for w in old), default=0.0)
        assert first >= last_old, "the new active wrote before the old one's last write ran"
        return (f"epoch {self.epoch}: the new active's first write came "
                f"{first - self.expires_at:.2f} s after the old term's end; {len(old)} writes "
                "before it")
