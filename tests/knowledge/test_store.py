"""Versions, publish, history, rollback and export round-trip, on SQLite and PostgreSQL."""

from pathlib import Path

import pytest

from knowledge.errors import NoPublishedVersion, VersionNotFound
from knowledge.schema import load_entries
from knowledge.store import KnowledgeStore, snapshot_hash


@pytest.fixture
def store(db_url: str) -> KnowledgeStore:
    return KnowledgeStore(db_url)


def _edited(entry, **changes):
    return entry.model_copy(update=changes)


def test_import_publish_history_rollback(store: KnowledgeStore, kb_entries) -> None:
    with pytest.raises(NoPublishedVersion):
        store.snapshot()
    first = store.import_entries(kb_entries, actor="alice", note="initial", full_snapshot=True)
    assert first.version == 1 and len(first.added) == len(kb_entries)
    assert store.publish(actor="alice") == 1
    assert store.snapshot().version == 1

    # Re-importing the same content makes no version.
    assert store.import_entries(kb_entries, actor="alice", full_snapshot=True).unchanged

    s02 = next(e for e in kb_entries if e.id == "S02")
    second = store.import_entries([_edited(s02, summary="Tóm tắt mới cho thủ tục.")],
                                  actor="bob", note="fix summary", full_snapshot=False)
    assert second.version == 2 and second.changed == {"S02": ["summary"]}
    # A draft does not change what is published.
    assert store.snapshot().version == 1
    assert store.publish(actor="carol") == 2
    statuses = {v.number: v.status for v in store.versions()}
    assert statuses == {1: "archived", 2: "published"}
    assert next(e for e in store.snapshot().entries if e.id == "S02").summary.startswith("Tóm tắt")

    history = store.history("S02")
    assert [(h["action"], h["change"], h["actor"]) for h in history] == [
        ("import", "added", "alice"), ("import", "changed", "bob")]
    assert history[1]["fields"] == ["summary"]

    rolled = store.rollback(1, actor="dave")
    assert rolled == 3
    snap = store.snapshot()
    assert snap.version == 3
    assert next(e for e in snap.entries if e.id == "S02").summary == s02.summary
    assert store.history("S02")[-1]["action"] == "rollback"
    with pytest.raises(VersionNotFound):
        store.rollback(99, actor="dave")


def test_export_round_trips(store: KnowledgeStore, kb_entries, tmp_path: Path) -> None:
    store.import_entries(kb_entries, actor="t", full_snapshot=True)
    store.publish(actor="t")
    files = store.export(tmp_path / "out", actor="t")
    assert len(files) == len(kb_entries)
    again = load_entries(tmp_path / "out")
    before = {e.id: e.to_data() for e in kb_entries}
    after = {e.id: e.to_data() for e in again}
    assert snapshot_hash(before) == snapshot_hash(after)
    assert store.import_entries(again, actor="t", full_snapshot=True).unchanged


def test_folder_import_removes_missing_topics(store: KnowledgeStore, kb_entries) -> None:
    store.import_entries(kb_entries, actor="t", full_snapshot=True)
    result = store.import_entries(kb_entries[1:], actor="t", full_snapshot=True)
    assert result.removed == [kb_entries[0].id]
    assert store.history(kb_entries[0].id)[-1]["change"] == "removed"
