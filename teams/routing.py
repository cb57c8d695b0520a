"""Which team helps a citizen, and when it works.

`route(text, directory)` matches what the citizen typed when asked "xã/phường nào?" to a
commune of the directory, to the province's default team when only the province is clear
(or the commune has no team), and to the central team otherwise. Matching compares
normalised syllables (core.text: no diacritics, no case, abbreviations expanded), so
"xa tan lap thai nguyen", "Phường Tân Lập, tỉnh Thái Nguyên ạ" and "tôi ở P.Tân Lập" all find
the same ward; extra words are ignored. How it decides: docs/teams.md.

`is_open` and `next_opening` read a team's working hours and holidays in Vietnam's time
(Asia/Ho_Chi_Minh, UTC+7 all year); pass `at` to control the clock.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.text import expand_abbreviations, fold_diacritics, nfc_lower
from teams import provinces as prov
from teams.directory import Commune, Directory, Province, Team
from teams.errors import NoWorkingHours

try:
    VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
except ZoneInfoNotFoundError:  # no tz database (slim images): Vietnam has no DST
    VIETNAM = dt.timezone(dt.timedelta(hours=7), "ICT")  # type: ignore[assignment]

Level = Literal["commune", "province", "central"]

# What citizens write before a commune's name, and the kind it implies.
# Longest first: "thị xã" before "xã".
_PREFIXES: dict[tuple[str, ...], str | None] = {
    ("dac", "khu"): "đặc khu", ("thi", "tran"): None, ("thi", "xa"): None,  # former kinds
    ("phuong",): "phường", ("p",): "phường", ("f",): "phường",
    ("xa",): "xã", ("x",): "xã", ("tt",): None,
}
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Route:
    level: Level  # which team answers: the commune's, the province's default, the central one
    team: Team | None  # None only when the directory has no central team
    commune: Commune | None  # the commune recognised (it may have no team)
    province: Province | None
    matched_text: str  # the parts of the citizen's text that decided
    candidates: tuple[Commune, ...] = ()  # equally good communes when the text is ambiguous

    def as_dict(self) -> dict[str, Any]:
        return {"level": self.level, "team": self.team.code if self.team else None,
                "team_name": self.team.name if self.team else None,
                "commune": self.commune.label if self.commune else None,
                "province": self.province.label if self.province else None,
                "matched_text": self.matched_text,
                "candidates": [f"{c.label}, {c.province_code}" for c in self.candidates]}


@dataclass(frozen=True)
class _Token:
    text: str  # normalised syllable
    start: int  # span in the NFC text
    end: int


@dataclass(frozen=True)
class _Hit:
    start: int  # token positions [start, end)
    end: int
    target: Any  # Commune or province code
    via_name: bool = True
    exact: bool = False  # the diacritics typed match too
    prefix: int = 0  # tokens of a "phường/xã/..." prefix right before
    kind_agrees: bool = False

    def overlaps(self, other: _Hit) -> bool:
        return self.start < other.end and other.start < self.end


def _tokens(text: str) -> tuple[str, list[_Token]]:
    """The NFC text and its normalised syllables with their spans (the same steps as
    core.text.normalize, keeping where each syllable came from)."""
    text = unicodedata.normalize("NFC", text or "")
    out = []
    for m in _WORD.finditer(text):
        if m.group() == "_":
            continue
        for word in expand_abbreviations([m.group().lower()]):
            out.append(_Token(fold_diacritics(word), m.start(), m.end()))
    return text, out


def _phrase(name: str) -> tuple[str, ...]:
    return tuple(prov.folded(name).split())


class Router:
    """Built once per directory (an index of every name and alias), then reused."""

    def __init__(self, directory: Directory):
        self.directory = directory
        self._communes: dict[str, list[tuple[tuple[str, ...], Commune, bool, str]]] = {}
        self._provinces: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for p in directory.provinces:
            for c in p.communes:
                for i, name in enumerate((c.name, *c.aliases)):
                    self._add(self._communes, name, (c, i == 0, nfc_lower(name)))
        file_aliases = {p.code: p.aliases for p in directory.provinces}
        for info in prov.PROVINCES:
            for name in (*prov.phrases(info), *file_aliases.get(info.code, ())):
                self._add(self._provinces, name, (info.code,))

    @staticmethod
    def _add(index: dict[str, list[Any]], name: str, payload: tuple[Any, ...]) -> None:
        words = _phrase(name)
        if not words:
            return
        forms = {words, ("".join(words),)}  # "tich luong" and "tichluong"
        for form in forms:
            index.setdefault(form[0], []).append((form, *payload))

    def _find(self, index: dict[str, list[Any]], words: list[str]) -> list[tuple[int, int, Any]]:
        hits = []
        for i, word in enumerate(words):
            for entry in index.get(word, ()):
                form = entry[0]
                if tuple(words[i:i + len(form)]) == form:
                    hits.append((i, i + len(form), entry[1:]))
        return hits

    def route(self, location_text: str) -> Route:
        text, tokens = _tokens(location_text)
        words = [t.text for t in tokens]
        typed = nfc_lower(text)

        def prefix_before(i: int) -> tuple[int, str | None]:
            for pre, kind in _PREFIXES.items():
                if i >= len(pre) and tuple(words[i - len(pre):i]) == pre:
                    return len(pre), kind
            return 0, None

        communes = []
        for start, end, (commune, via_name, exact_form) in self._find(self._communes, words):
            n, kind = prefix_before(start)
            communes.append(_Hit(start, end, commune, via_name, exact_form in typed, n,
                                 kind is not None and kind == commune.kind))
        found = [_Hit(s, e, code) for s, e, (code,) in self._find(self._provinces, words)]
        provinces = [p for p in found if not any(  # "TP HCM" rather than "HCM" inside it
            q.start <= p.start and p.end <= q.end and q.end - q.start > p.end - p.start for q in found)]
        # A name that is both a commune's and a province's ("Bắc Kạn", "Sài Gòn") is the
        # commune only with a prefix or beside another province name.
        valid = [c for c in communes if c.prefix or any(not c.overlaps(p) for p in provinces)
                 or not provinces]
        mentioned = [p for p in provinces if not any(p.overlaps(c) for c in valid)]
        codes = {p.target for p in mentioned}
        candidates = [c for c in valid if c.target.province_code in codes] if codes else valid

        def fragment(hits: list[_Hit]) -> str:
            parts = []
            for h in sorted(hits, key=lambda h: h.start):
                start = h.start - h.prefix
                parts.append(text[tokens[start].start:tokens[h.end - 1].end])
            return ", ".join(dict.fromkeys(parts))

        if candidates:
            def key(h: _Hit) -> tuple[int, bool, bool, bool]:
                return (h.end - h.start, h.kind_agrees, h.exact, h.via_name)

            best = max(key(h) for h in candidates)
            top = [h for h in candidates if key(h) == best]
            chosen = list({(h.target.province_code, h.target.code): h.target for h in top}.values())
            used = [p for p in mentioned if p.target == chosen[0].province_code]
            if len(chosen) == 1:
                province = self.directory.province(chosen[0].province_code)
                return self._with_team(chosen[0], province, fragment(top[:1] + used))
            ambiguous = tuple(sorted(chosen, key=lambda c: (c.province_code, c.code)))
            same = {c.province_code for c in chosen}
            province = self.directory.province(same.pop()) if len(same) == 1 else None
            return self._with_team(None, province, fragment(top + used), ambiguous)
        if mentioned:
            last = max(mentioned, key=lambda p: p.start)
            province = self.directory.province(last.target)
            return self._with_team(None, province, fragment([last]))
        return self._with_team(None, None, "")

    def _with_team(self, commune: Commune | None, province: Province | None, matched: str,
                   candidates: tuple[Commune, ...] = ()) -> Route:
        if commune is not None and commune.team is not None:
            return Route("commune", commune.team, commune, province, matched, candidates)
        if province is not None and province.default_team is not None:
            return Route("province", province.default_team, commune, province, matched, candidates)
        return Route("central", self.directory.central, commune, province, matched, candidates)


def route(location_text: str, directory: Directory) -> Route:
    """Route one location (builds the index; keep a `Router` to route many)."""
    return Router(directory).route(location_text)


# --- working hours ----------------------------------------------------------------------


def _local(at: dt.datetime | None) -> dt.datetime:
    if at is None:
        return dt.datetime.now(VIETNAM)
    if at.tzinfo is None:
        raise ValueError("pass an aware datetime (e.g. datetime.now(UTC)): a naive one is ambiguous")
    return at.astimezone(VIETNAM)


def is_open(team: Team, at: dt.datetime | None = None) -> bool:
    """Whether the team is in working hours at `at` (default: now)."""
    local = _local(at)
    if local.date() in team.holidays:
        return False
    minute = local.hour * 60 + local.minute + local.second / 60
    return any(start <= minute < end for start, end in team.hours[local.weekday()])


def next_opening(team: Team, at: dt.datetime | None = None) -> dt.datetime:
    """When the team is next in working hours (`at` itself when it is open), in Vietnam's
    time. Raises NoWorkingHours for a team that never opens."""
    local = _local(at)
    if is_open(team, local):
        return local
    for offset in range(0, 400):
        day = local.date() + dt.timedelta(days=offset)
        if day in team.holidays:
            continue
        for start, _end in team.hours[day.weekday()]:
            opening = dt.datetime.combine(day, dt.time(start // 60, start % 60), VIETNAM)
            if opening > local:
                return opening
    raise NoWorkingHours(f"team {team.code} has no working hours in the next 400 days")


def describe_opening(team: Team, at: dt.datetime | None = None) -> str:
    """For the citizen: "ngay bây giờ", "lúc 13:30 hôm nay", "lúc 07:30 thứ Hai, 05/01"."""
    local = _local(at)
    opening = next_opening(team, local)
    if opening == local:
        return "ngay bây giờ"
    days = (opening.date() - local.date()).days
    when = {0: "hôm nay", 1: "ngày mai"}.get(days)
    if when is None:
        weekday = ("thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy",
                   "Chủ nhật")[opening.weekday()]
        when = f"{weekday}, {opening:%d/%m}"
    return f"lúc {opening:%H:%M} {when}"
