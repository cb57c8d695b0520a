"""The CSV form of the team directory: one row per commune (with its team), per province
default team (no commune) or for the central team (no province, no commune).

Rows are turned into the shape of the YAML file and validated by the same schema, so both
formats give the same errors; here each problem names the row's line and the column.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from core.text import fold_diacritics, nfc_lower
from teams import provinces as prov
from teams.directory import Directory, Loc, Source, validate
from teams.errors import DirectoryInvalid, Problem

COLUMNS = ("province", "commune", "kind", "aliases", "team", "telegram_chat_id", "phone",
           "members", "hours", "holidays", "province_default")
REQUIRED = ("province", "commune", "team")
TEAM_COLUMNS = ("team", "telegram_chat_id", "phone", "members", "hours", "holidays")
_TRUE = {"yes", "x", "1", "true", "co"}
_FALSE = {"", "no", "0", "false", "khong"}


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(";") if part.strip()]


def _members(text: str) -> list[dict[str, Any]]:
    """"700000101:Nguyễn Văn An:leader; 700000102:Trần Thị Bình" (role optional)."""
    out = []
    for part in _split(text):
        pieces = [p.strip() for p in part.split(":", 2)]
        if len(pieces) < 2:
            raise ValueError(f"{part!r}: write members as telegram_id:name[:role], separated by ;")
        member: dict[str, Any] = {"telegram_id": pieces[0], "name": pieces[1]}
        if len(pieces) == 3 and pieces[2]:
            member["role"] = pieces[2]
        out.append(member)
    return out


def _hours(text: str) -> dict[str, list[str]]:
    """"mon-fri 07:30-11:30 13:30-17:00; sat 07:30-11:30"."""
    out: dict[str, list[str]] = {}
    for part in _split(text):
        days, *ranges = part.replace(",", " ").split()
        if not ranges:
            raise ValueError(f"{part!r}: write hours as days then ranges, e.g. mon-fri 07:30-11:30")
        if days in out:
            raise ValueError(f"{days} is given twice")
        out[days] = ranges
    return out


def cell(row: dict[str, Any], col: str) -> str:
    return (row.get(col) or "").strip()


def _flag(text: str) -> bool:
    key = fold_diacritics(nfc_lower(text)).strip()
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise ValueError(f"{text!r}: write yes or leave empty")


def parse_csv(text: str, filename: str) -> Directory:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    problems = [Problem(filename, 1, col, "required column is missing")
                for col in REQUIRED if col not in header]
    problems += [Problem(filename, 1, col, f"unknown column; known: {', '.join(COLUMNS)}")
                 for col in header if col not in COLUMNS]
    if problems:
        raise DirectoryInvalid(problems)
    reader.fieldnames = header
    source = Source(filename)
    raw: dict[str, Any] = {"provinces": []}
    by_province: dict[str, int] = {}
    default_rows: dict[int, int] = {}

    central_line = 0
    for row in reader:
        line = reader.line_num
        if not any(cell(row, c) for c in COLUMNS):
            continue
        province, commune = cell(row, "province"), cell(row, "commune")
        if not province and commune:
            problems.append(Problem(filename, line, "province", "required for a commune"))
            continue
        if not province:
            if central_line:
                problems.append(Problem(filename, line, "province", "the central team (no province, "
                                        f"no commune) is already given at line {central_line}"))
                continue
            central_line = line
            loc: Loc = ("central",)
        else:
            info, _ = prov.resolve(province)
            key = info.code if info else prov.folded(province)
            if key not in by_province:
                by_province[key] = len(raw["provinces"])
                raw["provinces"].append({"name": province, "communes": []})
                source.lines[("provinces", by_province[key])] = line
                source.columns[("provinces", by_province[key], "name")] = "province"
            p = by_province[key]
            if commune:
                communes = raw["provinces"][p]["communes"]
                loc = ("provinces", p, "communes", len(communes))
                item: dict[str, Any] = {"name": commune, "aliases": _split(cell(row, "aliases"))}
                if cell(row, "kind"):
                    item["kind"] = cell(row, "kind")
                communes.append(item)
                source.lines[loc] = line
                for col, key_ in (("commune", "name"), ("kind", "kind"), ("aliases", "aliases")):
                    source.columns[loc + (key_,)] = col
                loc = loc + ("team",)
            else:
                if p in default_rows:
                    problems.append(Problem(filename, line, "commune", "the province's default team "
                                            f"is already given at line {default_rows[p]}"))
                    continue
                default_rows[p] = line
                loc = ("provinces", p, "default_team")
        team = _team_row(row, loc, line, source, problems, commune=bool(commune))
        if team is None:
            continue
        parent: Any = raw
        for part in loc[:-1]:
            parent = parent[part]
        parent[loc[-1]] = team
    if problems:
        raise DirectoryInvalid(problems)
    if not raw["provinces"]:
        del raw["provinces"]
    return validate(raw, source)


def _team_row(row: dict[str, Any], loc: Loc, line: int, source: Source, problems: list[Problem],
              commune: bool) -> dict[str, Any] | None:
    """The team of a row, or None (a commune without a team, or a problem recorded)."""
    filename = source.file
    if not any(cell(row, c) for c in TEAM_COLUMNS):
        if not commune:
            problems.append(Problem(filename, line, "team", "a row without a commune is a team: "
                                    "give its name, chat id, phone and members"))
        elif cell(row, "province_default"):
            problems.append(Problem(filename, line, "province_default", "a commune without a team "
                                    "cannot be the province's default"))
        return None
    source.lines[loc] = line
    team: dict[str, Any] = {}
    for col, key in (("team", "name"), ("telegram_chat_id", "telegram_chat_id"), ("phone", "phone")):
        source.columns[loc + (key,)] = col
        if cell(row, col):
            team[key] = cell(row, col)
    for col, parse in (("members", _members), ("hours", _hours), ("holidays", _split),
                       ("province_default", _flag)):
        source.columns[loc + (col,)] = col
        if not cell(row, col):
            continue
        try:
            value = parse(cell(row, col))
        except ValueError as exc:
            problems.append(Problem(filename, line, col, str(exc)))
            return None
        if col != "province_default" or value:
            team[col] = value
    if not commune and "province_default" in team:
        del team["province_default"]  # a row without a commune is the default already
    return team
