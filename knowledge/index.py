"""The search index as a versioned build artefact, switched atomically.

An artefact is a folder `var/index/<name>/` holding the entries, passages, the FAISS index
and `meta.json` (KB version, model, calibration). `var/index/CURRENT` names the artefact in
use and is replaced atomically (write + rename), so a running service switches between two
complete artefacts and never sees a half-written one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faiss

from core.settings import Settings
from knowledge.dense import (
    build_faiss,
    encode,
    load_model,
    model_fingerprint,
    prepare,
    resolve_model_path,
)
from knowledge.errors import EmptyKnowledgeBase, IndexNotBuiltError
from knowledge.evaluation import fit_calibration, load_questions, score_questions
from knowledge.onnx_encoder import query_encoder
from knowledge.passages import Passage, build_passages
from knowledge.retrieval import Calibration, Retriever
from knowledge.schema import Entry, load_out_of_scope
from knowledge.store import Snapshot

POINTER = "CURRENT"
# Bump when passages, scoring or calibration change, so `make setup` rebuilds the index.
ARTEFACT_FORMAT = "3"
KEEP_ARTEFACTS = 3
TUNED_MANIFEST = "tuned/current.json"


@dataclass
class BuildReport:
    name: str
    path: Path
    passages: int
    seconds: float
    model: str
    calibration: Calibration
    reused: bool = False


def choose_model(settings: Settings) -> tuple[str, str]:
    """(model path, label): the tuned model when it beat the base model, else the base."""
    base = resolve_model_path(settings.embedding_model)
    manifest = settings.models_dir / TUNED_MANIFEST
    if settings.use_tuned_model and manifest.exists():
        info = json.loads(manifest.read_text())
        tuned = Path(info.get("path", ""))
        if info.get("use") and info.get("base_model") == base and tuned.exists():
            return str(tuned), f"tuned:{tuned.name}"
    return base, f"base:{Path(base).name}"


def current_artefact(settings: Settings) -> Path | None:
    pointer = settings.index_dir / POINTER
    if not pointer.exists():
        return None
    path = settings.index_dir / pointer.read_text().strip()
    return path if (path / "meta.json").exists() else None


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def make_retriever(entries: list[Entry], passages: list[Passage], faiss_index: Any, model: Any,
                   calibration: Calibration, settings: Settings,
                   kb_version: int | None) -> Retriever:
    return Retriever(entries=entries, passages=passages, faiss_index=faiss_index, model=model,
                     calibration=calibration, query_prefix=settings.query_prefix,
                     dense_text=settings.dense_text, max_chars=settings.query_max_chars,
                     kb_version=kb_version)


def build_retriever(snapshot: Snapshot, settings: Settings, model_path: str, *,
                    progress: bool = False) -> tuple[Retriever, Any, list[Passage]]:
    """Encode the passages of a snapshot with a model (no files written)."""
    if not snapshot.entries:
        raise EmptyKnowledgeBase(
            "The published knowledge base has no entries. Import some with "
            "`govbot kb import knowledge/topics` and publish them (`govbot kb publish`).")
    passages = build_passages(snapshot.entries, load_out_of_scope(settings.out_of_scope_file))
    model = load_model(model_path, threads=None)
    vectors = encode(model, prepare([p.text for p in passages], prefix=settings.passage_prefix,
                                    mode=settings.dense_text), show_progress=progress)
    index = build_faiss(vectors)
    retriever = make_retriever(snapshot.entries, passages, index, model, Calibration(), settings,
                               snapshot.version)
    return retriever, index, passages


def calibrate(retriever: Retriever, settings: Settings) -> Calibration:
    if settings.dev_set.exists():
        questions = load_questions(settings.dev_set)
        return fit_calibration(score_questions(retriever, questions),
                               source=settings.dev_set.name)
    return Calibration()


def build_index(snapshot: Snapshot, settings: Settings, *, progress: bool = False,
                force: bool = False) -> BuildReport:
    """Build (or reuse) the artefact for `snapshot` and make it current."""
    started = time.perf_counter()
    model_path, model_label = choose_model(settings)
    inputs = hashlib.sha256(f"{ARTEFACT_FORMAT}|{snapshot.content_hash}".encode())
    for extra in (settings.out_of_scope_file, settings.dev_set):
        inputs.update(extra.read_bytes() if extra.exists() else b"-")
    inputs.update(f"{settings.dense_text}|{settings.query_prefix}|{settings.passage_prefix}"
                  .encode())
    name = f"kb{snapshot.version}-{inputs.hexdigest()[:10]}-{model_fingerprint(model_path)}"
    root = settings.index_dir
    root.mkdir(parents=True, exist_ok=True)
    target = root / name
    if target.exists() and (target / "meta.json").exists() and not force:
        meta = json.loads((target / "meta.json").read_text())
        _write_atomic(root / POINTER, name)
        return BuildReport(name, target, meta["passages"], time.perf_counter() - started,
                           model_label, Calibration(**meta["calibration"]), reused=True)
    retriever, index, passages = build_retriever(snapshot, settings, model_path,
                                                 progress=progress)
    calibration = calibrate(retriever, settings)
    tmp = root / f".{name}.tmp{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    (tmp / "entries.json").write_text(
        json.dumps([e.to_data() for e in snapshot.entries], ensure_ascii=False))
    with (tmp / "passages.jsonl").open("w", encoding="utf-8") as f:
        for p in passages:
            f.write(json.dumps(p.as_dict(), ensure_ascii=False) + "\n")
    faiss.write_index(index, str(tmp / "dense.faiss"))
    meta = {
        "name": name, "kb_version": snapshot.version, "content_hash": snapshot.content_hash,
        "model_path": model_path, "model": model_label, "dense_text": settings.dense_text,
        "query_prefix": settings.query_prefix, "passage_prefix": settings.passage_prefix,
        "passages": len(passages), "entries": len(snapshot.entries),
        "calibration": calibration.as_dict(),
        "built_at": datetime.now(UTC).isoformat(),
    }
    (tmp / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2))
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)
    _write_atomic(root / POINTER, name)
    _prune(root, keep={name})
    return BuildReport(name, target, len(passages), time.perf_counter() - started, model_label,
                       calibration)


def _prune(root: Path, keep: set[str]) -> None:
    artefacts = sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
                       key=lambda p: p.stat().st_mtime, reverse=True)
    for old in artefacts[KEEP_ARTEFACTS:]:
        if old.name not in keep:
            shutil.rmtree(old, ignore_errors=True)


def load_artefact(path: Path, settings: Settings) -> Retriever:
    """Load one artefact folder into a Retriever (the model is loaded once per process)."""
    try:
        meta = json.loads((path / "meta.json").read_text())
        entries = [Entry.model_validate(d) for d in json.loads((path / "entries.json").read_text())]
        passages = [Passage(**json.loads(line))
                    for line in (path / "passages.jsonl").read_text(encoding="utf-8").splitlines()]
        index = faiss.read_index(str(path / "dense.faiss"))
    except (OSError, ValueError, RuntimeError) as exc:
        raise IndexNotBuiltError(
            f"The search index at {path} is unreadable ({exc}). "
            "Rebuild it with `govbot kb build-index --force`.") from exc
    model = load_model(meta["model_path"], threads=settings.torch_threads)
    if settings.query_encoder == "onnx":
        model = query_encoder(model, meta["model_path"], settings.models_dir / "onnx",
                              threads=settings.torch_threads)
    return Retriever(entries=entries, passages=passages, faiss_index=index, model=model,
                     calibration=Calibration(**meta["calibration"]),
                     query_prefix=meta.get("query_prefix", ""),
                     dense_text=meta.get("dense_text", "folded"),
                     max_chars=settings.query_max_chars, kb_version=meta["kb_version"])


def load_current(settings: Settings) -> tuple[str, Retriever]:
    path = current_artefact(settings)
    if path is None:
        raise IndexNotBuiltError(
            f"No search index in {settings.index_dir}. Run `govbot kb build-index` "
            "(or `make setup`, which imports and publishes the knowledge base first).")
    return path.name, load_artefact(path, settings)
