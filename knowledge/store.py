"""Versioned storage of the knowledge base with an audit trail.

Every import makes a new *draft* version (a full snapshot); `publish` makes a draft the one
the assistant uses; `rollback` republishes an older snapshot as a new version, so history is
never rewritten. Runs unchanged on SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import check_schema, session_scope
from core.models import KbAudit, KbEntry, KbVersion, utcnow
from knowledge.errors import NoPublishedVersion, VersionNotFound
from knowledge.schema import Entry


def entry_hash(data: dict[str, Any]) -> str:
    blob = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def snapshot_hash(entries: dict[str, dict[str, Any]]) -> str:
    digest = hashlib.sha256()
    for topic_id in sorted(entries):
        digest.update(f"{topic_id}:{entry_hash(entries[topic_id])}\n".encode())
    return digest.hexdigest()


@dataclass
class VersionInfo:
    number: int
    status: str
    content_hash: str
    entries: int
    created_by: str
    created_at: datetime
    published_by: str | None
    published_at: datetime | None
    note: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.number, "status": self.status, "entries": self.entries,
            "content_hash": self.content_hash[:12], "created_by": self.created_by,
            "created_at": self.created_at.isoformat(), "published_by": self.published_by,
            "published_at": self.published_at.isoformat() if self.published_at else None,
            "note": self.note,
        }


@dataclass
class ImportResult:
    version: int | None  # None when nothing changed
    added: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)

    @property
    def unchanged(self) -> bool:
        return self.version is None


@dataclass
class Snapshot:
    """A published (or any) version's entries, as the retrieval side needs them."""

    version: int
    content_hash: str
    entries: list[Entry]


def _changed_fields(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))


class KnowledgeStore:
    """Knowledge-base versions in the database named by `url`."""

    def __init__(self, url: str):
        self.url = url

    def check(self) -> None:
        check_schema(self.url)

    # --- reading ------------------------------------------------------------------------

    def _info(self, session: Session, v: KbVersion) -> VersionInfo:
        count = len(session.scalars(select(KbEntry.id).where(KbEntry.version_id == v.id)).all())
        return VersionInfo(v.id, v.status, v.content_hash, count, v.created_by, v.created_at,
                           v.published_by, v.published_at, v.note)

    def versions(self) -> list[VersionInfo]:
        with session_scope(self.url) as s:
            return [self._info(s, v) for v in s.scalars(select(KbVersion).order_by(KbVersion.id))]

    def _published(self, session: Session) -> KbVersion | None:
        return session.scalars(
            select(KbVersion).where(KbVersion.status == "published").order_by(KbVersion.id.desc())
        ).first()

    def published_version(self) -> VersionInfo | None:
        with session_scope(self.url) as s:
            v = self._published(s)
            return self._info(s, v) if v else None

    def version_with_content(self, entries: list[Entry]) -> int | None:
        """The newest version whose content is exactly `entries` as the whole KB, if any."""
        content_hash = snapshot_hash({e.id: e.to_data() for e in entries})
        with session_scope(self.url) as s:
            return s.scalar(select(KbVersion.id).where(KbVersion.content_hash == content_hash)
                            .order_by(KbVersion.id.desc()).limit(1))

    def snapshot(self, version: int | None = None) -> Snapshot:
        """Entries of `version`, or of the published version."""
        with session_scope(self.url) as s:
            v = s.get(KbVersion, version) if version is not None else self._published(s)
            if v is None:
                if version is not None:
                    raise VersionNotFound(f"There is no knowledge-base version {version}.")
                raise NoPublishedVersion(
                    "No knowledge-base version is published. Run `govbot kb import "
                    "knowledge/topics` and `govbot kb publish` (or `make setup`)."
                )
            entries = [Entry.model_validate(e.data) for e in v.entries]
            return Snapshot(v.id, v.content_hash, entries)

    def _entries_of(self, session: Session, version_id: int) -> dict[str, dict[str, Any]]:
        rows = session.scalars(select(KbEntry).where(KbEntry.version_id == version_id))
        return {e.topic_id: e.data for e in rows}

    # --- writing ------------------------------------------------------------------------

    def import_entries(
        self, entries: list[Entry], *, actor: str, note: str = "", full_snapshot: bool
    ) -> ImportResult:
        """Make a new draft from `entries`.

        full_snapshot=True: the entries are the whole KB (topics absent are removed).
        full_snapshot=False: the entries update the latest version and keep the rest.
        """
        with session_scope(self.url) as s:
            base = s.scalars(select(KbVersion).order_by(KbVersion.id.desc())).first()
            old = self._entries_of(s, base.id) if base else {}
            new = {} if full_snapshot else dict(old)
            for entry in entries:
                new[entry.id] = entry.to_data()
            result = ImportResult(version=None)
            result.added = sorted(set(new) - set(old))
            result.removed = sorted(set(old) - set(new))
            result.changed = {
                t: _changed_fields(old[t], new[t])
                for t in sorted(set(new) & set(old)) if old[t] != new[t]
            }
            content_hash = snapshot_hash(new)
            if base is not None and base.content_hash == content_hash:
                return result
            version = KbVersion(status="draft", parent_id=base.id if base else None,
                                content_hash=content_hash, note=note, created_by=actor)
            s.add(version)
            s.flush()
            for topic_id, data in sorted(new.items()):
                s.add(KbEntry(version_id=version.id, topic_id=topic_id,
                              content_hash=entry_hash(data), data=data))
            for topic_id in result.added:
                s.add(KbAudit(actor=actor, action="import", version_id=version.id,
                              topic_id=topic_id, change="added", detail={}))
            for topic_id, fields in result.changed.items():
                s.add(KbAudit(actor=actor, action="import", version_id=version.id,
                              topic_id=topic_id, change="changed", detail={"fields": fields}))
            for topic_id in result.removed:
                s.add(KbAudit(actor=actor, action="import", version_id=version.id,
                              topic_id=topic_id, change="removed", detail={}))
            s.add(KbAudit(actor=actor, action="import", version_id=version.id, detail={
                "note": note, "added": len(result.added), "changed": len(result.changed),
                "removed": len(result.removed)}))
            result.version = version.id
            return result

    def publish(self, version: int | None = None, *, actor: str) -> int:
        """Publish `version` (default: the newest draft); the previous one is archived."""
        with session_scope(self.url) as s:
            if version is None:
                target = s.scalars(select(KbVersion).where(KbVersion.status == "draft")
                                   .order_by(KbVersion.id.desc())).first()
                if target is None:
                    current = self._published(s)
                    if current is not None:
                        return current.id
                    raise VersionNotFound("There is no draft to publish. Run `govbot kb import`.")
            else:
                target = s.get(KbVersion, version)
                if target is None:
                    raise VersionNotFound(f"There is no knowledge-base version {version}.")
            if target.status == "published":
                return target.id
            self._make_published(s, target, actor, action="publish")
            return target.id

    def _make_published(self, s: Session, target: KbVersion, actor: str, action: str) -> None:
        for v in s.scalars(select(KbVersion).where(KbVersion.status == "published")):
            v.status = "archived"
        target.status = "published"
        target.published_by = actor
        target.published_at = utcnow()
        s.add(KbAudit(actor=actor, action=action, version_id=target.id, detail={}))

    def rollback(self, version: int, *, actor: str) -> int:
        """Republish the content of `version` as a new published version."""
        with session_scope(self.url) as s:
            source = s.get(KbVersion, version)
            if source is None:
                raise VersionNotFound(f"There is no knowledge-base version {version}.")
            current = self._published(s)
            old = self._entries_of(s, current.id) if current else {}
            data = self._entries_of(s, source.id)
            new = KbVersion(status="draft", parent_id=source.id, content_hash=source.content_hash,
                            note=f"rollback to version {version}", created_by=actor)
            s.add(new)
            s.flush()
            for topic_id, d in sorted(data.items()):
                s.add(KbEntry(version_id=new.id, topic_id=topic_id,
                              content_hash=entry_hash(d), data=d))
                if old.get(topic_id) != d:
                    change = "added" if topic_id not in old else "changed"
                    s.add(KbAudit(actor=actor, action="rollback", version_id=new.id,
                                  topic_id=topic_id, change=change,
                                  detail={"fields": _changed_fields(old.get(topic_id, {}), d),
                                          "from_version": version}))
            for topic_id in sorted(set(old) - set(data)):
                s.add(KbAudit(actor=actor, action="rollback", version_id=new.id,
                              topic_id=topic_id, change="removed", detail={"from_version": version}))
            self._make_published(s, new, actor, action="rollback")
            return new.id

    def history(self, topic_id: str) -> list[dict[str, Any]]:
        """Every recorded change of one topic, oldest first."""
        with session_scope(self.url) as s:
            rows = s.scalars(select(KbAudit).where(KbAudit.topic_id == topic_id)
                             .order_by(KbAudit.id))
            out = []
            for r in rows:
                version = s.get(KbVersion, r.version_id) if r.version_id else None
                out.append({"at": r.at.isoformat(), "actor": r.actor, "action": r.action,
                            "version": r.version_id, "change": r.change,
                            "version_status": version.status if version else None,
                            "fields": r.detail.get("fields", [])})
            return out

    def audit_log(self, limit: int = 50) -> list[dict[str, Any]]:
        with session_scope(self.url) as s:
            rows = s.scalars(select(KbAudit).order_by(KbAudit.id.desc()).limit(limit))
            return [{"at": r.at.isoformat(), "actor": r.actor, "action": r.action,
                     "version": r.version_id, "topic": r.topic_id, "change": r.change,
                     "detail": r.detail} for r in rows]

    def export(self, directory: Path, version: int | None = None, *, actor: str) -> list[Path]:
        """Write one YAML file per entry; importing the folder gives the same content hash."""
        snap = self.snapshot(version)
        directory.mkdir(parents=True, exist_ok=True)
        written = []
        for entry in snap.entries:
            path = directory / f"{entry.id}.yml"
            path.write_text(dump_entry(entry), encoding="utf-8")
            written.append(path)
        with session_scope(self.url) as s:
            s.add(KbAudit(actor=actor, action="export", version_id=snap.version,
                          detail={"directory": str(directory), "entries": len(written)}))
        return written


def dump_entry(entry: Entry) -> str:
    """YAML text of an entry in schema field order, readable by people."""
    return yaml.safe_dump(entry.to_data(), allow_unicode=True, sort_keys=False, width=100)
