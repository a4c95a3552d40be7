"""Which failed connections are the configuration's fault (exit 78) and which may pass
(standby, trying again): by SQLSTATE when the error has one, whatever the server's language;
by libpq's English words only when it has none. These errors are built by hand: psycopg 3.3
reports a real server's start-up refusals (unknown role or database) without an SQLSTATE, so
on a real connection the words decide (tests/failover/test_unreachable_start.py), and a
non-English server's configuration error reads as transient (the safe side: a standby that
logs the server's message each try)."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors

from subscriber.pg_connect import Unreachable, connect_failure

DSN = "host=db.example port=5432 dbname=sync user=lsync"


@pytest.mark.parametrize("exc", [
    errors.InvalidPassword("Passwort-Authentifizierung für Benutzer »lsync« fehlgeschlagen"),
    errors.InvalidAuthorizationSpecification("kein pg_hba.conf-Eintrag für Host"),
    errors.InvalidCatalogName("la base de données « sync » n'existe pas"),
    errors.InsufficientPrivilege("keine Berechtigung für Datenbank sync"),
    psycopg.OperationalError('connection failed: FATAL:  role "lsync" does not exist'),
], ids=["28P01", "28000", "3D000", "42501", "no-sqlstate-english"])
def test_a_configuration_error_is_fatal_in_any_language(exc: psycopg.Error) -> None:
    failure = connect_failure(DSN, exc)
    assert not isinstance(failure, Unreachable), failure


@pytest.mark.parametrize("exc", [
    errors.CannotConnectNow("the database system is starting up"),
    errors.TooManyConnections("sorry, too many clients already; role does not exist"),
    psycopg.OperationalError("connection failed: Connection refused"),
], ids=["57P03", "53300-with-misleading-text", "refused"])
def test_what_may_pass_is_unreachable(exc: psycopg.Error) -> None:
    assert isinstance(connect_failure(DSN, exc), Unreachable)
