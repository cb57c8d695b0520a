"""The unresolved-questions loop: what the assistant could not answer, grouped, linked to what a
team member answered, turned into a knowledge-base draft and, once published, into regression
questions of the retrieval evaluation (docs/unresolved.md).

    queue = UnresolvedQueue.from_settings(settings)
    queue.groups(status="open")                       # [Group], biggest first
    queue.draft("t12", "EID03", kind="faq", actor="admin")   # a KB draft version
    sync_published(url, regression_file(settings))   # after `govbot kb publish`

Items are every `unresolved` turn, every negative feedback (the judged answer's question and
topic) and every case closed with a resolution (linked to the citizen's own unresolved
question when there is one, else an item itself). Texts are redacted before they are stored,
so nothing here sees personal data. Similar questions are grouped by the retrieval's
embedding model (see `cluster` and `fit_threshold`).
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError
from sqlalchemy import inspect, select

from core.db import DatabaseError, get_engine, redact_url, session_scope
from core.models import ConversationTurn, Escalation, Feedback, UnresolvedGroup, utcnow
from core.redaction import LABELS, pseudonym
from core.settings import Settings
from core.text import normalize
from knowledge.errors import KnowledgeError, NoPublishedVersion, Problem, ValidationFailed
from knowledge.schema import Entry
from knowledge.store import KnowledgeStore

GROUP_STATUSES = ("open", "resolved", "drafted", "published")
KINDS = ("faq", "alias")
REGRESSION_FILE = "retrieval_regression.jsonl"
REGRESSION_STYLE = "regression"
# The grouping threshold: the cosine above which only this share of pairs of KB questions
# (aliases, FAQ questions) of *different* topics lie, measured on the index's own vectors.
REFERENCE_KINDS = ("alias", "faq")
REFERENCE_QUANTILE = 0.999
REFERENCE_MAX = 2000  # vectors used for the fit (a stride over the passages beyond that)
EXAMPLES = 5

Embed = Callable[[Sequence[str]], np.ndarray]


class UnresolvedError(KnowledgeError):
    """A queue operation that cannot be done; the message says why and what to do."""


class GroupNotFound(UnresolvedError):
    """No group or resolved case has this id."""


def _utc(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes: they are UTC."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@dataclass(frozen=True)
class Item:
    key: str  # t<turn id> | f<feedback id> | c<case id>
    kind: str  # unresolved | negative | case
    text: str  # redacted
    at: datetime
    topic: str | None  # the topic the assistant guessed or answered with
    sender: str  # pseudonym; used only to link a case to the citizen's own question

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "kind": self.kind, "at": self.at.isoformat(), "text": self.text,
                "topic": self.topic}


@dataclass(frozen=True)
class Resolution:
    case_id: int
    text: str  # the team member's note, redacted
    resolved_at: datetime | None
    topic: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"case": self.case_id, "text": self.text, "resolved_at": _iso(self.resolved_at),
                "topic": self.topic}


@dataclass
class Group:
    id: str  # the key of its first item: stable while the queue grows
    items: list[Item]
    resolutions: list[Resolution] = field(default_factory=list)
    state: dict[str, Any] | None = None  # the UnresolvedGroup row, when one exists

    @property
    def status(self) -> str:
        if self.state:
            return self.state["status"]
        return "resolved" if self.resolutions else "open"

    @property
    def keys(self) -> set[str]:
        return {i.key for i in self.items}

    def texts(self) -> list[dict[str, Any]]:
        """Each distinct question (by normalised text) with how often and when, most asked first."""
        seen: dict[str, dict[str, Any]] = {}
        for item in self.items:
            row = seen.setdefault(normalize(item.text), {"text": item.text, "count": 0,
                                                         "first_seen": item.at, "last_seen": item.at})
            row["count"] += 1
            row["last_seen"] = max(row["last_seen"], item.at)
        rows = sorted(seen.values(), key=lambda r: (-r["count"], r["first_seen"]))
        return [{**r, "first_seen": r["first_seen"].isoformat(),
                 "last_seen": r["last_seen"].isoformat()} for r in rows]

    def as_dict(self, *, items: bool = False) -> dict[str, Any]:
        kinds = Counter(i.kind for i in self.items)
        topics = Counter(i.topic for i in self.items if i.topic)
        published_at = _utc(datetime.fromisoformat(self.state["published_at"])) if (
            self.state and self.state.get("published_at")) else None
        texts = self.texts()
        out = {
            "id": self.id, "status": self.status, "count": len(self.items),
            "unresolved": kinds["unresolved"], "negative": kinds["negative"], "cases": kinds["case"],
            "first_seen": min(i.at for i in self.items).isoformat(),
            "last_seen": max(i.at for i in self.items).isoformat(),
            "examples": [t["text"] for t in texts[:EXAMPLES]], "texts": texts,
            "topics": [{"topic": t, "count": n} for t, n in topics.most_common()],
            "resolutions": [r.as_dict() for r in self.resolutions],
            "draft": self.state,
            # Asked again after the fix was published: the change did not close the gap.
            "after_publish": sum(i.at > published_at for i in self.items) if published_at else 0,
        }
        if items:
            out["items"] = [i.as_dict() for i in self.items]
        return out


# --- items ------------------------------------------------------------------------------


def _turn_topic(turn: ConversationTurn) -> str | None:
    if turn.topic:
        return turn.topic
    detail = turn.detail or {}
    if detail.get("topic_guess"):
        return str(detail["topic_guess"])
    scores = detail.get("scores") or []
    return str(scores[0]["id"]) if scores and scores[0].get("id") else None


def collect_items(url: str) -> tuple[list[Item], dict[str, list[Resolution]]]:
    """Every item, oldest first, and the resolutions linked to an item key."""
    items: list[Item] = []
    links: dict[str, list[Resolution]] = {}
    with session_scope(url) as s:
        for t in s.scalars(select(ConversationTurn).where(ConversationTurn.status == "unresolved")):
            if normalize(t.text):
                items.append(Item(f"t{t.id}", "unresolved", t.text, _utc(t.at), _turn_topic(t),
                                  t.sender))
        negative = select(Feedback, ConversationTurn).join(
            ConversationTurn, Feedback.turn_id == ConversationTurn.id).where(
            Feedback.positive.is_(False))
        for fb, t in s.execute(negative):
            if normalize(t.text):
                items.append(Item(f"f{fb.id}", "negative", t.text, _utc(fb.at), _turn_topic(t),
                                  t.sender))
        own = {(i.sender, normalize(i.text)): i.key for i in items}
        for case in s.scalars(select(Escalation).where(Escalation.resolution != "")
                              .order_by(Escalation.id)):
            resolution = Resolution(case.id, case.resolution, _utc(case.resolved_at), case.topic)
            who, question = pseudonym(case.sender_id), normalize(case.question)
            if (who, question) in own:  # the citizen's own unresolved question
                links.setdefault(own[(who, question)], []).append(resolution)
            elif question:
                items.append(Item(f"c{case.id}", "case", case.question, _utc(case.created_at),
                                  case.topic, who))
                links.setdefault(f"c{case.id}", []).append(resolution)
    items.sort(key=lambda i: (i.at, i.key[0], int(i.key[1:])))
    return items, links


# --- grouping ---------------------------------------------------------------------------


def cluster(vectors: np.ndarray, threshold: float) -> list[int]:
    """The group of each row of L2-normalised `vectors`, rows taken in order.

    A row joins the group whose members it is most similar to on average (average linkage:
    the mean cosine to the members) when that mean is at least `threshold`, otherwise it
    starts a new group. The mean, unlike the closest member or the centroid, does not let a
    growing group drift towards neighbouring questions. Taking rows in time order means adding
    rows never moves earlier ones, so groups (and their ids) stay stable as the queue grows.
    """
    if vectors.ndim != 2:
        raise ValueError("cluster needs a 2-D array")
    sums = np.zeros_like(vectors, dtype=np.float64)  # sum of each group's member vectors
    counts = np.zeros(len(vectors))
    labels: list[int] = []
    groups = 0
    for v in vectors.astype(np.float64):
        if groups:
            means = sums[:groups] @ v / counts[:groups]
            best = int(np.argmax(means))
            if means[best] >= threshold:
                sums[best] += v
                counts[best] += 1
                labels.append(best)
                continue
        sums[groups], counts[groups] = v, 1
        labels.append(groups)
        groups += 1
    return labels


def fit_threshold(retriever: Any, *, quantile: float = REFERENCE_QUANTILE) -> float:
    """The grouping threshold for the retriever's model: the `quantile` of cosines between
    aliases and FAQ questions of different topics, from the vectors of the built index."""
    rows = [i for i, p in enumerate(retriever.passages) if p.kind in REFERENCE_KINDS]
    rows = rows[:: max(1, len(rows) // REFERENCE_MAX)]
    labels = np.array([retriever.passages[i].entry_id for i in rows])
    if len(set(labels)) < 2:
        raise UnresolvedError("The index has too few topics to fit the grouping threshold.")
    vectors = retriever.faiss_index.reconstruct_n(0, retriever.faiss_index.ntotal)[rows]
    upper = np.triu_indices(len(rows), 1)
    sims = (vectors @ vectors.T)[upper]
    return float(np.quantile(sims[labels[upper[0]] != labels[upper[1]]], quantile))


def group_items(items: list[Item], embed: Embed, threshold: float) -> list[list[Item]]:
    """Items grouped by similar normalised text; identical normalised texts share one vector."""
    unique: dict[str, int] = {}
    first_text: list[str] = []
    for item in items:
        if normalize(item.text) not in unique:
            unique[normalize(item.text)] = len(first_text)
            first_text.append(item.text)
    if not first_text:
        return []
    labels = cluster(embed(first_text), threshold)
    groups: dict[int, list[Item]] = {}
    for item in items:
        groups.setdefault(labels[unique[normalize(item.text)]], []).append(item)
    return [groups[k] for k in sorted(groups)]


# --- the queue --------------------------------------------------------------------------


def regression_file(settings: Settings) -> Path:
    """knowledge/eval/retrieval_regression.jsonl (beside the evaluation set)."""
    return settings.eval_set.with_name(REGRESSION_FILE)


def _state(row: UnresolvedGroup) -> dict[str, Any]:
    return {"row": row.id, "status": row.status, "topic": row.topic_id, "kind": row.kind,
            "change": row.change, "case": row.case_id, "version": row.draft_version,
            "published_version": row.published_version, "regression_lines": row.regression_lines,
            "by": row.created_by, "at": _iso(_utc(row.created_at)),
            "published_at": _iso(_utc(row.published_at))}


@dataclass
class Draft:
    group_id: str
    topic_id: str
    kind: str
    change: dict[str, str]
    version: int
    questions: list[str]


class UnresolvedQueue:
    """The queue in the database at `url`, grouped with `embed` at `threshold`."""

    def __init__(self, url: str, *, embed: Embed, threshold: float, regression_file: Path):
        if not 0.0 < threshold <= 1.0:
            raise ValueError("threshold must be a cosine in (0, 1]")
        self.url, self.embed, self.threshold = url, embed, threshold
        self.regression_file = regression_file

    @classmethod
    def from_retriever(cls, url: str, retriever: Any, *, regression_file: Path,
                       threshold: float | None = None) -> UnresolvedQueue:
        """Group with the model of a built index (queries prepared as retrieval prepares them)."""
        from knowledge.dense import encode, prepare

        def embed(texts: Sequence[str]) -> np.ndarray:
            return encode(retriever.model, prepare(texts, prefix=retriever.query_prefix,
                                                   mode=retriever.dense_text))

        return cls(url, embed=embed,
                   threshold=fit_threshold(retriever) if threshold is None else threshold,
                   regression_file=regression_file)

    @classmethod
    def from_settings(cls, settings: Settings) -> UnresolvedQueue:
        from knowledge.index import load_current

        _, retriever = load_current(settings)
        return cls.from_retriever(settings.resolved_database_url, retriever,
                                  regression_file=regression_file(settings))

    def groups(self, status: str | None = None) -> list[Group]:
        """Groups, most items first, then most recent."""
        if status is not None and status not in GROUP_STATUSES:
            raise UnresolvedError(f"status must be one of {', '.join(GROUP_STATUSES)}")
        items, links = collect_items(self.url)
        groups = []
        for members in group_items(items, self.embed, self.threshold):
            resolutions = [r for i in members for r in links.get(i.key, [])]
            groups.append(Group(members[0].key, members, sorted(
                resolutions, key=lambda r: (r.resolved_at or datetime.min.replace(tzinfo=UTC),
                                            r.case_id))))
        with session_scope(self.url) as s:
            for row in s.scalars(select(UnresolvedGroup).order_by(UnresolvedGroup.id)):
                match = next((g for g in groups if g.id == row.group_id), None) or next(
                    (g for g in groups if g.keys & set(row.items)), None)
                if match is not None and match.state is None:
                    match.state = _state(row)
        groups.sort(key=lambda g: (-len(g.items), -max(i.at for i in g.items).timestamp(), g.id))
        return [g for g in groups if status is None or g.status == status]

    def find(self, ref: str, groups: list[Group] | None = None) -> tuple[Group, Resolution | None]:
        """A group by id (t12, f3, c7), or the group of a resolved case (case:7, #7, c7)."""
        groups = groups if groups is not None else self.groups()
        ref = ref.strip().lower()
        for g in groups:
            if g.id == ref:
                return g, g.resolutions[-1] if g.resolutions else None
        number = ref.removeprefix("case:").removeprefix("#").removeprefix("c")
        if number.isdigit():
            for g in groups:
                for r in g.resolutions:
                    if r.case_id == int(number):
                        return g, r
        raise GroupNotFound(f"No group or resolved case {ref!r}; `govbot unresolved list` shows them.")

    def draft(self, ref: str, topic_id: str, *, kind: str, actor: str,
              question: str | None = None, answer: str | None = None) -> Draft:
        """Make a KB draft version adding a FAQ {q, a} (default: the group's most asked question
        and the latest resolution) or an alias to `topic_id`; nothing is published."""
        if kind not in KINDS:
            raise UnresolvedError(f"kind must be one of {', '.join(KINDS)}")
        group, resolution = self.find(ref)
        if group.status == "published":
            raise UnresolvedError(f"Group {group.id} is already published (version "
                                  f"{group.state['published_version']}).")
        topic_id = topic_id.strip().upper()
        store = KnowledgeStore(self.url)
        versions = store.versions()
        if not versions:
            raise NoPublishedVersion("The knowledge base is empty: run `govbot kb import` first.")
        entry = next((e for e in store.snapshot(versions[-1].number).entries if e.id == topic_id),
                     None)
        if entry is None:
            raise UnresolvedError(f"Topic {topic_id} is not in the knowledge base.")
        texts = [t["text"] for t in group.texts()]
        q = (question or texts[0]).strip()
        if kind == "faq":
            a = (answer or (resolution.text if resolution else "")).strip()
            if not a:
                raise UnresolvedError(f"Group {group.id} has no resolution to use as the answer: "
                                      "give one with --answer.")
            if any(normalize(f.q) == normalize(q) for f in entry.faq):
                raise UnresolvedError(f"{topic_id} already has the FAQ {q!r}.")
            change = {"q": q, "a": a}
            data = {**entry.to_data(), "faq": [*entry.to_data()["faq"], change]}
        else:
            if any(normalize(x) == normalize(q) for x in entry.aliases):
                raise UnresolvedError(f"{topic_id} already has the alias {q!r}.")
            change = {"alias": q}
            data = {**entry.to_data(), "aliases": [*entry.aliases, q]}
        for text in change.values():
            if any(label in text for label in LABELS.values()):
                raise UnresolvedError(f"{text!r} holds redacted personal data: write the text "
                                      "yourself with --question/--answer.")
        try:
            new_entry = Entry.model_validate(data)
        except ValidationError as exc:
            raise ValidationFailed([
                Problem(f"{topic_id} (draft from {group.id})", None,
                        ".".join(str(p) for p in err["loc"]), err["msg"])
                for err in exc.errors()]) from exc
        case_id = resolution.case_id if resolution else None
        note = (f"unresolved {group.id}" + (f" (case #{case_id})" if case_id else "")
                + f": new {kind.upper() if kind == 'faq' else kind} on {topic_id}")
        result = store.import_entries([new_entry], actor=actor, note=note, full_snapshot=False)
        if result.unchanged:
            raise UnresolvedError("The draft would not change the knowledge base.")
        with session_scope(self.url) as s:
            row = (s.get(UnresolvedGroup, group.state["row"]) if group.state else None
                   ) or UnresolvedGroup()
            row.group_id, row.status, row.topic_id = group.id, "drafted", topic_id
            row.kind, row.change = kind, change
            row.case_id, row.items, row.questions = case_id, sorted(group.keys), texts
            row.draft_version, row.created_by, row.created_at = result.version, actor, utcnow()
            s.add(row)
        return Draft(group.id, topic_id, kind, change, result.version, texts)

    def export(self, path: Path, status: str | None = None) -> int:
        """Write the groups to FILE.csv (one row each) or FILE.jsonl (with their items)."""
        groups = [g.as_dict(items=True) for g in self.groups(status)]
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".jsonl":
            with path.open("w", encoding="utf-8") as f:
                for g in groups:
                    f.write(json.dumps(g, ensure_ascii=False) + "\n")
        elif path.suffix == ".csv":
            columns = ["id", "status", "count", "unresolved", "negative", "cases", "first_seen",
                       "last_seen", "topics", "examples", "resolutions", "draft_topic",
                       "draft_version", "published_version"]
            with path.open("w", encoding="utf-8-sig", newline="") as f:  # BOM: Excel reads UTF-8
                writer = csv.writer(f)
                writer.writerow(columns)
                for g in groups:
                    draft = g["draft"] or {}
                    writer.writerow([
                        g["id"], g["status"], g["count"], g["unresolved"], g["negative"],
                        g["cases"], g["first_seen"], g["last_seen"],
                        " ".join(f"{t['topic']}:{t['count']}" for t in g["topics"]),
                        " | ".join(f"{t['text']} (x{t['count']})" for t in g["texts"]),
                        " | ".join(f"#{r['case']}: {r['text']}" for r in g["resolutions"]),
                        draft.get("topic", ""), draft.get("version", ""),
                        draft.get("published_version") or ""])
        else:
            raise UnresolvedError(f"{path.name}: export to a .csv or a .jsonl file")
        return len(groups)

    def sync(self) -> list[Synced]:
        return sync_published(self.url, self.regression_file)


# --- publication and regression -------------------------------------------------------------


@dataclass
class Synced:
    group_id: str
    topic_id: str
    version: int
    added: int  # regression lines written


def _published_in(entry: Entry, kind: str, change: dict[str, Any]) -> bool:
    """The change is in the entry (compared normalised, so a reviewer may fix case or accents;
    a FAQ counts when its question or its answer is kept)."""
    if kind == "alias":
        return any(normalize(a) == normalize(change["alias"]) for a in entry.aliases)
    return any(normalize(f.q) == normalize(change["q"]) or normalize(f.a) == normalize(change["a"])
               for f in entry.faq)


def append_regression(path: Path, questions: Sequence[str], topic_id: str, group_id: str) -> int:
    """Append questions expecting `topic_id`, skipping any the file already has; the count added."""
    seen: set[tuple[str, str | None]] = set()
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    for line in text.splitlines():
        if line.strip():
            obj = json.loads(line)
            seen.add((normalize(obj["q"]), obj.get("expected")))
    lines = []
    for q in questions:
        if (normalize(q), topic_id) not in seen and normalize(q):
            seen.add((normalize(q), topic_id))
            lines.append(json.dumps({"q": q, "expected": topic_id, "style": REGRESSION_STYLE,
                                     "group": group_id}, ensure_ascii=False))
    if lines:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as f:
            f.write(("\n" if text and not text.endswith("\n") else "") + "\n".join(lines) + "\n")
    return len(lines)


def sync_published(url: str, path: Path) -> list[Synced]:
    """Drafts the published KB now contains become `published`, and their groups' questions
    regression questions in `path` (once: the row and the file both remember)."""
    with get_engine(url).connect() as conn:
        if not inspect(conn).has_table(UnresolvedGroup.__tablename__):
            raise DatabaseError(f"The database at {redact_url(url)} has no table "
                                f"{UnresolvedGroup.__tablename__}: run `govbot db upgrade`.")
    try:
        snapshot = KnowledgeStore(url).snapshot()
    except NoPublishedVersion:
        return []
    entries = {e.id: e for e in snapshot.entries}
    out = []
    with session_scope(url) as s:
        for row in s.scalars(select(UnresolvedGroup).where(UnresolvedGroup.status == "drafted")
                             .order_by(UnresolvedGroup.id)):
            entry = entries.get(row.topic_id)
            if entry is None or not _published_in(entry, row.kind, row.change):
                continue
            added = append_regression(path, row.questions, row.topic_id, row.group_id)
            row.status, row.published_version, row.published_at = "published", snapshot.version, utcnow()
            row.regression_lines = added
            out.append(Synced(row.group_id, row.topic_id, snapshot.version, added))
    return out
