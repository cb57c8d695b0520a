"""Shared fixtures: databases (SQLite and PostgreSQL), settings in a temporary data folder,
the real knowledge base, and one search index built from it for the whole session."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.migrate import upgrade
from core.settings import PROJECT_ROOT, Settings, get_settings

os.environ.setdefault("GOVBOT_ACTIONS_WARMUP", "0")  # tests inject their services
POSTGRES_ADMIN_URL = os.environ.get(
    "GOVBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
KB_DIR = PROJECT_ROOT / "knowledge" / "topics"


def _postgres_database() -> Iterator[str]:
    import psycopg

    name = f"govbot_test_{uuid.uuid4().hex[:10]}"
    admin = POSTGRES_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    try:
        conn = psycopg.connect(admin, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {exc}. Start it "
                    "(see README, 'Services') or set GOVBOT_TEST_POSTGRES_URL.")
    conn.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        from core.db import get_engine

        get_engine(f"{base}/{name}").dispose()
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated database: SQLite file, then a new PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.db'}"
        upgrade(url)
        yield url
        return
    gen = _postgres_database()
    url = next(gen)
    upgrade(url)
    yield url
    gen.close()


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "var", database_url=db_url)


@pytest.fixture
def env_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """The same settings exported as environment variables (for the CLI and the web app)."""
    monkeypatch.setenv("GOVBOT_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("GOVBOT_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    yield settings
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def kb_entries():
    from knowledge.schema import load_entries

    return load_entries(KB_DIR)


@pytest.fixture(scope="session")
def built_index(tmp_path_factory, kb_entries):
    """Settings whose data folder holds a search index of the whole KB (base model)."""
    from knowledge.index import build_index
    from knowledge.store import KnowledgeStore

    root = tmp_path_factory.mktemp("built")
    url = f"sqlite:///{root / 'kb.db'}"
    upgrade(url)
    s = Settings(data_dir=root / "var", database_url=url, use_tuned_model=False)
    store = KnowledgeStore(url)
    store.import_entries(kb_entries, actor="test", full_snapshot=True)
    store.publish(actor="test")
    build_index(store.snapshot(), s)
    return s


@pytest.fixture(scope="session")
def service(built_index):
    from knowledge.service import KnowledgeService

    return KnowledgeService(built_index)
