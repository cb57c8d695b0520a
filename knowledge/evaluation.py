"""Evaluation on labelled question sets and calibration of the fusion and thresholds.

A set is JSON Lines: {"q": ..., "expected": "S09" | null, "style": optional}. `null` means
out of scope. The development set calibrates; the held-out evaluation set only measures.
"""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from knowledge.retrieval import CLARIFY, UNRESOLVED, Calibration, Retriever, decide_status, fuse


@dataclass
class Question:
    q: str
    expected: str | None
    style: str = ""


def load_questions(path: Path) -> list[Question]:
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            out.append(Question(str(obj["q"]), obj.get("expected"), str(obj.get("style", ""))))
        except (json.JSONDecodeError, KeyError) as exc:
            raise ValueError(f"{path}:{n}: expected {{\"q\": ..., \"expected\": ...}}: {exc}"
                             ) from exc
    return out


@dataclass
class Scored:
    """Component scores of a question set against one retriever (rows = questions;
    columns = the KB topics, then the out-of-scope groups)."""

    questions: list[Question]
    lexical: np.ndarray
    dense: np.ndarray
    entry_ids: list[str]
    known: np.ndarray  # the question has at least one word the index knows

    def fused(self, weight: float) -> tuple[np.ndarray, np.ndarray | None]:
        """(topic scores, best out-of-scope score per question or None)."""
        allf = fuse(self.lexical, self.dense, weight)
        n = len(self.entry_ids)
        oos = allf[:, n:].max(axis=1) if allf.shape[1] > n else None
        return allf[:, :n], oos

    def subset(self, rows: list[int]) -> Scored:
        return Scored([self.questions[i] for i in rows], self.lexical[rows], self.dense[rows],
                      self.entry_ids, self.known[rows])


def score_questions(retriever: Retriever, questions: list[Question]) -> Scored:
    texts = [q.q[: retriever.max_chars] for q in questions]
    lex, dense = retriever.component_scores(texts)
    known = np.array([retriever.has_known_words(t) for t in texts], dtype=bool)
    return Scored(questions, lex, dense, retriever.entry_ids, known)


def _statuses(fused: np.ndarray, oos: np.ndarray | None, known: np.ndarray,
              cal: Calibration) -> list[str]:
    tops = np.sort(fused, axis=1)[:, ::-1][:, :2]
    return [decide_status(list(tops[i]), cal, None if oos is None else float(oos[i]),
                          known=bool(known[i]))[0] for i in range(len(fused))]



def _ranks(fused: np.ndarray, entry_ids: list[str], questions: list[Question]) -> list[int | None]:
    pos = {e: i for i, e in enumerate(entry_ids)}
    ranks: list[int | None] = []
    for row, q in enumerate(questions):
        if q.expected is None or q.expected not in pos:
            ranks.append(None)
            continue
        target = fused[row, pos[q.expected]]
        ranks.append(int((fused[row] > target).sum()) + 1)
    return ranks


def metrics(scored: Scored, cal: Calibration) -> dict[str, Any]:
    """Recall@1/3/5, MRR, unresolved shares, per-style breakdown and the misses."""
    fused, oos = scored.fused(cal.lexical_weight)
    ranks = _ranks(fused, scored.entry_ids, scored.questions)
    statuses = _statuses(fused, oos, scored.known, cal)
    inscope = [i for i, q in enumerate(scored.questions) if q.expected is not None]
    oos = [i for i, q in enumerate(scored.questions) if q.expected is None]

    def summary(idx: list[int]) -> dict[str, Any]:
        r = [ranks[i] or 10**6 for i in idx]
        n = max(len(r), 1)
        return {
            "n": len(idx),
            "recall@1": sum(x <= 1 for x in r) / n,
            "recall@3": sum(x <= 3 for x in r) / n,
            "recall@5": sum(x <= 5 for x in r) / n,
            "mrr": sum(1.0 / x for x in r) / n,
            "unresolved": sum(statuses[i] == UNRESOLVED for i in idx) / n,
            "clarify": sum(statuses[i] == CLARIFY for i in idx) / n,
        }

    out: dict[str, Any] = summary(inscope)
    out["out_of_scope_n"] = len(oos)
    out["out_of_scope_unresolved"] = (
        sum(statuses[i] == UNRESOLVED for i in oos) / len(oos) if oos else None)
    by_style: dict[str, list[int]] = defaultdict(list)
    for i, q in enumerate(scored.questions):
        by_style[q.style or "-"].append(i)
    out["by_style"] = {}
    for style, idx in sorted(by_style.items()):
        ins = [i for i in idx if scored.questions[i].expected is not None]
        if ins:
            out["by_style"][style] = summary(ins)
        else:
            out["by_style"][style] = {
                "n": len(idx), "unresolved": sum(statuses[i] == UNRESOLVED for i in idx) / len(idx)}
    misses = []
    for i, q in enumerate(scored.questions):
        best = [scored.entry_ids[j] for j in np.argsort(-fused[i])[:3]]
        wrong = (q.expected is None and statuses[i] != UNRESOLVED) or (
            q.expected is not None and (ranks[i] != 1 or statuses[i] == UNRESOLVED))
        if wrong:
            misses.append({"q": q.q, "expected": q.expected, "style": q.style,
                           "status": statuses[i], "got": best,
                           "score": round(float(fused[i].max()), 4)})
    out["misses"] = misses
    return out


def fit_calibration(scored: Scored, *, max_inscope_unresolved: float = 0.04,
                    source: str = "", fixed_weight: float | None = None) -> Calibration:
    """Choose the fusion weight (best MRR) then the thresholds (best utility under a cap on
    wrongly unresolved in-scope questions)."""
    inscope = [i for i, q in enumerate(scored.questions) if q.expected is not None]
    sub = scored.subset(inscope)
    best_w, best_mrr = 1.0, -1.0
    weights = [fixed_weight] if fixed_weight is not None else np.round(np.linspace(1, 0, 21), 2)
    for w in weights:  # lexical first: ties keep more lexical
        m = metrics(sub, Calibration(lexical_weight=float(w), min_score=-1, margin=0))
        if m["mrr"] > best_mrr + 1e-9:
            best_w, best_mrr = float(w), m["mrr"]
    fused, oos = scored.fused(best_w)
    ranks = np.array([r or 10**6 for r in _ranks(fused, scored.entry_ids, scored.questions)])
    tops = np.sort(fused, axis=1)[:, ::-1]
    top1, gap = tops[:, 0], tops[:, 0] - tops[:, 1]
    oos_arr = oos if oos is not None else np.full(len(top1), -np.inf)
    is_oos = np.array([q.expected is None for q in scored.questions])
    # Utility per outcome: right answer +1, wrong answer -1, wrongly unresolved -0.5,
    # useful clarification (right topic among the first two) +0.6, useless one -0.3;
    # out of scope: unresolved +1, clarify -0.5, answered -1.
    u_answer = np.where(is_oos, -1.0, np.where(ranks == 1, 1.0, -1.0))
    u_clarify = np.where(is_oos, -0.5, np.where(ranks <= 2, 0.6, -0.3))
    u_unresolved = np.where(is_oos, 1.0, -0.5)
    n_in = max(int((~is_oos).sum()), 1)
    best: tuple[float, float, float, float] | None = None
    candidates = np.unique(np.round(np.quantile(top1[~is_oos], np.linspace(0, 0.2, 41)), 3))
    biases = np.round(np.arange(-0.15, 0.151, 0.005), 3) if oos is not None else [0.0]
    for min_score, bias in itertools.product(candidates, biases):
        unresolved = ~scored.known | (top1 < min_score) | (oos_arr + bias >= top1)
        if (unresolved & ~is_oos).sum() / n_in > max_inscope_unresolved:
            continue
        for margin in np.round(np.arange(0.0, 0.061, 0.005), 3):
            clarify = ~unresolved & (gap < margin)
            answered = ~unresolved & ~clarify
            utility = float((u_answer * answered + u_clarify * clarify
                             + u_unresolved * unresolved).sum())
            if best is None or utility > best[0] + 1e-9:
                best = (utility, float(min_score), float(margin), float(bias))
    _, min_score, margin, bias = best if best else (0.0, 0.0, 0.0, 0.0)
    cal = Calibration(lexical_weight=best_w, min_score=min_score, margin=margin, oos_bias=bias,
                      fitted_on=source or "development set")
    m = metrics(scored, cal)
    cal.metrics = {k: v for k, v in m.items() if k not in {"misses", "by_style"}}
    return cal


def format_report(m: dict[str, Any], title: str = "") -> str:
    lines = [title] if title else []
    lines.append(f"in-scope questions      {m['n']}")
    for key in ("recall@1", "recall@3", "recall@5", "mrr"):
        lines.append(f"{key:<24}{m[key]:.3f}")
    lines.append(f"in-scope unresolved     {m['unresolved']:.3f}")
    lines.append(f"in-scope clarify        {m['clarify']:.3f}")
    if m.get("out_of_scope_n"):
        lines.append(f"out-of-scope questions  {m['out_of_scope_n']}")
        lines.append(f"out-of-scope unresolved {m['out_of_scope_unresolved']:.3f}")
    lines.append("by style:")
    for style, s in m["by_style"].items():
        if "recall@1" in s:
            lines.append(f"  {style:<14} n={s['n']:<4} R@1={s['recall@1']:.3f} "
                         f"MRR={s['mrr']:.3f} unresolved={s['unresolved']:.3f}")
        else:
            lines.append(f"  {style:<14} n={s['n']:<4} unresolved={s['unresolved']:.3f}")
    return "\n".join(lines)
