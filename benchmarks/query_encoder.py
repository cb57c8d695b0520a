"""Query encoding, PyTorch vs ONNX Runtime (knowledge/onnx_encoder.py): time per single
question, the largest difference between their embeddings, and the memory the ONNX session
adds. Uses the model of the current search index and 200 questions of the evaluation set.

Run: `.venv/bin/python -m benchmarks.query_encoder` (part of `make bench`).
"""

from __future__ import annotations

import time

import numpy as np

from core.settings import get_settings
from knowledge.dense import encode, load_model, prepare
from knowledge.evaluation import load_questions
from knowledge.index import current_artefact
from knowledge.onnx_encoder import query_encoder


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        line = next(x for x in f if x.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def per_query_ms(model, texts: list[str]) -> float:
    for text in texts[:20]:
        encode(model, [text])
    started = time.perf_counter()
    for text in texts:
        encode(model, [text])
    return (time.perf_counter() - started) / len(texts) * 1000


def main() -> None:
    import json

    settings = get_settings()
    path = current_artefact(settings)
    if path is None:
        raise SystemExit("No search index: run `make setup` first.")
    meta = json.loads((path / "meta.json").read_text())
    questions = [q.q for q in load_questions(settings.eval_set)][:200]
    texts = prepare(questions, prefix=meta.get("query_prefix", ""),
                    mode=meta.get("dense_text", "folded"))
    model = load_model(meta["model_path"], threads=settings.torch_threads)
    before = rss_mb()
    onnx = query_encoder(model, meta["model_path"], settings.models_dir / "onnx",
                         threads=settings.torch_threads)
    added = rss_mb() - before
    if onnx is model:
        raise SystemExit("The ONNX encoder is unusable here (see the warning above).")
    print(f"\nQuery encoding ({meta['model']}, {len(texts)} evaluation questions one at a time, "
          f"{settings.torch_threads} thread)")
    print(f"PyTorch       {per_query_ms(model, texts):6.1f} ms a question")
    print(f"ONNX Runtime  {per_query_ms(onnx, texts):6.1f} ms a question")
    difference = np.abs(encode(onnx, texts) - encode(model, texts)).max()
    print(f"largest embedding difference {difference:.1e}; memory the ONNX session adds "
          f"{added:.0f} MB (RSS)")


if __name__ == "__main__":
    main()
