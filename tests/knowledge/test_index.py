"""The index as an artefact: import -> publish -> build -> search on SQLite and PostgreSQL,
an atomic switch while queries run, and clear errors when something is missing."""

import threading
import time

import pytest

from knowledge.errors import EmptyKnowledgeBase, IndexNotBuiltError
from knowledge.index import build_index, current_artefact, load_current
from knowledge.service import KnowledgeService
from knowledge.store import KnowledgeStore, Snapshot

pytestmark = pytest.mark.slow


def test_import_publish_build_search(settings, kb_entries) -> None:
    store = KnowledgeStore(settings.database_url)
    store.import_entries(kb_entries, actor="t", full_snapshot=True)
    store.publish(actor="t")
    report = build_index(store.snapshot(), settings.model_copy(update={"use_tuned_model": False}))
    assert report.passages > len(kb_entries) * 10 and not report.reused
    assert current_artefact(settings).name == report.name
    # Same content again: the artefact is reused, not rebuilt.
    assert build_index(store.snapshot(), settings.model_copy(
        update={"use_tuned_model": False})).reused
    service = KnowledgeService(settings)
    assert service.search("đổi cccd").results[0].id == "S02"
    assert service.info()["kb_version"] == 1
    assert service.info()["query_encoder"] == "onnx"  # the default, exported on first load
    assert list((settings.models_dir / "onnx").glob("query-encoder-*.onnx"))
    plain = KnowledgeService(settings.model_copy(update={"query_encoder": "torch"}))
    assert plain.info()["query_encoder"] == "torch"
    assert [h.id for h in plain.search("đổi cccd").results] == \
        [h.id for h in service.search("đổi cccd").results]


def test_missing_index_and_empty_kb_name_the_fix(tmp_path, built_index) -> None:
    s = built_index.model_copy(update={"data_dir": tmp_path / "empty"})
    with pytest.raises(IndexNotBuiltError, match="govbot kb build-index"):
        load_current(s)
    with pytest.raises(EmptyKnowledgeBase, match="govbot kb import"):
        build_index(Snapshot(1, "0" * 64, []), s)


def test_version_switch_while_queries_run(built_index, kb_entries, tmp_path) -> None:
    """As in a server (`server=True`): the loaded index is frozen out of full garbage
    collections, and the replaced one is freed, not kept frozen."""
    import gc
    import shutil
    import weakref

    data = tmp_path / "var"
    shutil.copytree(built_index.data_dir, data)
    s = built_index.model_copy(update={"data_dir": data, "reload_check_seconds": 0.05})
    try:
        _switch_while_queries_run(KnowledgeService(s, server=True), s, kb_entries, weakref)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def _switch_while_queries_run(service, s, kb_entries, weakref) -> None:
    old_name = service.index_name
    old_retriever = weakref.ref(service.retriever)
    errors: list[BaseException] = []
    seen_versions: set = set()
    stop = threading.Event()

    def query_loop() -> None:
        while not stop.is_set():
            try:
                r = service.search("kích hoạt vneid")
                assert r.results and r.results[0].id == "EID03"
                seen_versions.add(r.kb_version)
            except BaseException as exc:  # noqa: BLE001 - collected and re-raised below
                errors.append(exc)

    threads = [threading.Thread(target=query_loop) for _ in range(3)]
    for t in threads:
        t.start()
    s02 = next(e for e in kb_entries if e.id == "S02")
    new_entries = [e for e in kb_entries if e.id != "S02"] + [
        s02.model_copy(update={"summary": "Phiên bản mới của tóm tắt."})]
    report = build_index(Snapshot(2, "f" * 64, new_entries), s)
    deadline = time.monotonic() + 30
    while service.index_name == old_name and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    stop.set()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    assert service.index_name == report.name
    assert seen_versions == {1, 2}
    assert service.get_entry("S02").summary == "Phiên bản mới của tóm tắt."
    assert old_retriever() is None  # the replaced index is freed
