"""The team directory in the database: idempotent import and loading.

Import rules: a province, commune or team in the file ends up exactly as the file says
(aliases, members, hours, its default flag); one the file does not mention is kept, unless
`replace=True`, which removes it. A province's default team named in the file replaces the
stored one; a file naming none leaves it. Importing the same file twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, inspect, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, selectinload

from core.db import DatabaseError, describe_connection_error, get_engine, redact_url, session_scope
from core.models import Commune as CommuneRow
from core.models import Province as ProvinceRow
from core.models import Team as TeamRow
from core.models import TeamMember as MemberRow
from core.models import utcnow
from teams import provinces as prov
from teams.directory import (
    CENTRAL,
    Commune,
    Directory,
    Member,
    Province,
    Team,
)
from teams.hours import hours_spec, parse_hours


@dataclass
class Changes:
    added: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)  # label -> changed fields
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # not in the file, kept (no --replace)


@dataclass
class ImportResult:
    provinces: Changes = field(default_factory=Changes)
    communes: Changes = field(default_factory=Changes)
    teams: Changes = field(default_factory=Changes)

    @property
    def unchanged(self) -> bool:
        return not any(c.added or c.changed or c.removed for c in self._all())

    def _all(self) -> list[Changes]:
        return [self.provinces, self.communes, self.teams]

    def summary(self) -> list[str]:
        """One line per kind, then the details of what changed."""
        lines = []
        for name, c in zip(("provinces", "communes", "teams"), self._all(), strict=True):
            kept = f", {len(c.kept)} not in the file kept" if c.kept else ""
            lines.append(f"{name}: {len(c.added)} added, {len(c.changed)} changed, "
                         f"{len(c.removed)} removed{kept}")
        for c in self._all():
            lines += [f"  + {label}" for label in c.added]
            lines += [f"  ~ {label}: {', '.join(fields)}" for label, fields in c.changed.items()]
            lines += [f"  - {label}" for label in c.removed]
        return lines


def _apply(row: Any, values: dict[str, Any]) -> list[str]:
    """Set the values that differ; return their names."""
    changed = [k for k, v in values.items() if getattr(row, k) != v]
    for k in changed:
        setattr(row, k, values[k])
    if changed:
        row.updated_at = utcnow()
    return changed


class TeamStore:
    def __init__(self, url: str):
        self.url = url

    def check(self) -> None:
        """Raise DatabaseError naming the fix when the directory tables do not exist."""
        try:
            with get_engine(self.url).connect() as conn:
                tables = set(inspect(conn).get_table_names())
        except OperationalError as exc:
            raise DatabaseError(describe_connection_error(self.url, exc)) from exc
        if "teams" not in tables:
            raise DatabaseError(f"The database at {redact_url(self.url)} has no team directory "
                                "tables yet. Run `govbot db upgrade`.")

    def team_count(self) -> int:
        with session_scope(self.url) as s:
            return s.scalar(select(func.count()).select_from(TeamRow)) or 0

    # --- import -------------------------------------------------------------------------

    def import_directory(self, directory: Directory, *, replace: bool = False) -> ImportResult:
        """Bring the database to the directory's content, in one transaction."""
        result = ImportResult()
        with session_scope(self.url) as s:
            provinces = {p.code: p for p in s.scalars(select(ProvinceRow).options(
                selectinload(ProvinceRow.communes)))}
            communes = {(p.code, c.code): c for p in provinces.values() for c in p.communes}
            teams = {t.code: t for t in s.scalars(select(TeamRow).options(
                selectinload(TeamRow.members)))}
            seen_communes: set[tuple[str, str]] = set()
            for p in directory.provinces:
                prow = self._sync_province(s, p, provinces, result)
                for c in p.communes:
                    seen_communes.add((p.code, c.code))
                    self._sync_commune(s, prow, c, communes, result)
            s.flush()
            ids = {"province": {code: row.id for code, row in provinces.items()},
                   "commune": {key: row.id for key, row in communes.items()}}
            seen_teams = set()
            for team in directory.teams():
                seen_teams.add(team.code)
                self._sync_team(s, team, teams, ids, result)
            # A province's default named in the file replaces the one stored.
            with_default = {p.code for p in directory.provinces if p.default_team is not None}
            for code, row in teams.items():
                province = code.split("/")[0]
                if code not in seen_teams and row.is_province_default and province in with_default:
                    _apply(row, {"is_province_default": False})
                    result.teams.changed[_label(row)] = ["is_province_default"]
            self._remove_or_keep(s, replace, result, provinces, communes, teams,
                                 {p.code for p in directory.provinces}, seen_communes, seen_teams)
        return result

    def _sync_province(self, s: Session, p: Province, rows: dict[str, ProvinceRow],
                       result: ImportResult) -> ProvinceRow:
        values = {"name": p.name, "kind": p.kind, "aliases": list(p.aliases)}
        row = rows.get(p.code)
        if row is None:
            row = rows[p.code] = ProvinceRow(code=p.code, **values)
            s.add(row)
            result.provinces.added.append(p.label)
        elif fields := _apply(row, values):
            result.provinces.changed[p.label] = fields
        return row

    def _sync_commune(self, s: Session, prow: ProvinceRow, c: Commune,
                      rows: dict[tuple[str, str], CommuneRow], result: ImportResult) -> None:
        values = {"name": c.name, "kind": c.kind, "folded_name": prov.folded(c.name),
                  "aliases": list(c.aliases)}
        label = f"{c.label} ({prow.name})"
        row = rows.get((prow.code, c.code))
        if row is None:
            rows[(prow.code, c.code)] = row = CommuneRow(code=c.code, province=prow, **values)
            s.add(row)
            result.communes.added.append(label)
        elif fields := _apply(row, values):
            result.communes.changed[label] = fields

    def _sync_team(self, s: Session, team: Team, rows: dict[str, TeamRow],
                   ids: dict[str, dict[Any, int]], result: ImportResult) -> None:
        commune_id = (ids["commune"][(team.province_code, team.commune_code)]
                      if team.commune_code else None)
        values = {"name": team.name, "telegram_chat_id": team.telegram_chat_id, "phone": team.phone,
                  "working_hours": hours_spec(team.hours),
                  "holidays": [d.isoformat() for d in sorted(team.holidays)],
                  "province_id": ids["province"].get(team.province_code or ""),
                  "commune_id": commune_id, "is_province_default": team.province_default,
                  "is_central": team.central}
        row = rows.get(team.code)
        if row is None:
            rows[team.code] = row = TeamRow(code=team.code, **values)
            s.add(row)
            self._sync_members(row, team.members)
            result.teams.added.append(_label(row))
            return
        fields = _apply(row, values)
        if self._sync_members(row, team.members):
            fields.append("members")
            row.updated_at = utcnow()
        if fields:
            result.teams.changed[_label(row)] = fields

    @staticmethod
    def _sync_members(row: TeamRow, members: tuple[Member, ...]) -> bool:
        existing = {m.telegram_user_id: m for m in row.members}
        changed = False
        wanted = {m.telegram_id for m in members}
        for m in list(row.members):
            if m.telegram_user_id not in wanted:
                row.members.remove(m)
                changed = True
        for position, m in enumerate(members):
            values = {"name": m.name, "role": m.role, "position": position}
            current = existing.get(m.telegram_id)
            if current is None:
                row.members.append(MemberRow(telegram_user_id=m.telegram_id, **values))
                changed = True
            elif any(getattr(current, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(current, k, v)
                changed = True
        return changed

    def _remove_or_keep(self, s: Session, replace: bool, result: ImportResult,
                        provinces: dict[str, ProvinceRow], communes: dict[tuple[str, str], CommuneRow],
                        teams: dict[str, TeamRow], seen_p: set[str], seen_c: set[tuple[str, str]],
                        seen_t: set[str]) -> None:
        for code, row in teams.items():
            if code not in seen_t:
                (result.teams.removed if replace else result.teams.kept).append(_label(row))
                if replace:
                    s.delete(row)
        s.flush()  # teams before their communes (the ORM does not order these on its own)
        for key, crow in communes.items():
            if key not in seen_c and key[0] in seen_p:  # communes of removed provinces go with them
                (result.communes.removed if replace else result.communes.kept).append(
                    f"{crow.kind} {crow.name} ({provinces[key[0]].name})")
                if replace:
                    s.delete(crow)
        s.flush()
        for code, prow in provinces.items():
            if code not in seen_p:
                label = prov.BY_CODE[code].label if code in prov.BY_CODE else prow.name
                (result.provinces.removed if replace else result.provinces.kept).append(label)
                if replace:
                    s.delete(prow)
        s.flush()

    # --- load ---------------------------------------------------------------------------

    def load(self) -> Directory:
        """The whole directory from the database (what the router works on)."""
        with session_scope(self.url) as s:
            prows = list(s.scalars(select(ProvinceRow).options(selectinload(ProvinceRow.communes))))
            trows = list(s.scalars(select(TeamRow).options(selectinload(TeamRow.members))))
            pcode = {p.id: p.code for p in prows}
            ccode = {c.id: c.code for p in prows for c in p.communes}
            teams = [_team(t, pcode, ccode) for t in trows]
        by_commune = {(t.province_code, t.commune_code): t for t in teams if t.commune_code}
        central = next((t for t in teams if t.central), None)
        provinces = []
        for p in sorted(prows, key=lambda p: prov.folded(p.name)):
            communes = tuple(sorted(
                (Commune(c.code, c.name, c.kind, p.code, tuple(c.aliases), by_commune.get((p.code, c.code)))
                 for c in p.communes), key=lambda c: (prov.folded(c.name), c.kind)))
            own = [t for t in teams if t.province_code == p.code]
            default = next((t for t in own if t.province_default), None)
            others = tuple(t for t in own if t.commune_code is None and t is not default)
            provinces.append(Province(p.code, p.name, p.kind, tuple(p.aliases), communes, default, others))
        return Directory(tuple(provinces), central, redact_url(self.url))


def _label(row: TeamRow) -> str:
    return f"{row.name} [{row.code}]"


def _team(row: TeamRow, pcode: dict[int, str], ccode: dict[int, str]) -> Team:
    return Team(code=CENTRAL if row.is_central else row.code, name=row.name,
                telegram_chat_id=row.telegram_chat_id, phone=row.phone,
                members=tuple(Member(m.telegram_user_id, m.name, m.role) for m in row.members),
                hours=parse_hours(row.working_hours),
                holidays=frozenset(dt.date.fromisoformat(d) for d in row.holidays),
                province_code=pcode.get(row.province_id) if row.province_id else None,
                commune_code=ccode.get(row.commune_id) if row.commune_id else None,
                province_default=row.is_province_default)
