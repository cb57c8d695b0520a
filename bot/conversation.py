"""One citizen turn, whatever the channel: commands, limits, Rasa, and the degraded answer.

Rasa owns the dialogue. The gateway only handles what is about the channel or the citizen's
data: the commands (/start, /help, /tiep, /xoadulieu), consent to the privacy notice, erasure,
the per-citizen rate limit, cutting very long texts, and answering when Rasa (or its action
server) is down or slower than ``rasa_timeout_seconds``: then the knowledge base answers
in-process, or the citizen gets an apology and a way to reach a person. Never silence.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Any
from urllib.parse import quote

import httpx

from bot.store import GatewayStore, Incoming
from core.redaction import pseudonym
from core.settings import Settings

log = logging.getLogger(__name__)

Reply = dict[str, Any]

PRIVACY_CONSENT = ("Bạn có đồng ý để trợ lý lưu câu hỏi của bạn (đã che số căn cước, số điện "
                   "thoại, mã OTP) để trả lời và cải thiện dịch vụ không? Gõ /xoadulieu để xoá dữ "
                   "liệu bất cứ lúc nào.")
CONSENT_BUTTONS = [{"title": "Đồng ý", "payload": "#consent:yes"},
                   {"title": "Không đồng ý", "payload": "#consent:no"}]
CONSENT_YES = "Cảm ơn bạn. Bạn cứ gõ câu hỏi nhé."
CONSENT_NO = ("Mình đã ghi nhận: nội dung câu hỏi của bạn sẽ không được lưu lại. Bạn vẫn hỏi "
              "được như bình thường.")
ERASE_CONFIRM = ("Bạn muốn xoá toàn bộ cuộc trò chuyện và dữ liệu cá nhân của mình trên trợ lý "
                 "này? Việc này không hoàn tác được; bước hướng dẫn đang làm dở cũng bị xoá.")
ERASE_BUTTONS = [{"title": "Xoá dữ liệu", "payload": "#erase:yes"},
                 {"title": "Huỷ", "payload": "#erase:no"}]
ERASED = "Đã xoá dữ liệu của bạn. Yêu cầu này đã được ghi nhận (không kèm nội dung)."
ERASE_CANCELLED = "Đã huỷ, dữ liệu của bạn vẫn được giữ nguyên."
UNSUPPORTED = ("Xin lỗi, mình chưa xem được hình ảnh, nhãn dán hay tin nhắn thoại. Bạn vui lòng "
               "gõ câu hỏi bằng chữ nhé.")
UNKNOWN_COMMAND = ("Mình chưa có lệnh này. Các lệnh: /start (bắt đầu), /help (trợ giúp), "
                   "/tiep (tiếp tục hướng dẫn), /xoadulieu (xoá dữ liệu).")
RATE_LIMITED = "Bạn gửi hơi nhanh, mình chưa kịp đọc hết. Bạn đợi khoảng một phút rồi gửi tiếp nhé."
CUT_NOTICE = "(Tin nhắn dài quá nên mình chỉ đọc {n} ký tự đầu. Bạn hỏi ngắn gọn sẽ dễ hơn.)"
DEGRADED = "Xin lỗi, hệ thống đang chậm nên mình trả lời nhanh từ cơ sở kiến thức:"
DEGRADED_NONE = ("Xin lỗi, hệ thống đang gặp sự cố nên mình chưa trả lời được. Bạn thử lại sau "
                 "ít phút, hoặc gọi tổng đài hỗ trợ VNeID 1900 0368 để gặp người hỗ trợ.")
EMPTY_REPLY = "Mình chưa rõ ý bạn. Bạn nói cụ thể hơn giúp mình nhé (ví dụ: \"cấp lại căn cước\")."
PERSON_BUTTON = {"title": "Gặp người hỗ trợ", "payload": "/request_human"}

COMMANDS = {"/help": "/help", "/tiep": "/resume_guide", "/tieptuc": "/resume_guide"}
_PAYLOAD = re.compile(r"^/(\w+)(\{.*\})?$", re.S)


def text_reply(text: str, buttons: list[dict[str, str]] | None = None) -> Reply:
    return {"text": text, "buttons": buttons or []}


class RasaUnavailable(RuntimeError):
    pass


class Conversation:
    """Handles one stored delivery and returns the replies to send (never an empty list)."""

    def __init__(self, settings: Settings, store: GatewayStore, limiter, knowledge=None,
                 http: httpx.AsyncClient | None = None):
        self.settings, self.store, self.limiter = settings, store, limiter
        self.knowledge = knowledge  # callable returning a KnowledgeService or None
        self.desk = None  # bot.teamdesk.TeamDesk: cases in live handoff, card buttons
        self.http = http or httpx.AsyncClient(
            timeout=httpx.Timeout(settings.rasa_timeout_seconds, connect=1.0),
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50))

    async def close(self) -> None:
        await self.http.aclose()

    async def handle(self, item: Incoming) -> list[Reply]:
        try:
            replies = await self._handle(item)
        except Exception:  # the citizen must never be left without an answer
            log.exception("turn failed for %s", pseudonym(item.sender_id))
            replies = [text_reply(DEGRADED_NONE)]
        if replies is None:  # over the rate limit, already told: dropped on purpose
            return []
        if item.kind == "team":  # a card button: answered on the card itself, maybe nothing to send
            return [r for r in replies if r.get("text") or r.get("buttons")]
        return [r for r in replies if r.get("text") or r.get("buttons")] or [text_reply(EMPTY_REPLY)]

    async def _handle(self, item: Incoming) -> list[Reply] | None:
        verdict = await self.limiter.check(item.sender_id)
        if not verdict.allowed:
            return [text_reply(RATE_LIMITED)] if verdict.notify else None
        if self.desk is not None:
            try:
                replies = await self.desk.intercept(item)
            except Exception:  # cases unreadable (database down): the assistant still answers
                if item.kind == "team":
                    raise
                log.exception("team desk failed for %s; answering as usual", pseudonym(item.sender_id))
                replies = None
            if replies is not None:
                return await self.desk.apply_edits(replies)
        if item.kind == "team":
            return []
        if item.kind == "unsupported":
            return [text_reply(UNSUPPORTED)]
        if item.kind == "command":
            return await self._command(item)
        if item.kind == "payload":
            return await self._payload(item)
        text, notes = item.text, []
        limit = self.settings.message_max_chars
        if len(text) > limit:
            text = text[:limit]
            notes.append(text_reply(CUT_NOTICE.format(n=f"{limit:,}".replace(",", "."))))
        return notes + await self.ask_rasa(item.sender_id, text, item.channel)

    async def _command(self, item: Incoming) -> list[Reply]:
        command = item.text.split()[0].split("@")[0].lower()
        if command == "/start":
            replies = await self.ask_rasa(item.sender_id, "/greet", item.channel)
            if await asyncio.to_thread(self.store.consent, item.sender_id) is None:
                replies.append(text_reply(PRIVACY_CONSENT, CONSENT_BUTTONS))
            return replies
        if command == "/xoadulieu":
            return [text_reply(ERASE_CONFIRM, ERASE_BUTTONS)]
        if command in COMMANDS:
            return await self.ask_rasa(item.sender_id, COMMANDS[command], item.channel)
        return [text_reply(UNKNOWN_COMMAND)]

    async def _payload(self, item: Incoming) -> list[Reply]:
        payload = item.text
        if payload.startswith("#k:"):
            payload = await asyncio.to_thread(self.store.resolve_payload, payload) or ""
            if not payload:
                return [text_reply("Nút này đã cũ. Bạn gõ lại câu hỏi giúp mình nhé.")]
        if payload in ("#consent:yes", "#consent:no"):
            granted = payload.endswith("yes")
            await asyncio.to_thread(self.store.set_consent, item.sender_id, granted)
            return [text_reply(CONSENT_YES if granted else CONSENT_NO)]
        if payload == "#erase:yes":
            notices = await self.desk.before_erase(item.sender_id) if self.desk else []
            removed = await asyncio.to_thread(self.store.erase, item.sender_id)
            log.info("erasure for %s: %s", pseudonym(item.sender_id), removed)
            await self._erase_rasa(item.sender_id)
            return [text_reply(ERASED), *notices]
        if payload == "#erase:no":
            return [text_reply(ERASE_CANCELLED)]
        if not _PAYLOAD.match(payload):
            return [text_reply("Nút này không còn dùng được. Bạn gõ câu hỏi giúp mình nhé.")]
        return await self.ask_rasa(item.sender_id, payload, item.channel)

    async def _erase_rasa(self, sender_id: str) -> None:
        """Erase the conversation in Rasa too: its events (the citizen's texts among them) are
        replaced by none, through Rasa's HTTP API. A "/restart" message would only append an
        event and leave the history in the tracker store; it is the fallback when the API
        refuses (for instance a production tracker store that only appends: see
        docs/channels.md)."""
        base = self.settings.rasa_url.rstrip("/")
        url = f"{base}/conversations/{quote(sender_id, safe=':')}/tracker/events"
        try:
            response = await asyncio.wait_for(
                self.http.put(url, json=[], params={"token": self.settings.rasa_api_token()}),
                timeout=self.settings.rasa_timeout_seconds)
            response.raise_for_status()
            return
        except (TimeoutError, httpx.HTTPError) as exc:
            log.warning("could not erase the Rasa conversation of %s (%s); restarting it",
                        pseudonym(sender_id), type(exc).__name__)
        try:
            await self._post_rasa(sender_id, "/restart", "gateway")
        except RasaUnavailable:
            log.warning("could not reset the Rasa conversation of %s", pseudonym(sender_id))

    async def _post_rasa(self, sender_id: str, message: str, channel: str) -> list[Reply]:
        url = f"{self.settings.rasa_url.rstrip('/')}/webhooks/rest/webhook"
        try:
            response = await asyncio.wait_for(
                self.http.post(url, json={"sender": sender_id, "message": message,
                                          "metadata": {"channel": channel}}),
                timeout=self.settings.rasa_timeout_seconds)
            response.raise_for_status()
            data = response.json()
        except (TimeoutError, httpx.HTTPError, ValueError) as exc:
            raise RasaUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if not isinstance(data, list):
            raise RasaUnavailable(f"unexpected reply {str(data)[:200]}")
        return [text_reply(str(m.get("text") or ""), [
            {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
            for b in m.get("buttons") or []]) for m in data if isinstance(m, dict)]

    async def ask_rasa(self, sender_id: str, message: str, channel: str) -> list[Reply]:
        try:
            return await self._post_rasa(sender_id, message, channel)
        except RasaUnavailable as exc:
            log.warning("Rasa unavailable (%s); degraded answer for %s", exc, pseudonym(sender_id))
            return await self.degraded(message)

    async def degraded(self, message: str) -> list[Reply]:
        """The knowledge base's own answer, without dialogue, or an apology and a person."""
        service = self.knowledge() if self.knowledge else None
        if service is not None:
            try:
                text = await asyncio.to_thread(self._direct_answer, service, message)
            except Exception:
                log.exception("degraded answer failed")
                text = None
            if text:
                return [text_reply(f"{DEGRADED}\n\n{text}")]
        return [text_reply(DEGRADED_NONE)]

    @staticmethod
    def _direct_answer(service, message: str) -> str | None:
        from knowledge.answers import entry_answer

        match = _PAYLOAD.match(message)
        if match:  # a button: answer its topic directly when it names one
            try:
                entities = json.loads(match.group(2) or "{}")
            except ValueError:
                return None
            entry = service.get_entry(str(entities.get("service", "")))
            return entry_answer(entry, entities.get("aspect")) if entry else None
        answer = service.answer(message)
        return answer.text if answer.status == "answered" else None
