"""A case's life on the team's side, on the real databases: the atomic claim under concurrent
presses, close / reopen / rate, forwarding, reminders and moves with a controlled clock."""

from __future__ import annotations

import datetime as dt
import threading

from actions.records import ConversationRecords
from teams.cases import Cases
from teams.handoff import Handoffs, find_phone
from teams.routing import VIETNAM
from teams.store import TeamStore
from tests.teams.sample import sample_directory

MONDAY_10 = dt.datetime(2026, 12, 7, 10, 0, tzinfo=VIETNAM)
SUNDAY_21 = dt.datetime(2026, 12, 6, 21, 0, tzinfo=VIETNAM)
TAN_LAP_GROUP = "-1000000000101"
PROVINCE_GROUP = "-1000000000100"


def _setup(url: str, location: str = "xa tan lap thai nguyen", sender: str = "zalo:u1",
           at: dt.datetime = MONDAY_10) -> tuple[Handoffs, Cases, int]:
    TeamStore(url).import_directory(sample_directory())
    case_id = ConversationRecords(url).create_escalation(
        sender, location=location, topic="EID03", step=2,
        question="không kích hoạt được, số 012345678901", transcript=[],
        consent_at=dt.datetime.now(dt.UTC))
    cases = Cases(url)
    cases.route(case_id, location, at=at)
    return Handoffs(url), cases, case_id


def test_exactly_one_member_wins_concurrent_claims(db_url: str) -> None:
    handoffs, cases, case_id = _setup(db_url)
    handoffs.mark_notified(case_id, TAN_LAP_GROUP, 77)
    presses = [2101, 2102] * 4 + [2201]  # two members pressing four times each, one outsider
    results: list = [None] * len(presses)
    barrier = threading.Barrier(len(presses))

    def press(i: int) -> None:
        barrier.wait()
        results[i] = handoffs.claim(case_id, presses[i], TAN_LAP_GROUP)

    threads = [threading.Thread(target=press, args=(i,)) for i in range(len(presses))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    outcomes = [r.outcome for r in results]
    assert outcomes.count("won") == 1, outcomes
    winner = presses[outcomes.index("won")]
    assert results[presses.index(2201)].outcome in ("not_member", "taken")
    case = handoffs.get(case_id)
    assert case.status == "claimed" and case.claimed_by == winner
    assert case.claimed_by_name in ("Nguyễn Văn An", "Trần Thị Bình")
    assert all(r.case.claimed_by_name == case.claimed_by_name for r in results if r.outcome == "taken")
    kinds = [e["kind"] for e in cases.history(case_id)]
    assert kinds.count("claimed") == 1 and kinds[:3] == ["created", "routed", "notified"]
    # The live handoff: the citizen's case is found; the member's focus is the case.
    assert handoffs.citizen_state("zalo:u1")[0].id == case_id
    assert handoffs.focus(winner).id == case_id


def test_a_card_left_behind_cannot_claim(db_url: str) -> None:
    handoffs, _, case_id = _setup(db_url)
    handoffs.mark_notified(case_id, TAN_LAP_GROUP, 77)
    assert handoffs.claim(case_id, 2001, PROVINCE_GROUP).outcome == "gone"  # wrong group
    assert handoffs.claim(case_id, 2001, TAN_LAP_GROUP).outcome == "not_member"
    assert handoffs.claim(999_999, 2101, TAN_LAP_GROUP).outcome == "gone"


def test_close_reopen_rate_and_every_change_recorded(db_url: str) -> None:
    handoffs, cases, case_id = _setup(db_url)
    handoffs.mark_notified(case_id, TAN_LAP_GROUP, 77)
    assert handoffs.claim(case_id, 2101, TAN_LAP_GROUP).outcome == "won"
    assert handoffs.close(case_id, 2102, "không phải của tôi") is None  # not the holder
    closed = handoffs.close(case_id, 2101, "Đã hướng dẫn đặt lại mật khẩu, gọi 0912345678")
    assert closed.status == "resolved" and "0912345678" not in closed.resolution
    assert handoffs.citizen_state("zalo:u1")[0] is None  # the assistant answers again
    assert handoffs.rate(case_id, "zalo:someone-else", 5) is None
    assert handoffs.rate(case_id, "zalo:u1", 9) is None
    reopened = handoffs.reopen(case_id, "zalo:u1")
    assert reopened.status == "claimed" and reopened.claimed_by == 2101
    assert handoffs.reopen(case_id, "zalo:u1") is None  # already open
    handoffs.close(case_id, 2101, "Đã xong thật")
    assert handoffs.rate(case_id, "zalo:u1", 4).rating == 4
    late = dt.datetime.now(dt.UTC) + dt.timedelta(hours=25)
    assert handoffs.reopen(case_id, "zalo:u1", late) is None  # too late: a new request instead
    history = cases.history(case_id)
    assert [e["kind"] for e in history] == ["created", "routed", "notified", "claimed", "resolved",
                                            "reopened", "resolved", "rated"]
    assert history[3]["actor"] == "tg:2101 Nguyễn Văn An" and history[5]["actor"] == "citizen"


def test_forward_to_another_team_of_the_province(db_url: str) -> None:
    handoffs, cases, case_id = _setup(db_url)
    handoffs.mark_notified(case_id, TAN_LAP_GROUP, 77)
    targets = handoffs.forward_targets(case_id)
    names = [t.name for t in targets]
    assert names[0] == "Tổ hỗ trợ tỉnh Thái Nguyên" and names[-1] == "Tổ hỗ trợ trung tâm"
    assert "Tổ CNSCĐ phường Tích Lương" in names and "Tổ CNSCĐ xã Tân Lập (Thái Nguyên)" not in names
    move = handoffs.forward(case_id, targets[1].id, "tg:2101 Nguyễn Văn An")
    assert move.case.team.name == "Tổ CNSCĐ phường Tích Lương" and move.old_card == (TAN_LAP_GROUP, 77)
    assert move.case.notified_at is None and move.case.route_level == "commune"
    assert [c.id for c in handoffs.due_cards()] == [case_id]  # a new card is due
    assert handoffs.claim(case_id, 2101, TAN_LAP_GROUP).outcome == "gone"  # the old card
    assert cases.history(case_id)[-1]["detail"]["reason"] == "forwarded"


def test_unclaimed_cases_get_a_reminder_then_move_up_in_working_time(db_url: str) -> None:
    handoffs, cases, case_id = _setup(db_url)
    directory = cases.directory()
    remind, move = dt.timedelta(minutes=15), dt.timedelta(minutes=60)
    handoffs.mark_notified(case_id, TAN_LAP_GROUP, 77, at=MONDAY_10)
    at = lambda minutes: MONDAY_10 + dt.timedelta(minutes=minutes)  # noqa: E731
    assert handoffs.sweep(at(10), directory, remind, move) == ([], [])
    reminders, moves = handoffs.sweep(at(16), directory, remind, move)
    assert [c.id for c in reminders] == [case_id] and moves == []
    assert handoffs.sweep(at(20), directory, remind, move) == ([], [])  # one reminder only
    reminders, moves = handoffs.sweep(at(61), directory, remind, move)
    assert reminders == [] and [m.case.team.name for m in moves] == ["Tổ hỗ trợ tỉnh Thái Nguyên"]
    assert moves[0].reason == "unclaimed" and moves[0].case.route_level == "province"
    handoffs.mark_notified(case_id, PROVINCE_GROUP, 78, at=at(61))
    assert handoffs.sweep(at(61 + 60), directory, remind, move) == ([], [])  # 12:01: lunch break
    _, moves = handoffs.sweep(at(270 + 61), directory, remind, move)  # 14:31: an hour since 13:30
    assert [m.case.team.name for m in moves] == ["Tổ hỗ trợ trung tâm"]
    handoffs.mark_notified(case_id, "-1000000000001", 79, at=at(331))
    assert handoffs.sweep(at(500), directory, remind, move)[1] == []  # central: nowhere further
    kinds = [e["kind"] for e in cases.history(case_id)]
    assert kinds.count("reminded") == 2 and kinds.count("forwarded") == 2  # commune, central


def test_waiting_counts_working_hours_only(db_url: str) -> None:
    handoffs, cases, case_id = _setup(db_url, at=SUNDAY_21)
    directory = cases.directory()
    remind, move = dt.timedelta(minutes=15), dt.timedelta(minutes=60)
    handoffs.mark_notified(case_id, TAN_LAP_GROUP, 77, at=SUNDAY_21)
    monday = dt.datetime(2026, 12, 7, 7, 40, tzinfo=VIETNAM)
    assert handoffs.sweep(SUNDAY_21 + dt.timedelta(hours=3), directory, remind, move) == ([], [])
    assert handoffs.sweep(monday, directory, remind, move) == ([], [])  # 10 min of working time
    reminders, _ = handoffs.sweep(monday + dt.timedelta(minutes=6), directory, remind, move)
    assert [c.id for c in reminders] == [case_id]


def test_call_back_number_and_pending_inputs(db_url: str) -> None:
    handoffs, cases, case_id = _setup(db_url, sender="tg:555")
    handoffs.set_pending("tg:555", "callback_phone", case_id)
    case, pending = handoffs.citizen_state("tg:555")
    assert case is None and pending == {"callback_phone": case_id}
    assert handoffs.set_callback(case_id, "tg:999", "0912345678") is None  # not their case
    assert handoffs.set_callback(case_id, "tg:555", "0912345678").callback_phone == "0912345678"
    assert handoffs.citizen_state("tg:555")[1] == {}
    assert cases.history(case_id)[-1]["kind"] == "callback"
    assert find_phone("số em là 0912 345 678 ạ") == "0912345678"
    assert find_phone("+84 912.345.678") == "0912345678"
    assert find_phone("cccd 012345678901") is None and find_phone("không có") is None
