"""Working hours of a team: seven days of [start, end) minute intervals, written in files as
{"mon-fri": ["07:30-11:30", "13:30-17:00"], "sat": ["07:30-11:30"]}. Whether a team is open
at a given time is `teams.routing.is_open`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from teams.errors import LocatedError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_LABELS = ("T2", "T3", "T4", "T5", "T6", "T7", "CN")
_DAY_KEYS = {**{d: i for i, d in enumerate(DAYS)}, **{d.lower(): i for i, d in enumerate(DAY_LABELS)}}
_RANGE = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
# Government office hours: Monday to Friday, morning and afternoon.
DEFAULT_HOURS: dict[str, Any] = {"mon-fri": ["07:30-11:30", "13:30-17:00"]}

Interval = tuple[int, int]  # minutes since midnight, [start, end)
Hours = tuple[tuple[Interval, ...], ...]  # seven days, Monday first


def _days(key: str) -> list[int]:
    parts = [p.strip().lower() for p in str(key).split("-")]
    if len(parts) in (1, 2) and all(p in _DAY_KEYS for p in parts):
        first, last = _DAY_KEYS[parts[0]], _DAY_KEYS[parts[-1]]
        if first <= last:
            return list(range(first, last + 1))
    raise ValueError(f"unknown day {key!r}: use mon..sun (or t2..t7, cn) or a range like mon-fri")


def _interval(text: Any) -> Interval:
    if not isinstance(text, str):
        raise ValueError(f"write times as quoted text, e.g. '07:30-11:30' (got {text!r})")
    m = _RANGE.match(text.strip())
    if not m:
        raise ValueError(f"{text!r} is not a time range like 07:30-11:30")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if h1 > 23 or m1 > 59 or m2 > 59 or end > 24 * 60 or start >= end:
        raise ValueError(f"{text!r}: the start must be before the end, within one day (end at most 24:00)")
    return start, end


def parse_hours(spec: Mapping[str, Any]) -> Hours:
    """{"mon-fri": ["07:30-11:30", "13:30-17:00"], "sat": "07:30-11:30"} -> seven days of
    intervals. Days not given are closed."""
    if not isinstance(spec, Mapping):
        raise ValueError("hours are a mapping of days to time ranges, e.g. mon-fri: [07:30-11:30]")
    days: list[list[Interval]] = [[] for _ in DAYS]
    given: set[int] = set()
    for key, value in spec.items():
        try:
            ranges = value if isinstance(value, list) else ([] if value in (None, "") else
                                                             str(value).split(","))
            intervals = sorted(_interval(r) for r in ranges)
            for a, b in zip(intervals, intervals[1:], strict=False):
                if b[0] < a[1]:
                    raise ValueError(f"{key}: time ranges overlap")
            for day in _days(key):
                if day in given:
                    raise ValueError(f"{DAYS[day]} is given twice")
                given.add(day)
                days[day] = intervals
        except ValueError as exc:
            raise LocatedError(str(exc), key) from None
    return tuple(tuple(d) for d in days)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def hours_spec(hours: Hours) -> dict[str, list[str]]:
    """The compact form of `parse_hours`' input: consecutive days with equal hours grouped."""
    out: dict[str, list[str]] = {}
    day = 0
    while day < 7:
        last = day
        while last + 1 < 7 and hours[last + 1] == hours[day]:
            last += 1
        if hours[day]:
            key = DAYS[day] if last == day else f"{DAYS[day]}-{DAYS[last]}"
            out[key] = [f"{_hhmm(a)}-{_hhmm(b)}" for a, b in hours[day]]
        day = last + 1
    return out


def describe_hours(hours: Hours) -> str:
    """"T2-T6 07:30-11:30, 13:30-17:00; T7 07:30-11:30" (for admins and citizens)."""
    index = {d: i for i, d in enumerate(DAYS)}
    parts = []
    for key, ranges in hours_spec(hours).items():
        label = "-".join(DAY_LABELS[index[d]] for d in key.split("-"))
        parts.append(f"{label} {', '.join(ranges)}")
    return "; ".join(parts) or "không có giờ làm việc"
