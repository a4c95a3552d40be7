"""The tests' throwaway PostgreSQL (shared with ``benchmarks --backend postgres``)."""

from benchmarks.pg_server import BIN_ENV, PgServer, find_bindir, free_port

__all__ = ["BIN_ENV", "PgServer", "find_bindir", "free_port"]
