"""Working hours, holidays and the next opening, in Vietnam's time with a fixed clock."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from teams.errors import NoWorkingHours
from teams.hours import parse_hours
from teams.routing import VIETNAM, describe_opening, is_open, next_opening
from tests.teams.sample import sample_directory

DIRECTORY = sample_directory()
TEAM = DIRECTORY.province("thai-nguyen").communes[0].team  # Mon-Fri 07:30-11:30, 13:30-17:00
SATURDAY_TEAM = DIRECTORY.province("thai-nguyen").communes[1].team  # also Sat 07:30-11:30


def vn(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=VIETNAM)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (vn(2026, 12, 7, 9, 0), True),  # Monday morning
        (vn(2026, 12, 7, 7, 30), True),  # opening minute
        (vn(2026, 12, 7, 7, 29, 59), False),
        (vn(2026, 12, 7, 11, 30), False),  # closing minute is closed
        (vn(2026, 12, 7, 12, 15), False),  # lunch
        (vn(2026, 12, 7, 16, 59, 59), True),
        (vn(2026, 12, 5, 9, 0), False),  # Saturday
        (vn(2026, 9, 2, 9, 0), False),  # National Day (the directory's holiday)
        (dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC), True),  # 09:00 in Vietnam
        (dt.datetime(2026, 12, 7, 23, 0, tzinfo=dt.UTC), False),  # Tuesday 06:00 in Vietnam
    ],
)
def test_is_open(at, expected) -> None:
    assert is_open(TEAM, at) is expected


@pytest.mark.parametrize(
    ("at", "expected", "text"),
    [
        (vn(2026, 12, 7, 9, 0), vn(2026, 12, 7, 9, 0), "ngay bây giờ"),
        (vn(2026, 12, 7, 12, 0), vn(2026, 12, 7, 13, 30), "lúc 13:30 hôm nay"),
        (vn(2026, 12, 7, 6, 0), vn(2026, 12, 7, 7, 30), "lúc 07:30 hôm nay"),
        (vn(2026, 12, 7, 18, 0), vn(2026, 12, 8, 7, 30), "lúc 07:30 ngày mai"),
        (vn(2026, 12, 4, 17, 30), vn(2026, 12, 7, 7, 30), "lúc 07:30 thứ Hai, 07/12"),  # Friday night
        (vn(2026, 9, 1, 17, 0), vn(2026, 9, 3, 7, 30), "lúc 07:30 thứ Năm, 03/09"),  # holiday between
        (dt.datetime(2026, 12, 7, 5, 0, tzinfo=dt.UTC), vn(2026, 12, 7, 13, 30), "lúc 13:30 hôm nay"),
    ],
)
def test_next_opening(at, expected, text) -> None:
    opening = next_opening(TEAM, at)
    assert opening == expected and opening.utcoffset() == dt.timedelta(hours=7)
    assert describe_opening(TEAM, at) == text


def test_team_hours_and_holidays_of_its_own() -> None:
    saturday = vn(2026, 12, 5, 9, 0)
    assert not is_open(TEAM, saturday) and is_open(SATURDAY_TEAM, saturday)
    assert next_opening(SATURDAY_TEAM, vn(2026, 12, 5, 12, 0)) == vn(2026, 12, 7, 7, 30)
    christmas_eve = vn(2026, 12, 24, 9, 0)  # that team's own holiday
    assert is_open(TEAM, christmas_eve) and not is_open(SATURDAY_TEAM, christmas_eve)
    assert next_opening(SATURDAY_TEAM, christmas_eve) == vn(2026, 12, 25, 7, 30)


def test_round_the_clock_central_team() -> None:
    central = DIRECTORY.central
    for at in (vn(2026, 12, 6, 23, 59, 59), vn(2026, 12, 7, 0, 0), vn(2026, 12, 5, 3, 0)):
        assert is_open(central, at)
    assert not is_open(central, vn(2026, 9, 2, 12, 0))
    assert next_opening(central, vn(2026, 9, 2, 12, 0)) == vn(2026, 9, 3, 0, 0)


def test_naive_datetimes_are_refused_and_default_is_now() -> None:
    with pytest.raises(ValueError, match="aware"):
        is_open(TEAM, dt.datetime(2026, 12, 7, 9, 0))
    assert next_opening(TEAM) >= dt.datetime.now(VIETNAM) - dt.timedelta(seconds=1)


def test_a_team_that_never_opens() -> None:
    closed = replace(TEAM, hours=parse_hours({}))
    with pytest.raises(NoWorkingHours):
        next_opening(closed, vn(2026, 12, 7, 9, 0))
