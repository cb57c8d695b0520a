"""Cut entries into passages that map back to their entry id.

An entry is indexed as several short passages (title, each alias, summary, each FAQ
question, each step, each common problem), so that a question matching any one of them finds
the entry. Retrieval aggregates passage scores per entry.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from knowledge.schema import Entry, OutOfScopeGroup

OOS_PREFIX = "OOS:"

# Kinds of passage and their weight when passage scores are aggregated per entry.
PASSAGE_WEIGHTS: dict[str, float] = {
    "title": 1.0,
    "alias": 1.0,
    "faq": 0.95,
    "problem": 0.95,
    "summary": 0.9,
    "step": 0.85,
    "oos": 1.0,
}


@dataclass(frozen=True)
class Passage:
    entry_id: str
    kind: str
    text: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def entry_passages(entry: Entry) -> list[Passage]:
    out = [Passage(entry.id, "title", entry.title)]
    out += [Passage(entry.id, "alias", a) for a in entry.aliases]
    out.append(Passage(entry.id, "summary", entry.summary))
    out += [Passage(entry.id, "faq", f.q) for f in entry.faq]
    for step in entry.steps:
        out.append(Passage(entry.id, "step", f"{step.title}. {step.instructions}"))
        out += [Passage(entry.id, "problem", p.problem) for p in step.problems]
    return out


def build_passages(entries: list[Entry], out_of_scope: list[OutOfScopeGroup] = ()
                   ) -> list[Passage]:
    """Passages of every entry, then one passage per out-of-scope example."""
    out = [p for e in sorted(entries, key=lambda e: e.id) for p in entry_passages(e)]
    for group in out_of_scope:
        out += [Passage(f"{OOS_PREFIX}{group.label}", "oos", ex) for ex in group.examples]
    return out
