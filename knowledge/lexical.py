"""BM25 over diacritic-folded Vietnamese syllables and syllable bigrams.

Scores are also given *normalised* to [0, 1]: the BM25 score divided by the score the query
would get from a passage containing every query term (unknown query terms count with the
largest idf). That makes one threshold meaningful across short and long questions: a
question whose important words appear nowhere in the knowledge base scores low.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

from core.text import syllables_and_bigrams


class BM25Index:
    """Okapi BM25 (k1, b) with postings held as numpy arrays."""

    def __init__(self, texts: Sequence[str], *, k1: float = 1.2, b: float = 0.75):
        if not texts:
            raise ValueError("BM25Index needs at least one text")
        self.k1, self.b = k1, b
        docs = [syllables_and_bigrams(t) for t in texts]
        self.n_docs = len(docs)
        lengths = np.array([max(len(d), 1) for d in docs], dtype=np.float64)
        avgdl = float(lengths.mean())
        df: Counter[str] = Counter()
        for d in docs:
            df.update(set(d))
        self.idf: dict[str, float] = {
            t: math.log(1.0 + (self.n_docs - n + 0.5) / (n + 0.5)) for t, n in df.items()
        }
        self.max_idf = math.log(1.0 + (self.n_docs + 0.5) / 0.5)
        postings: dict[str, tuple[list[int], list[float]]] = {}
        for i, d in enumerate(docs):
            norm = k1 * (1.0 - b + b * lengths[i] / avgdl)
            for term, tf in Counter(d).items():
                ids, weights = postings.setdefault(term, ([], []))
                ids.append(i)
                weights.append(tf * (k1 + 1.0) / (tf + norm))
        self.postings = {
            t: (np.array(ids, dtype=np.int64), np.array(w, dtype=np.float64))
            for t, (ids, w) in postings.items()
        }

    def query_terms(self, query: str) -> list[str]:
        return list(dict.fromkeys(syllables_and_bigrams(query)))

    def scores(self, query: str) -> tuple[np.ndarray, float]:
        """Raw BM25 score of every document, and the query's normaliser."""
        scores = np.zeros(self.n_docs, dtype=np.float64)
        norm = 0.0
        for term in self.query_terms(query):
            idf = self.idf.get(term)
            if idf is None:
                norm += self.max_idf * (self.k1 + 1.0)
                continue
            norm += idf * (self.k1 + 1.0)
            ids, weights = self.postings[term]
            scores[ids] += idf * weights
        return scores, norm

    def normalised_scores(self, query: str) -> np.ndarray:
        scores, norm = self.scores(query)
        if norm <= 0:
            return scores
        return np.minimum(scores / norm, 1.0)
