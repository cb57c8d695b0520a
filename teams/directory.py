"""The team directory: provinces -> communes/wards -> teams, and its loader.

Vietnam since 1/7/2025 has 34 provinces and two tiers of local government; a commune is a
xã, phường or đặc khu directly under its province. Nothing here has a district.

`load_directory(path)` reads a YAML file (primary) or a CSV file (one row per commune/team)
and validates it; problems name the file, line and field and nothing is returned until the
whole file is valid. The format is documented in docs/teams.md.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from core.text import fold_diacritics, nfc_lower
from teams import provinces as prov
from teams.errors import DirectoryInvalid, LocatedError, Problem
from teams.hours import DEFAULT_HOURS, Hours, hours_spec, parse_hours

# --- the directory ----------------------------------------------------------------------

ROLES = {"leader": "leader", "to truong": "leader", "deputy": "deputy", "to pho": "deputy",
         "member": "member", "thanh vien": "member"}
ROLE_LABELS = {"leader": "tổ trưởng", "deputy": "tổ phó", "member": "thành viên"}
COMMUNE_KINDS = {"xa": "xã", "phuong": "phường", "dac khu": "đặc khu"}
FORMER_KINDS = {"thi tran": "thị trấn", "thi xa": "thị xã", "huyen": "huyện", "quan": "quận"}
CENTRAL = "central"


@dataclass(frozen=True)
class Member:
    telegram_id: int
    name: str
    role: str = "member"  # leader | deputy | member


@dataclass(frozen=True)
class Team:
    code: str  # "central", "thai-nguyen/default", "thai-nguyen/phuong-tich-luong"
    name: str
    telegram_chat_id: str
    phone: str
    members: tuple[Member, ...]
    hours: Hours
    holidays: frozenset[dt.date] = frozenset()
    province_code: str | None = None
    commune_code: str | None = None
    province_default: bool = False

    @property
    def central(self) -> bool:
        return self.code == CENTRAL

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "telegram_chat_id": self.telegram_chat_id,
                "phone": self.phone,
                "members": [{"telegram_id": m.telegram_id, "name": m.name, "role": m.role}
                            for m in self.members],
                "hours": hours_spec(self.hours),
                "holidays": [d.isoformat() for d in sorted(self.holidays)],
                "province_default": self.province_default}


@dataclass(frozen=True)
class Commune:
    code: str  # "phuong-tich-luong"
    name: str  # "Tích Lương"
    kind: str  # xã | phường | đặc khu
    province_code: str
    aliases: tuple[str, ...] = ()
    team: Team | None = None

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}"

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "kind": self.kind,
                "aliases": list(self.aliases), "team": self.team.as_dict() if self.team else None}


@dataclass(frozen=True)
class Province:
    code: str
    name: str
    kind: str  # tỉnh | thành phố
    aliases: tuple[str, ...] = ()
    communes: tuple[Commune, ...] = ()
    default_team: Team | None = None  # a commune's team or a province-level one
    other_teams: tuple[Team, ...] = ()  # province-level teams no longer the default (kept)

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}"

    def teams(self) -> Iterator[Team]:
        if self.default_team is not None and self.default_team.commune_code is None:
            yield self.default_team
        yield from self.other_teams
        yield from (c.team for c in self.communes if c.team is not None)

    def as_dict(self) -> dict[str, Any]:
        default = self.default_team
        return {"code": self.code, "name": self.name, "kind": self.kind,
                "aliases": list(self.aliases),
                "default_team": default.code if default else None,
                "teams": [t.as_dict() for t in self.teams() if t.commune_code is None],
                "communes": [c.as_dict() for c in self.communes]}


@dataclass(frozen=True)
class Directory:
    provinces: tuple[Province, ...] = ()
    central: Team | None = None
    source: str = field(default="", compare=False)

    def teams(self) -> Iterator[Team]:
        if self.central is not None:
            yield self.central
        for p in self.provinces:
            yield from p.teams()

    def province(self, code: str) -> Province | None:
        return next((p for p in self.provinces if p.code == code), None)

    def as_dict(self) -> dict[str, Any]:
        return {"central": self.central.as_dict() if self.central else None,
                "provinces": [p.as_dict() for p in self.provinces]}


# --- file schema ------------------------------------------------------------------------

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=120)]
_PHONE = re.compile(r"(?:\+84|0)\d{8,10}|1[89]00\d{4,6}")
_CHAT_ID = re.compile(r"-?\d{5,20}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MemberSpec(_Strict):
    telegram_id: int = Field(gt=0)
    name: Name
    role: str = "member"

    @field_validator("role", mode="before")
    @classmethod
    def _role(cls, value: Any) -> str:
        role = ROLES.get(fold_diacritics(nfc_lower(str(value))).strip())
        if role is None:
            raise ValueError("role must be leader, deputy or member (tổ trưởng, tổ phó, thành viên)")
        return role


class TeamSpec(_Strict):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]
    telegram_chat_id: str
    phone: str
    members: list[MemberSpec] = Field(min_length=1)
    hours: dict[str, Any] | None = None
    holidays: list[dt.date] = Field(default_factory=list)
    province_default: bool = False

    @field_validator("telegram_chat_id", mode="before")
    @classmethod
    def _chat_id(cls, value: Any) -> str:
        text = str(value).strip() if isinstance(value, int | str) and not isinstance(value, bool) else ""
        if not _CHAT_ID.fullmatch(text):
            raise ValueError("a Telegram chat id is a number like -1001234567890 (the group's id)")
        return text

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        value = value.strip()
        if not _PHONE.fullmatch(re.sub(r"[\s.\-()]", "", value)):
            raise ValueError(f"{value!r} is not a Vietnamese phone number (e.g. 0208 3855 101, 1900 xxxx)")
        return value

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and not any(parse_hours(value)):
            raise ValueError("a team needs working hours on at least one day")
        return value

    @field_validator("members")
    @classmethod
    def _unique_members(cls, value: list[MemberSpec]) -> list[MemberSpec]:
        seen: set[int] = set()
        for i, member in enumerate(value):
            if member.telegram_id in seen:
                raise LocatedError(f"telegram_id {member.telegram_id} is listed twice", i)
            seen.add(member.telegram_id)
        return value


class CommuneSpec(_Strict):
    name: Name
    kind: str
    aliases: list[Name] = Field(default_factory=list)
    team: TeamSpec | None = None

    @model_validator(mode="before")
    @classmethod
    def _kind_from_name(cls, data: Any) -> Any:
        """"Phường Tích Lương" without a kind -> kind phường, name "Tích Lương"."""
        if isinstance(data, dict) and not data.get("kind") and isinstance(data.get("name"), str):
            words = data["name"].split()
            for n in (2, 1):
                key = fold_diacritics(nfc_lower(" ".join(words[:n])))
                kind = COMMUNE_KINDS.get(key) or FORMER_KINDS.get(key)  # the latter are refused
                if kind and len(words) > n:
                    data = {**data, "kind": kind, "name": " ".join(words[n:])}
                    break
        return data

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, value: Any) -> str:
        key = fold_diacritics(nfc_lower(str(value))).strip()
        if key in FORMER_KINDS:
            raise ValueError(f"{value!r} no longer exists since 1/7/2025: use xã, phường or đặc khu")
        if key not in COMMUNE_KINDS:
            raise ValueError("kind must be xã, phường or đặc khu")
        return COMMUNE_KINDS[key]


class ProvinceSpec(_Strict):
    name: Name
    aliases: list[Name] = Field(default_factory=list)
    default_team: TeamSpec | None = None
    communes: list[CommuneSpec] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _one_of_34(cls, value: str) -> str:
        info, absorbed_by = prov.resolve(value)
        if info is not None:
            return info.name
        if absorbed_by is not None:
            raise ValueError(f"{value!r} is no longer a province since 1/7/2025: it is part of "
                             f"{absorbed_by.label}")
        raise ValueError(f"{value!r} is not one of the 34 provinces and cities "
                         "(e.g. 'Thái Nguyên', 'Hồ Chí Minh')")


class DirectorySpec(_Strict):
    hours: dict[str, Any] | None = None  # for teams without their own
    holidays: list[dt.date] = Field(default_factory=list)  # for every team
    central: TeamSpec | None = None
    provinces: list[ProvinceSpec] = Field(default_factory=list)

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            parse_hours(value)
        return value


# --- validation with lines --------------------------------------------------------------

Loc = tuple[Any, ...]


@dataclass
class Source:
    """Where each part of the raw data came from: lines, and for CSV the column."""

    file: str
    lines: dict[Loc, int] = field(default_factory=dict)
    columns: dict[Loc, str] = field(default_factory=dict)

    def _longest(self, table: Mapping[Loc, Any], loc: Loc) -> Any:
        for n in range(len(loc), -1, -1):
            if loc[:n] in table:
                return table[loc[:n]]
        return None

    def problem(self, loc: Loc, message: str) -> Problem:
        column = self._longest(self.columns, loc)
        name = column or "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
        return Problem(self.file, self._longest(self.lines, loc), name, message)


def _message(err: Mapping[str, Any]) -> str:
    loc = tuple(err["loc"])
    if err["type"] == "missing" and loc and loc[-1] == "kind":
        return "give the kind: xã, phường or đặc khu (or start the name with it)"
    if err["type"] == "missing":
        return "required"
    return str(err["msg"]).removeprefix("Value error, ")


def _loc(err: Mapping[str, Any]) -> Loc:
    error = (err.get("ctx") or {}).get("error")
    return tuple(err["loc"]) + ((error.where,) if isinstance(error, LocatedError) else ())


def validate(raw: Any, source: Source) -> Directory:
    """Validate raw data (parsed YAML, or rows turned into the same shape) into a Directory."""
    if not isinstance(raw, dict):
        raise DirectoryInvalid([source.problem((), "expected a mapping with `provinces:`")])
    try:
        spec = DirectorySpec.model_validate(raw)
    except ValidationError as exc:
        raise DirectoryInvalid([source.problem(_loc(e), _message(e)) for e in exc.errors()]) from exc
    return _build(spec, source)


def _team(spec: TeamSpec, code: str, top: DirectorySpec, province: str | None = None,
          commune: str | None = None, default: bool = False) -> Team:
    return Team(code=code, name=spec.name, telegram_chat_id=spec.telegram_chat_id, phone=spec.phone,
                members=tuple(Member(m.telegram_id, m.name, m.role) for m in spec.members),
                hours=parse_hours(spec.hours or top.hours or DEFAULT_HOURS),
                holidays=frozenset(top.holidays) | frozenset(spec.holidays),
                province_code=province, commune_code=commune, province_default=default)


def _build(spec: DirectorySpec, source: Source) -> Directory:
    problems: list[Problem] = []
    chat_ids: dict[str, Loc] = {}

    def check_chat(team: TeamSpec, loc: Loc) -> None:
        if team.telegram_chat_id in chat_ids:
            other = source.problem(chat_ids[team.telegram_chat_id], "").line
            problems.append(source.problem(loc + ("telegram_chat_id",),
                                           f"chat {team.telegram_chat_id} is also used by the team "
                                           f"at line {other}"))
        chat_ids.setdefault(team.telegram_chat_id, loc + ("telegram_chat_id",))

    central = None
    if spec.central is not None:
        check_chat(spec.central, ("central",))
        if spec.central.province_default:
            problems.append(source.problem(("central", "province_default"),
                                           "the central team belongs to no province"))
        central = _team(spec.central, CENTRAL, spec)
    provinces: list[Province] = []
    seen: dict[str, int] = {}
    for i, p in enumerate(spec.provinces):
        info = next(x for x in prov.PROVINCES if x.name == p.name)
        if info.code in seen:
            problems.append(source.problem(("provinces", i, "name"),
                                           f"{info.label} is listed twice (also item {seen[info.code]})"))
            continue
        seen[info.code] = i
        defaults: list[Loc] = []
        default_team = None
        if p.default_team is not None:
            check_chat(p.default_team, ("provinces", i, "default_team"))
            defaults.append(("provinces", i, "default_team"))
            default_team = _team(p.default_team, f"{info.code}/default", spec, info.code, None, True)
        communes: list[Commune] = []
        codes: set[str] = set()
        for j, c in enumerate(p.communes):
            loc: Loc = ("provinces", i, "communes", j)
            code = prov.slug(f"{c.kind} {c.name}")
            if code in codes:
                problems.append(source.problem(loc + ("name",), f"{c.kind} {c.name} is listed twice "
                                                                f"in {info.label}"))
                continue
            codes.add(code)
            team = None
            if c.team is not None:
                check_chat(c.team, loc + ("team",))
                team = _team(c.team, f"{info.code}/{code}", spec, info.code, code, c.team.province_default)
                if c.team.province_default:
                    defaults.append(loc + ("team", "province_default"))
                    default_team = team
            communes.append(Commune(code, c.name, c.kind, info.code, tuple(c.aliases), team))
        if len(defaults) > 1:
            first = source.problem(defaults[0], "").line
            problems.append(source.problem(defaults[1], f"{info.label} has another default team "
                                                        f"(line {first}); keep one"))
        provinces.append(Province(info.code, info.name, info.kind, tuple(p.aliases),
                                  tuple(communes), default_team))
    if not provinces and central is None:
        problems.append(source.problem((), "the directory has no provinces and no central team"))
    if problems:
        raise DirectoryInvalid(problems)
    return Directory(tuple(provinces), central, source.file)


# --- files ------------------------------------------------------------------------------


def _node_lines(node: yaml.Node, loc: Loc, out: dict[Loc, int]) -> None:
    out[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            _node_lines(value_node, loc + (key_node.value,), out)
            out[loc + (key_node.value,)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _node_lines(item, loc + (i,), out)


def parse_yaml(text: str, filename: str) -> Directory:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise DirectoryInvalid([Problem(filename, mark.line + 1 if mark else None, "",
                                        f"not valid YAML: {exc}")]) from exc
    source = Source(filename)
    if node is not None:
        _node_lines(node, (), source.lines)
    return validate(raw, source)


def load_directory(path: Path) -> Directory:
    """Read and validate a directory file (.yml/.yaml or .csv)."""
    from teams.csvfile import parse_csv

    if not path.is_file():
        raise DirectoryInvalid([Problem(str(path), None, "", "no such file")])
    try:
        text = path.read_text(encoding="utf-8-sig")  # Excel writes a BOM
    except UnicodeDecodeError as exc:
        raise DirectoryInvalid([Problem(str(path), None, "", f"not UTF-8 text: {exc}")]) from exc
    if path.suffix.lower() in (".yml", ".yaml"):
        return parse_yaml(text, str(path))
    if path.suffix.lower() == ".csv":
        return parse_csv(text, str(path))
    raise DirectoryInvalid([Problem(str(path), None, "", "use a .yml, .yaml or .csv file")])
