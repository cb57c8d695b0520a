"""The connection pool on PostgreSQL: idle connections are tested before use, busy ones not."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text

from core import db
from tests.conftest import POSTGRES_ADMIN_URL, _postgres_database

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_url():
    gen = _postgres_database()
    yield next(gen)
    gen.close()


def _backend_pid(url: str) -> int:
    with db.session_scope(url) as s:
        return s.scalar(text("SELECT pg_backend_pid()"))


def _terminate(pid: int) -> None:
    admin = POSTGRES_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (pid,))


def test_a_connection_killed_while_idle_is_replaced_without_an_error(pg_url, monkeypatch):
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
    first = _backend_pid(pg_url)
    _terminate(first)  # the server drops it, as after a restart or an idle timeout
    assert _backend_pid(pg_url) != first  # pinged at checkout, replaced, no error


def test_a_connection_used_a_moment_ago_is_not_pinged(pg_url, monkeypatch):
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 3600.0)
    engine = db.get_engine(pg_url)
    pings = []
    original = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda conn: pings.append(1) or original(conn))
    pid = _backend_pid(pg_url)
    for _ in range(5):
        assert _backend_pid(pg_url) == pid  # the same pooled connection
    assert pings == []
    # ... and when it was killed meanwhile, that one call fails; the next one reconnects
    _terminate(pid)
    with pytest.raises(db.DatabaseError):
        _backend_pid(pg_url)
    assert _backend_pid(pg_url) != pid
