"""The team's side of a case, on Telegram: the card, the claim, the live handoff, closing.

- A routed case gets a card in its team's group chat (topic, step reached, the question, a
  redacted excerpt, where the citizen is, how long they have waited) with "Nhận xử lý" (claim)
  and "Chuyển" (forward). The claim is atomic (teams/handoff.py); the card then shows who.
- Live handoff: while a member holds a case, the assistant stays quiet for that citizen. The
  citizen's messages (redacted) reach the member in the member's private chat with the bot;
  the member's messages there reach the citizen on the citizen's own channel. `/xong <ghi
  chú>` or the "Đóng ca" button closes it with a resolution note; the citizen gets the note,
  a "Vẫn chưa xong" button (reopen) and a 1-5 rating; the assistant answers again.
- Out of working hours the citizen may leave a call-back number (asked by the escalation
  action with "#callback:<case>"; the press is the consent, recorded as a case event).
- Unclaimed cases: a reminder in the group after `case_remind_after_minutes` of working
  time, a move to the province's default team (then the central team) after
  `case_move_after_minutes`; the citizen is told.

Replies addressed to someone other than the sender carry ``"to": {"channel", "chat_id"}``;
the worker stores and sends them like any reply (durable, in order).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import Any

from bot.store import GatewayStore, Incoming
from core.redaction import redact
from core.settings import Settings
from teams.cases import Cases
from teams.handoff import CaseView, Handoffs, Move, find_phone
from teams.routing import VIETNAM, describe_opening, is_open

log = logging.getLogger(__name__)

Reply = dict[str, Any]
CARD_BATCH = 50  # cards posted at once
EXCERPT_TURNS = 6
EXCERPT_CHARS = 300
CHANNEL_NAMES = {"telegram": "Telegram", "zalo": "Zalo", "web": "web chat"}

IN_HANDOFF = ("Bạn đang được {name} ({team}) hỗ trợ trực tiếp. Bạn cứ nhắn tin ở đây, "
              "cán bộ sẽ trả lời bạn.")
UNSUPPORTED_TO_MEMBER = ("Công dân (ca #{id}) vừa gửi ảnh/nhãn dán/tin thoại; trợ lý chưa chuyển "
                         "được loại tin này. Bạn nhờ công dân mô tả bằng chữ nhé.")
MEMBER_UNSUPPORTED = "Trợ lý chưa chuyển được ảnh hay tin thoại cho công dân. Bạn gõ bằng chữ giúp nhé."
STALE_BUTTON = "Nút này không còn dùng được."


def _hhmm(at: dt.datetime) -> str:
    return at.astimezone(VIETNAM).strftime("%H:%M")


def _minutes(delta: dt.timedelta) -> int:
    return max(int(delta.total_seconds() // 60), 0)


def _case_id(payload: str, prefix: str) -> int | None:
    try:
        return int(payload.removeprefix(prefix).split(":")[0])
    except ValueError:
        return None


def to(channel: str, chat_id: str, text: str, buttons: list[dict[str, Any]] | None = None) -> Reply:
    return {"text": text, "buttons": buttons or [], "to": {"channel": channel, "chat_id": str(chat_id)}}


class TeamDesk:
    def __init__(self, settings: Settings, store: GatewayStore, channels: dict[str, Any],
                 topic_title: Callable[[str], str | None] | None = None,
                 clock: Callable[[], dt.datetime] | None = None, cases: Cases | None = None):
        self.settings, self.store, self.channels = settings, store, channels
        self.handoffs = Handoffs(store.url)
        self.cases = cases or Cases(store.url)
        self.topic_title = topic_title or (lambda _id: None)
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.enqueue: Callable[[list[Reply]], Any] | None = None  # set by the gateway (worker)
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._warned = False
        self._indexed: tuple[Any, set[int], dict[str, Any]] | None = None

    # --- who is who --------------------------------------------------------------------------

    def _index(self) -> tuple[set[int], dict[str, Any]]:
        """(member Telegram ids, teams by code) of the current directory, built once per
        directory load (every Telegram message asks whether its sender is a member)."""
        directory = self.cases.directory()
        if self._indexed is None or self._indexed[0] is not directory:
            teams = {t.code: t for t in directory.teams()}
            members = {m.telegram_id for t in teams.values() for m in t.members}
            self._indexed = (directory, members, teams)
        return self._indexed[1], self._indexed[2]

    def _member_ids(self) -> set[int]:
        return self._index()[0]

    def _team(self, code: str):
        return self._index()[1].get(code)

    # --- one message -------------------------------------------------------------------------

    async def intercept(self, item: Incoming) -> list[Reply] | None:
        """Replies when the message belongs to a case (a card button, a member talking to a
        citizen, a citizen in live handoff, an answer to a question the gateway asked);
        None when the assistant should answer as usual."""
        if item.kind == "team":
            return await self._card_button(item)
        text = item.text or ""
        if item.kind == "payload" and text.startswith(("#rate:", "#reopen:", "#callback:", "#nocallback:")):
            return await asyncio.to_thread(self._citizen_button, item)
        if item.channel == "telegram" and item.chat_id.lstrip("-").isdigit() and \
                int(item.chat_id) in await asyncio.to_thread(self._member_ids):
            replies = await asyncio.to_thread(self._member_message, item, int(item.chat_id))
            if replies is not None:
                return replies
        return await asyncio.to_thread(self._citizen_message, item)

    # citizens ----------------------------------------------------------------------------------

    def _citizen_message(self, item: Incoming) -> list[Reply] | None:
        case, pending = self.handoffs.citizen_state(item.sender_id)
        if case is not None and case.claimed_by is not None:
            member = str(case.claimed_by)
            if item.kind == "text":
                excerpt = redact(item.text)[: self.settings.message_max_chars]
                return [to("telegram", member, f"💬 Công dân (ca #{case.id}):\n{excerpt}")]
            if item.kind == "unsupported":
                from bot.conversation import UNSUPPORTED

                return [to("telegram", member, UNSUPPORTED_TO_MEMBER.format(id=case.id)),
                        {"text": UNSUPPORTED, "buttons": []}]
            command = (item.text or "").split()[:1]
            if item.kind == "command" and command and command[0].lower().startswith("/xoadulieu"):
                return None
            if item.kind == "payload" and (item.text or "").startswith(("#erase:", "#consent:")):
                return None
            team = case.team.name if case.team else "tổ công nghệ số cộng đồng"
            return [{"text": IN_HANDOFF.format(name=case.claimed_by_name, team=team), "buttons": []}]
        if "callback_phone" in pending and item.kind == "text":
            phone = find_phone(item.text)
            if phone is None:  # they moved on: the assistant answers; the number is not kept
                self.handoffs.clear_pending(item.sender_id, "callback_phone")
                return None
            updated = self.handoffs.set_callback(pending["callback_phone"], item.sender_id, phone)
            if updated is None:
                self.handoffs.clear_pending(item.sender_id, "callback_phone")
                return None
            replies = [{"text": self._callback_thanks(updated, phone), "buttons": []}]
            if updated.card_chat_id:  # the card is out already: tell the group
                replies.append({**to("telegram", updated.card_chat_id,
                                     f"📞 Ca #{updated.id}: công dân để lại số gọi lại {phone} "
                                     "(đồng ý để tổ gọi lại)."), "reply_to": updated.card_message_id})
            return replies
        return None

    def _callback_thanks(self, case: CaseView, phone: str) -> str:
        team = self._team(case.team.code) if case.team else None
        when = describe_opening(team, self.clock()) if team else "sớm nhất có thể"
        return (f"Cảm ơn bạn. Tổ sẽ gọi lại số ...{phone[-3:]} {when}. Số này chỉ dùng để gọi "
                "lại cho bạn.")

    def _citizen_button(self, item: Incoming) -> list[Reply]:
        payload, who = item.text, item.sender_id
        if payload.startswith("#rate:"):
            parts = payload.split(":")
            case = None
            if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
                case = self.handoffs.rate(int(parts[1]), who, int(parts[2]))
            if case is None:
                return [{"text": STALE_BUTTON, "buttons": []}]
            text = f"Cảm ơn bạn đã chấm {case.rating}/5."
            if case.rating <= 2:
                text += " Mình sẽ chuyển góp ý để tổ hỗ trợ tốt hơn."
            return [{"text": text, "buttons": []}]
        case_id = _case_id(payload, payload.split(":")[0] + ":")
        if payload.startswith("#reopen:"):
            case = self.handoffs.reopen(case_id, who, self.clock()) if case_id else None
            if case is None:
                return [{"text": "Yêu cầu này không mở lại được nữa. Bạn gõ \"gặp người hỗ trợ\" "
                                 "để tạo yêu cầu mới nhé.", "buttons": []}]
            replies = [{"text": f"Mình đã báo lại {case.claimed_by_name}; bạn cứ nhắn tiếp ở đây.",
                        "buttons": []},
                       to("telegram", str(case.claimed_by),
                          f"🔁 Công dân báo ca #{case.id} vẫn chưa xong: ca đã mở lại, tin nhắn "
                          "của công dân sẽ chuyển đến bạn. Gõ /xong <ghi chú> khi xong.",
                          [{"title": "Đóng ca", "payload": f"#close:{case.id}"}])]
            if case.card_chat_id and case.card_message_id:
                replies.append({"edit": {"chat_id": case.card_chat_id,
                                         "message_id": case.card_message_id,
                                         "body": self.card(case)}})
            return replies
        case = self.handoffs.get(case_id) if case_id else None
        if case is None or case.sender_id != who or case.status != "open":
            return [{"text": STALE_BUTTON, "buttons": []}]
        if payload.startswith("#nocallback:"):
            return [{"text": "Vâng. Tổ sẽ nhắn cho bạn ngay trong cuộc trò chuyện này khi vào giờ "
                             "làm việc.", "buttons": []}]
        self.handoffs.set_pending(who, "callback_phone", case.id)
        self.cases.event(case.id, "callback_asked", "citizen")
        return [{"text": "Bạn gõ số điện thoại để tổ gọi lại (ví dụ: 0912 345 678). Gửi số là bạn "
                         "đồng ý để tổ dùng số này gọi lại cho bạn.", "buttons": []}]

    async def before_erase(self, sender_id: str) -> list[Reply]:
        """The citizen erases their data: a member holding their case is told it is over."""
        case, _ = await asyncio.to_thread(self.handoffs.citizen_state, sender_id)
        if case is None or case.claimed_by is None:
            return []
        await asyncio.to_thread(self.cases.event, case.id, "erased", "citizen")
        return [to("telegram", str(case.claimed_by),
                   f"Công dân của ca #{case.id} đã xoá dữ liệu của mình trên trợ lý: ca đã đóng, "
                   "bạn không cần trả lời nữa.")]

    # members -----------------------------------------------------------------------------------

    def _member_message(self, item: Incoming, user_id: int) -> list[Reply] | None:
        text = (item.text or "").strip()
        sender = item.sender_id
        if item.kind == "payload" and text.startswith("#close:"):
            case = self.handoffs.get(_case_id(text, "#close:") or -1)
            if case is None or case.status != "claimed" or case.claimed_by != user_id:
                return [{"text": "Ca này đã đóng hoặc không do bạn xử lý.", "buttons": []}]
            self.handoffs.set_pending(sender, "resolution_note", case.id)
            return [{"text": f"Bạn gõ ghi chú ngắn cách đã giải quyết ca #{case.id} (ví dụ: đã "
                             "hướng dẫn đặt lại mật khẩu VNeID). Ghi chú được gửi cho công dân.",
                     "buttons": []}]
        if item.kind == "payload" and text.startswith("#focus:"):
            case = self.handoffs.set_focus(user_id, _case_id(text, "#focus:") or -1)
            if case is None:
                return [{"text": "Ca này đã đóng hoặc không do bạn xử lý.", "buttons": []}]
            return [{"text": f"Từ giờ tin nhắn của bạn gửi cho công dân của ca #{case.id} "
                             f"({case.location}).", "buttons": []}]
        command = text.split()[0].split("@")[0].lower() if item.kind == "command" and text else ""
        if command == "/ca":
            cases = self.handoffs.active_for_member(user_id)
            if not cases:
                return [{"text": "Bạn không có ca nào đang xử lý.", "buttons": []}]
            return [{"text": f"Bạn đang xử lý {len(cases)} ca. Chọn ca để trả lời:",
                     "buttons": [{"title": f"#{c.id} · {c.location[:40]}", "payload": f"#focus:{c.id}"}
                                 for c in cases[:10]]}]
        pending = self.handoffs.pending(sender)
        focus = self.handoffs.focus(user_id)
        if command == "/xong":
            note = text.split(maxsplit=1)[1].strip() if len(text.split(maxsplit=1)) > 1 else ""
            if focus is None:
                return [{"text": "Bạn không có ca nào đang xử lý.", "buttons": []}]
            if not note:
                self.handoffs.set_pending(sender, "resolution_note", focus.id)
                return [{"text": f"Bạn gõ ghi chú ngắn cách đã giải quyết ca #{focus.id}.",
                         "buttons": []}]
            return self._close(focus.id, user_id, note)
        if "resolution_note" in pending and item.kind == "text" and text:
            self.handoffs.clear_pending(sender, "resolution_note")
            return self._close(pending["resolution_note"], user_id, text)
        if focus is None:
            return None  # no case in hand: the member uses the assistant like anyone
        if item.kind == "unsupported":
            return [{"text": MEMBER_UNSUPPORTED, "buttons": []}]
        if item.kind != "text":
            return None
        team = focus.team.name if focus.team else "tổ công nghệ số cộng đồng"
        reply = to(focus.channel, focus.chat_id,
                   f"👤 {focus.claimed_by_name} ({team}):\n{text[:self.settings.message_max_chars]}")
        reply["if_failed"] = {"channel": "telegram", "chat_id": str(user_id),
                              "text": f"⚠️ Tin nhắn của bạn chưa đến được công dân (ca #{focus.id})"}
        return [reply]

    def _close(self, case_id: int, user_id: int, note: str) -> list[Reply]:
        case = self.handoffs.close(case_id, user_id, note, self.clock())
        if case is None:
            return [{"text": "Ca này đã đóng hoặc không do bạn xử lý.", "buttons": []}]
        team = case.team.name if case.team else "tổ công nghệ số cộng đồng"
        left = self.handoffs.active_for_member(user_id)
        mine = f"Đã đóng ca #{case.id}. Cảm ơn bạn!"
        if left:
            mine += f" Bạn còn {len(left)} ca đang xử lý (gõ /ca để chọn)."
        replies = [
            {"text": mine, "buttons": []},
            to(case.channel, case.chat_id,
               f"{case.claimed_by_name} ({team}) đã hoàn tất hỗ trợ yêu cầu #{case.id}.\n"
               f"Ghi chú: {note[:1000]}\nTừ giờ trợ lý tự động tiếp tục trả lời bạn.",
               [{"title": "Vẫn chưa xong", "payload": f"#reopen:{case.id}"}]),
            to(case.channel, case.chat_id,
               "Bạn chấm điểm lần hỗ trợ này nhé (1 = chưa tốt, 5 = rất tốt):",
               [{"title": f"{n} ⭐", "payload": f"#rate:{case.id}:{n}", "row": 1} for n in range(1, 6)]),
        ]
        if case.card_chat_id and case.card_message_id:
            replies.append({"edit": {"chat_id": case.card_chat_id, "message_id": case.card_message_id,
                                     "body": self.card(case)}})
        return replies

    # the card's buttons ------------------------------------------------------------------------

    async def _card_button(self, item: Incoming) -> list[Reply]:
        telegram = self.channels.get("telegram")
        data, detail = item.text, item.detail
        user_id, group = int(detail["user_id"]), item.chat_id
        message_id = detail.get("message_id")
        answer, replies, alert = "", [], False
        prefix = data.split(":")[0] + ":"
        case_id = _case_id(data, prefix)
        if case_id is None:
            answer, alert = STALE_BUTTON, True
        elif prefix == "#claim:":
            result = await asyncio.to_thread(self.handoffs.claim, case_id, user_id, group, self.clock())
            case = result.case
            if result.outcome == "won":
                answer = f"Bạn đã nhận ca #{case.id}. Mình đã nhắn riêng cho bạn."
                replies = self._claimed(case)
                if message_id:
                    replies.append({"edit": {"chat_id": group, "message_id": message_id,
                                             "body": self.card(case)}})
            elif result.outcome == "taken":
                answer, alert = f"Ca #{case_id} đã được {case.claimed_by_name or 'người khác'} nhận.", True
            elif result.outcome == "not_member":
                team = case.team.name if case and case.team else "tổ"
                answer, alert = (f"Bạn chưa có trong danh sách thành viên của {team}. Nhờ quản trị "
                                 "viên bổ sung (govbot teams import)."), True
            else:
                answer, alert = f"Ca #{case_id} không còn ở tổ này (đã chuyển hoặc đã đóng).", True
        else:
            answer, alert, replies = await asyncio.to_thread(
                self._forward_button, prefix, data, case_id, user_id, group, message_id)
            self._wake.set()  # a forwarded case's new card goes out now
        if telegram is not None:
            await telegram.answer_callback(detail.get("callback_id", ""), answer, alert)
        return replies

    def _forward_button(self, prefix: str, data: str, case_id: int, user_id: int, group: str,
                        message_id: int | None) -> tuple[str, bool, list[Reply]]:
        case = self.handoffs.get(case_id)
        if case is None or case.status != "open" or case.team is None \
                or str(case.team.chat_id) != str(group):
            return f"Ca #{case_id} không còn chờ ở tổ này.", True, []
        name = self.handoffs.member_name(user_id, case.team.id)
        if name is None:
            return "Bạn chưa có trong danh sách thành viên của tổ.", True, []
        edit = lambda body: [{"edit": {"chat_id": group, "message_id": message_id, "body": body}}] \
            if message_id else []  # noqa: E731
        if prefix == "#fwd:":
            targets = self.handoffs.forward_targets(case_id)
            if not targets:
                return "Chưa có tổ nào khác để chuyển.", True, []
            body = self.card(case)
            body["buttons"] = [{"title": f"→ {t.name}"[:64], "payload": f"#to:{case_id}:{t.id}"}
                               for t in targets] + [{"title": "« Quay lại", "payload": f"#fwdx:{case_id}"}]
            return "Chọn tổ nhận ca.", False, edit(body)
        if prefix == "#fwdx:":
            return "", False, edit(self.card(case))
        try:
            team_id = int(data.split(":")[2])
        except (IndexError, ValueError):
            return STALE_BUTTON, True, []
        move = self.handoffs.forward(case_id, team_id, f"tg:{user_id} {name}")
        if move is None:
            return "Không chuyển được ca này.", True, []
        old_body = {"text": f"↪️ Ca #{case_id}: {name} đã chuyển sang {move.case.team.name} lúc "
                            f"{_hhmm(self.clock())}.", "buttons": []}
        return f"Đã chuyển sang {move.case.team.name}.", False, edit(old_body) + [
            self._citizen_moved(move)]

    def _claimed(self, case: CaseView) -> list[Reply]:
        team = case.team.name if case.team else "tổ công nghệ số cộng đồng"
        intro = (f"Bạn đã nhận ca #{case.id} ({case.location}).\n{self._summary(case)}\n\n"
                 "Từ giờ tin nhắn của công dân chuyển đến đây (đã che số căn cước, số điện thoại, "
                 "OTP). Bạn gõ trả lời ở đây để gửi cho công dân. Gõ /xong <ghi chú> hoặc bấm "
                 "\"Đóng ca\" khi xong; /ca để chọn ca khác.")
        return [to("telegram", str(case.claimed_by), intro,
                   [{"title": "Đóng ca", "payload": f"#close:{case.id}"}]),
                to(case.channel, case.chat_id,
                   f"{case.claimed_by_name} ({team}) đã nhận hỗ trợ yêu cầu #{case.id} của bạn. "
                   "Bạn cứ nhắn tin ở đây, cán bộ sẽ trả lời bạn trực tiếp.")]

    def _citizen_moved(self, move: Move) -> Reply:
        case = move.case
        team = self._team(case.team.code)
        when = "" if team is None or is_open(team, self.clock()) else \
            f" Tổ sẽ nhắn cho bạn {describe_opening(team, self.clock())}."
        if move.reason == "unclaimed":
            text = (f"Yêu cầu #{case.id} chưa được {move.old_team.name if move.old_team else 'tổ'} "
                    f"nhận kịp, nên mình đã chuyển lên {case.team.name} để bạn được hỗ trợ sớm hơn.")
        else:
            text = f"Yêu cầu #{case.id} của bạn được chuyển đến {case.team.name} để hỗ trợ bạn tốt hơn."
        return to(case.channel, case.chat_id, text + when)

    # --- the card ----------------------------------------------------------------------------

    def _summary(self, case: CaseView) -> str:
        lines = []
        title = self.topic_title(case.topic) if case.topic else None
        if title or case.topic:
            step = f" (đang ở bước {case.step})" if case.step else ""
            lines.append(f"Chủ đề: {title or case.topic}{step}")
        if case.question:
            lines.append(f"Câu hỏi: \"{case.question[:EXCERPT_CHARS]}\"")
        return "\n".join(lines)

    def card(self, case: CaseView, now: dt.datetime | None = None) -> Reply:
        """The card as the team's group sees it; buttons only while it waits for a claim."""
        now = now or self.clock()
        lines = [f"🆘 Yêu cầu hỗ trợ #{case.id} · {case.location or 'chưa rõ xã/phường'}"]
        summary = self._summary(case)
        if summary:
            lines.append(summary)
        excerpt = [t for t in case.transcript if t.get("text")][-EXCERPT_TURNS:]
        if excerpt:
            lines.append("Trích đoạn (đã che thông tin cá nhân):")
            for turn in excerpt:
                who = "Dân" if turn.get("who") == "citizen" else "Trợ lý"
                text = turn["text"].replace("\n", " ")
                lines.append(f"• {who}: {text[:160]}{'…' if len(text) > 160 else ''}")
        lines.append(f"Kênh: {CHANNEL_NAMES.get(case.channel, case.channel)} · chờ từ "
                     f"{_hhmm(case.created_at)} ({_minutes(now - case.created_at)} phút)")
        if case.callback_phone:
            lines.append(f"📞 Số gọi lại: {case.callback_phone} (công dân đồng ý để tổ gọi lại)")
        buttons: list[dict[str, Any]] = []
        if case.status == "open":
            buttons = [{"title": "Nhận xử lý", "payload": f"#claim:{case.id}"},
                       {"title": "Chuyển", "payload": f"#fwd:{case.id}"}]
        elif case.status == "claimed":
            lines.append(f"✋ Đang xử lý: {case.claimed_by_name}"
                         + (f" (nhận lúc {_hhmm(case.claimed_at)})" if case.claimed_at else ""))
        elif case.status == "resolved":
            lines.append(f"✅ Đã xử lý xong: {case.claimed_by_name}, {_hhmm(now)}")
        return {"text": "\n".join(lines)[:3800], "buttons": buttons}

    # --- the background loop -----------------------------------------------------------------

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="team-desk")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        last_sweep = 0.0
        while True:
            self._wake.clear()
            try:
                while await self.post_cards() >= CARD_BATCH:
                    pass  # a burst of cases: the next batch at once
                if time.monotonic() - last_sweep >= self.settings.case_sweep_seconds:
                    last_sweep = time.monotonic()
                    await self.sweep(self.clock())
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("team desk loop error (database down?); retrying")
                await asyncio.sleep(2)
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.settings.case_poll_seconds)
            except TimeoutError:
                pass

    async def post_cards(self) -> int:
        """Post the card of every routed case that has none yet; returns how many."""
        telegram = self.channels.get("telegram")
        due = await asyncio.to_thread(self.handoffs.due_cards, CARD_BATCH)
        if not due:
            return 0
        if telegram is None:
            if not self._warned:
                log.warning("%d case(s) wait for a team but Telegram is off: see "
                            "`govbot escalations list`", len(due))
                self._warned = True
            return 0
        results = await asyncio.gather(*(self._post_card(telegram, case) for case in due))
        return sum(results)

    async def _post_card(self, telegram, case: CaseView) -> int:
        """Post one card (cards of different teams go out in parallel; the channel keeps
        each group chat within Telegram's limits)."""
        from bot.telegram import SendError

        chat = case.team.chat_id
        body = telegram.render(self.card(case))[0]
        try:
            message_id = await telegram.send(chat, body)
        except SendError as exc:
            log.error("card of case %d to team %s failed: %s", case.id, case.team.code, exc)
            await asyncio.to_thread(self.cases.event, case.id, "notify_failed", "system",
                                    team_id=case.team.id, error=str(exc)[:300])
            move = await asyncio.to_thread(self.handoffs.move_up, case.id, "notify_failed")
            if move is None:  # nowhere left: stop retrying, the case stays listed
                await asyncio.to_thread(self.handoffs.mark_notified, case.id, chat, None)
            return 0
        await asyncio.to_thread(self.handoffs.mark_notified, case.id, chat, message_id, self.clock())
        return 1

    async def sweep(self, now: dt.datetime) -> tuple[int, int]:
        """Reminders and moves due at `now`; returns (reminded, moved)."""
        remind_after = dt.timedelta(minutes=self.settings.case_remind_after_minutes)
        move_after = dt.timedelta(minutes=self.settings.case_move_after_minutes)
        directory = await asyncio.to_thread(self.cases.directory)
        reminders, moves = await asyncio.to_thread(self.handoffs.sweep, now, directory,
                                                   remind_after, move_after)
        out: list[Reply] = []
        for case in reminders:
            waited = _minutes(case.extra.get("waited", now - case.created_at))
            out.append({**to("telegram", case.card_chat_id,
                             f"⏰ Ca #{case.id} ({case.location}) đã chờ {waited} phút mà chưa ai "
                             "nhận. Thành viên nào rảnh bấm \"Nhận xử lý\" trên thẻ giúp nhé."),
                        "reply_to": case.card_message_id})
        for move in moves:
            chat, message_id = move.old_card
            if chat and message_id:
                out.append({"edit": {"chat_id": chat, "message_id": message_id, "body": {
                    "text": f"⏩ Ca #{move.case.id}: chưa ai nhận sau "
                            f"{int(self.settings.case_move_after_minutes)} phút nên đã chuyển lên "
                            f"{move.case.team.name}.", "buttons": []}}})
            out.append(self._citizen_moved(move))
            log.info("case %d moved to %s (unclaimed)", move.case.id, move.case.team.code)
        out = await self.apply_edits(out)
        if out and self.enqueue is not None:
            await self.enqueue(out)
        if moves:
            self._wake.set()
        return len(reminders), len(moves)

    async def apply_edits(self, replies: list[Reply]) -> list[Reply]:
        """Card edits are done at once (they are not messages); the rest is returned."""
        telegram = self.channels.get("telegram")
        rest = []
        for reply in replies:
            edit = reply.get("edit")
            if edit is None:
                rest.append(reply)
            elif telegram is not None and edit.get("message_id"):
                body = telegram.render(edit["body"])[0]
                await telegram.edit(edit["chat_id"], edit["message_id"], body)
        return rest

