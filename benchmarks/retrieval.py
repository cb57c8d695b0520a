"""Retrieval benchmark: warm search latency, index build time, memory, fine-tuning time,
at the size of the KB and at 10,000 synthetic passages; then the evaluation figures of each
variant (hybrid with the tuned and the base model, lexical alone, dense alone).

Run with `make bench` (after `make setup`). Prints tables; exits non-zero only on errors.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import time

from core.settings import get_settings
from knowledge.dense import build_faiss, encode, prepare, resolve_model_path
from knowledge.evaluation import fit_calibration, load_questions, metrics, score_questions
from knowledge.index import build_retriever, calibrate, load_current
from knowledge.passages import Passage
from knowledge.retrieval import Retriever
from knowledge.store import Snapshot


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def time_queries(retriever: Retriever, questions: list[str], n: int) -> tuple[float, float]:
    for q in questions[:20]:  # warm-up
        retriever.search(q)
    times = []
    for i in range(n):
        q = questions[i % len(questions)]
        t0 = time.perf_counter()
        retriever.search(q)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), percentile(times, 95)


def synthetic_retriever(base: Retriever, n_passages: int, settings) -> tuple[Retriever, float]:
    """A retriever over n synthetic passages (KB syllables recombined), mapped to KB ids."""
    rng = random.Random(7)
    words = [w for p in base.passages for w in p.text.split()]
    ids = base.entry_ids
    passages = [Passage(ids[i % len(ids)], "faq", " ".join(rng.choices(words, k=rng.randint(4, 18))))
                for i in range(n_passages)]
    t0 = time.perf_counter()
    vectors = encode(base.model, prepare([p.text for p in passages], prefix=settings.passage_prefix,
                                         mode=settings.dense_text))
    index = build_faiss(vectors)
    r = Retriever(entries=list(base.entries.values()), passages=passages, faiss_index=index,
                  model=base.model, calibration=base.calibration, dense_text=settings.dense_text,
                  max_chars=settings.query_max_chars)
    return r, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--synthetic", type=int, default=10_000)
    parser.add_argument("--skip-eval", action="store_true")
    args = parser.parse_args()

    settings = get_settings()
    name, current = load_current(settings)
    questions = [q.q for q in load_questions(settings.eval_set)]
    snapshot = Snapshot(current.kb_version or 0, "", [current.entries[i] for i in current.entry_ids])

    rows = []
    p50, p95 = time_queries(current, questions, args.queries)
    t0 = time.perf_counter()
    model_path = json.loads((settings.index_dir / name / "meta.json").read_text())["model_path"]
    build_retriever(snapshot, settings, model_path)
    build_s = time.perf_counter() - t0
    rows.append(("knowledge base", len(current.passages), p50, p95, build_s))

    synth, synth_build = synthetic_retriever(current, args.synthetic, settings)
    s50, s95 = time_queries(synth, questions, args.queries)
    rows.append((f"synthetic {args.synthetic:,}", len(synth.passages), s50, s95, synth_build))

    print(f"\nRetrieval benchmark (index {name}; {args.queries} warm queries, one at a time)")
    print(f"{'corpus':<18}{'passages':>9}{'p50 ms':>9}{'p95 ms':>9}{'build s':>9}")
    for corpus, n, a, b, c in rows:
        print(f"{corpus:<18}{n:>9,}{a:>9.1f}{b:>9.1f}{c:>9.1f}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (RSS) {peak:,.0f} MiB")
    manifest = settings.models_dir / "tuned" / "current.json"
    if manifest.exists():
        info = json.loads(manifest.read_text())
        print(f"fine-tuning: {info['seconds']:.0f} s for {info['steps']} steps on {info['pairs']:,} "
              f"pairs (includes the base/tuned comparison); dev MRR {info['base_mrr']:.3f} base -> "
              f"{info['tuned_mrr']:.3f} tuned; used: {info['use']}")
    if args.skip_eval:
        return

    print(f"\nEvaluation on the held-out set {settings.eval_set.name} "
          "(thresholds fitted on the development set for each variant)")
    evalq = load_questions(settings.eval_set)
    devq = load_questions(settings.dev_set)
    variants = [("hybrid, current model", current, None)]

    base_r, _, _ = build_retriever(snapshot, settings, resolve_model_path(settings.embedding_model))
    base_r.calibration = calibrate(base_r, settings)
    variants += [("hybrid, base model", base_r, None), ("lexical only", current, 1.0),
                 ("dense only, current model", current, 0.0), ("dense only, base model", base_r, 0.0)]
    print(f"{'variant':<28}{'R@1':>7}{'R@3':>7}{'R@5':>7}{'MRR':>7}{'OOS unres':>10}{'in unres':>9}")
    for label, r, weight in variants:
        cal = r.calibration if weight is None else fit_calibration(
            score_questions(r, devq), fixed_weight=weight)
        m = metrics(score_questions(r, evalq), cal)
        print(f"{label:<28}{m['recall@1']:>7.3f}{m['recall@3']:>7.3f}{m['recall@5']:>7.3f}"
              f"{m['mrr']:>7.3f}{m['out_of_scope_unresolved']:>10.3f}{m['unresolved']:>9.3f}")


if __name__ == "__main__":
    main()
