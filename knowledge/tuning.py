"""Adapt the embedding model to the domain by fine-tuning on pairs made from the KB itself.

Pairs: an anchor (alias, FAQ question, title, step text, common problem; as written, with a
dropped syllable, with a typo) and a positive (another passage of the same entry). Loss:
in-batch negatives (MultipleNegativesRankingLoss: cross-entropy over scaled cosine
similarities), batches holding each entry at most once. The evaluation sets never feed it.

The tuned model is a versioned artefact under var/models/tuned/<name>/; current.json says
whether it beat the base model on the development set and so whether the index uses it.
"""

from __future__ import annotations

import json
import random
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.settings import Settings
from core.text import normalize, normalize_keep_diacritics
from knowledge.dense import load_model, model_fingerprint, resolve_model_path
from knowledge.index import TUNED_MANIFEST, build_retriever, calibrate
from knowledge.passages import Passage, build_passages
from knowledge.schema import Entry
from knowledge.store import Snapshot

TRAIN_MAX_TOKENS = 64


@dataclass
class TuneReport:
    path: Path
    pairs: int
    steps: int
    seconds: float
    base_mrr: float
    tuned_mrr: float
    used: bool
    reused: bool = False


def _augment(text: str, rng: random.Random) -> str:
    words = text.split()
    choice = rng.random()
    if choice < 0.3 and len(words) > 3:
        del words[rng.randrange(len(words))]
    elif choice < 0.5 and words:
        i = rng.randrange(len(words))
        w = words[i]
        if len(w) > 3:
            j = rng.randrange(len(w) - 1)
            words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:]
    return " ".join(words)


def make_pairs(entries: list[Entry], *, seed: int = 13, per_anchor: int = 2
               ) -> list[tuple[str, str, str]]:
    """(entry_id, anchor, positive) pairs from the KB only."""
    rng = random.Random(seed)
    by_entry: dict[str, list[Passage]] = {}
    for p in build_passages(entries):
        by_entry.setdefault(p.entry_id, []).append(p)
    pairs = []
    for entry_id, passages in by_entry.items():
        anchors = [p for p in passages if p.kind in {"alias", "faq", "problem", "title", "step"}]
        targets = [p for p in passages if p.kind in {"title", "summary", "alias", "faq"}]
        for anchor in anchors:
            for _ in range(per_anchor):
                positive = rng.choice([t for t in targets if t.text != anchor.text] or targets)
                pairs.append((entry_id, _augment(anchor.text, rng), positive.text))
    rng.shuffle(pairs)
    return pairs


def _batches(pairs: list[tuple[str, str, str]], batch_size: int, rng: random.Random
             ) -> list[list[tuple[str, str, str]]]:
    """Batches in which every entry appears at most once (no false in-batch negatives)."""
    pending = list(pairs)
    rng.shuffle(pending)
    batches = []
    while pending:
        batch, seen, rest = [], set(), []
        for pair in pending:
            if len(batch) < batch_size and pair[0] not in seen:
                batch.append(pair)
                seen.add(pair[0])
            else:
                rest.append(pair)
        batches.append(batch)
        pending = rest
    return [b for b in batches if len(b) >= 4]


def train(model: Any, pairs: list[tuple[str, str, str]], *, settings: Settings, epochs: int,
          batch_size: int, lr: float, seed: int, progress: bool) -> int:
    import torch
    from tqdm import tqdm

    torch.manual_seed(seed)
    prep = normalize if settings.dense_text == "folded" else normalize_keep_diacritics
    rng = random.Random(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    model.train()
    steps = 0
    plan = [b for _ in range(epochs) for b in _batches(pairs, batch_size, rng)]
    scale = 20.0
    for batch in tqdm(plan, desc="fine-tuning", disable=not progress, unit="batch"):
        anchors = [settings.query_prefix + prep(a) for _, a, _ in batch]
        positives = [settings.passage_prefix + prep(p) for _, _, p in batch]
        feats_a = {k: v for k, v in model.tokenize(anchors).items()}
        feats_p = {k: v for k, v in model.tokenize(positives).items()}
        emb_a = torch.nn.functional.normalize(model(feats_a)["sentence_embedding"], dim=-1)
        emb_p = torch.nn.functional.normalize(model(feats_p)["sentence_embedding"], dim=-1)
        logits = emb_a @ emb_p.T * scale
        labels = torch.arange(len(batch))
        loss = (torch.nn.functional.cross_entropy(logits, labels)
                + torch.nn.functional.cross_entropy(logits.T, labels)) / 2
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        steps += 1
    model.eval()
    return steps


def tune_embeddings(snapshot: Snapshot, settings: Settings, *, epochs: int = 1,
                    batch_size: int = 32, lr: float = 3e-5, seed: int = 13,
                    progress: bool = False, force: bool = False) -> TuneReport:
    """Fine-tune the configured model on KB pairs; keep it only if it beats the base."""
    from sentence_transformers import SentenceTransformer

    started = time.perf_counter()
    base_path = resolve_model_path(settings.embedding_model)
    name = (f"{Path(base_path).name}-kb{snapshot.content_hash[:8]}-e{epochs}-s{seed}"
            f"-{settings.dense_text}")
    root = settings.models_dir / "tuned"
    target = root / name
    manifest_path = settings.models_dir / TUNED_MANIFEST
    if not force and manifest_path.exists():
        info = json.loads(manifest_path.read_text())
        if info.get("name") == name and Path(info.get("path", "")).exists():
            return TuneReport(target, info["pairs"], info["steps"], 0.0, info["base_mrr"],
                              info["tuned_mrr"], info["use"], reused=True)

    base_retriever, _, _ = build_retriever(snapshot, settings, base_path, progress=False)
    base_cal = calibrate(base_retriever, settings)

    pairs = make_pairs(snapshot.entries, seed=seed)
    model = SentenceTransformer(base_path, device="cpu")  # a fresh copy, not the cached one
    full_length = model.max_seq_length
    model.max_seq_length = min(full_length, TRAIN_MAX_TOKENS)  # questions and aliases are short
    steps = train(model, pairs, settings=settings, epochs=epochs, batch_size=batch_size, lr=lr,
                  seed=seed, progress=progress)
    model.max_seq_length = full_length
    tmp = root / f".{name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    model.save(str(tmp))
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)

    tuned_retriever, _, _ = build_retriever(snapshot, settings, str(target), progress=False)
    tuned_cal = calibrate(tuned_retriever, settings)
    base_mrr = float(base_cal.metrics.get("mrr", 0.0))
    tuned_mrr = float(tuned_cal.metrics.get("mrr", 0.0))
    used = tuned_mrr > base_mrr
    seconds = time.perf_counter() - started
    info = {
        "name": name, "path": str(target), "base_model": base_path,
        "base_fingerprint": model_fingerprint(base_path), "kb_hash": snapshot.content_hash,
        "pairs": len(pairs), "steps": steps, "epochs": epochs, "seconds": round(seconds, 1),
        "base_mrr": base_mrr, "tuned_mrr": tuned_mrr, "use": used,
        "decided_on": settings.dev_set.name, "built_at": datetime.now(UTC).isoformat(),
    }
    manifest_path.parent.mkdir(parents=True, exist_ok=True)
    manifest_path.write_text(json.dumps(info, indent=2))
    for old in root.iterdir():
        if old.is_dir() and old.name != name and not old.name.startswith("."):
            shutil.rmtree(old, ignore_errors=True)
    load_model(str(target))  # warm the cache for the index build that follows
    return TuneReport(target, len(pairs), steps, seconds, base_mrr, tuned_mrr, used)
