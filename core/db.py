"""Database engine and session factory (SQLAlchemy 2). One factory for the whole process."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.orm import Session, sessionmaker


class DatabaseError(RuntimeError):
    """The database is unreachable or not migrated; the message names the fix."""


# A pooled connection idle for longer than this is tested ("SELECT 1") before use.
PING_AFTER_IDLE_SECONDS = 5.0


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets its folder, foreign keys and WAL mode."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        return engine
    engine = create_engine(url, pool_size=10, max_overflow=20)
    _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: Engine) -> None:
    """Test a pooled connection before use only when it sat idle (SQLAlchemy's
    `pool_pre_ping` tests on every checkout: under load a round trip per transaction, about
    10% of the gateway's CPU in a profile, for connections used milliseconds ago). A stale
    connection (the server restarted, an idle timeout) fails the test and the pool opens a
    new one. One used within the last seconds is trusted; if the server went away in
    between, that one operation fails, the pool drops all its connections, and the callers'
    retries (webhooks redelivered, deliveries released) get fresh ones."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn, record) -> None:  # type: ignore[no-untyped-def]
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn, record, _proxy) -> None:  # type: ignore[no-untyped-def]
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
            return  # new, or used a moment ago
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:  # the pool replaces the connection and tries again
            raise DisconnectionError(f"stale pooled connection: {exc}") from exc


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    return make_engine(url)


@lru_cache(maxsize=8)
def get_sessionmaker(url: str) -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(url), expire_on_commit=False)


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """A transaction: commit on success, roll back on error, always close."""
    session = get_sessionmaker(url)()
    try:
        yield session
        session.commit()
    except OperationalError as exc:
        session.rollback()
        raise DatabaseError(describe_connection_error(url, exc)) from exc
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()


def redact_url(url: str) -> str:
    """The URL without its password, for messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url


def describe_connection_error(url: str, exc: Exception) -> str:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return (
        f"Cannot use the database at {redact_url(url)} ({first}). "
        "Check GOVBOT_DATABASE_URL / DATABASE_URL and that the server is running, "
        "then run `govbot db upgrade`."
    )


def check_schema(url: str) -> None:
    """Raise DatabaseError with the fix when the database is unreachable or not migrated."""
    try:
        with get_engine(url).connect() as conn:
            tables = set(inspect(conn).get_table_names())
    except OperationalError as exc:
        raise DatabaseError(describe_connection_error(url, exc)) from exc
    if "kb_versions" not in tables:
        raise DatabaseError(
            f"The database at {redact_url(url)} has no tables yet. Run `govbot db upgrade`."
        )
