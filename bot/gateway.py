"""The gateway: one HTTP service owning every channel.

- ``/``: the web chat page; ``POST /api/chat`` answers it (and anyone scripting the assistant);
- ``POST /webhooks/telegram`` (webhook mode) or polling, ``POST /webhooks/zalo``: deliveries are
  stored durably, then acknowledged; the worker (bot/worker.py) answers them from the store;
- ``/search`` and ``/api/search``, ``/api/ask``, ``/api/topics``: the knowledge base directly;
- ``/healthz``: what works and what does not.
Run it with ``govbot serve`` (``make run`` starts it with Rasa and the action server).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Query, Request
from fastapi.responses import FileResponse, JSONResponse

from bot.conversation import RATE_LIMITED, Conversation
from bot.ratelimit import make_rate_limiter
from bot.store import GatewayStore, Incoming
from bot.teamdesk import TeamDesk
from bot.worker import Worker
from core.db import DatabaseError
from core.settings import Settings, get_settings
from knowledge.errors import KnowledgeError

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"
MAX_BODY = 1_000_000
USER_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
WEB_COMMANDS = {"/start", "/help", "/tiep", "/xoadulieu"}
SERVICE_BUSY = {"error": "unavailable",
                "message": "Hệ thống đang bảo trì, bạn vui lòng thử lại sau ít phút."}


class KnowledgeHolder:
    """Loads the knowledge service once (in the background at startup) and keeps the error."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.service = None
        self.error: str | None = None
        self._lock = threading.Lock()

    def __call__(self):
        if self.service is None:
            with self._lock:
                if self.service is None:
                    from knowledge.service import KnowledgeService

                    try:
                        self.service = KnowledgeService.from_settings(self.settings, server=True)
                        self.error = None
                    except (KnowledgeError, DatabaseError) as exc:
                        self.error = str(exc)
        return self.service


def _json_error(status: int, error: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": error, "message": message, **extra})


def create_app(settings: Settings | None = None, *, start_channels: bool = True) -> FastAPI:
    settings = settings or get_settings()
    knowledge = KnowledgeHolder(settings)
    store = GatewayStore(settings.resolved_database_url)
    state: dict[str, Any] = {"channels": {}, "worker": None, "conversation": None, "locks": {}}

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        threading.Thread(target=knowledge, name="kb-warmup", daemon=True).start()
        limiter = make_rate_limiter(settings.redis_url, settings.rate_limit_per_minute)
        conversation = Conversation(settings, store, limiter,
                                    knowledge if settings.degraded_answers else None)
        state["conversation"] = conversation
        channels: dict[str, Any] = {}
        worker = Worker(store, conversation, channels, concurrency=settings.worker_concurrency,
                        purge_hours=settings.dedupe_hours)
        state["worker"], state["channels"] = worker, channels
        store.on_added = worker.submit
        # Every turn makes a few short database calls in threads: more threads than the
        # default (cores + 4), and database connections to match (core/db.py).
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(settings.worker_threads, thread_name_prefix="gateway-db"))
        desk = TeamDesk(settings, store, channels, topic_title=_topic_title(knowledge))
        desk.enqueue = worker.enqueue
        conversation.desk = desk
        state["desk"] = desk
        try:
            await asyncio.to_thread(store.check)
            db_ok = True
        except DatabaseError as exc:
            log.error("gateway: %s", exc)
            db_ok = False
        if start_channels and db_ok:
            if settings.telegram_enabled:
                from bot.telegram import TelegramChannel

                channels["telegram"] = TelegramChannel(settings, store)
            if settings.zalo_enabled:
                from bot.zalo import ZaloChannel

                channels["zalo"] = ZaloChannel(settings, store)
            for name, channel in list(channels.items()):
                try:
                    await channel.start()
                except Exception as exc:  # a bad token must not take the web chat down
                    log.error("channel %s did not start: %s", name, exc)
                    state.setdefault("channel_errors", {})[name] = str(exc)
                    channels.pop(name)
            try:
                await worker.start()  # after the channels: recovery may send right away
            except DatabaseError as exc:
                log.error("gateway worker not started: %s", exc)
                state.setdefault("channel_errors", {})["worker"] = str(exc)
            if "zalo" in channels:
                state["zalo_refresh"] = asyncio.create_task(channels["zalo"].keep_fresh())
            await desk.start()
        try:
            yield
        finally:
            if state.get("zalo_refresh"):
                state["zalo_refresh"].cancel()
            await desk.stop()
            await worker.stop()  # finish in-flight turns while the channels can still send
            for channel in channels.values():
                await channel.stop()
            await conversation.close()
            if hasattr(limiter, "close"):
                await limiter.close()

    app = FastAPI(title="Trợ lý dịch vụ công", docs_url="/api/docs", openapi_url="/api/openapi.json",
                  lifespan=lifespan)
    app.state.gateway = state
    app.state.store = store
    app.state.knowledge = knowledge

    # --- pages ---------------------------------------------------------------------------------

    @app.get("/", include_in_schema=False)
    def chat_page() -> FileResponse:
        return FileResponse(STATIC / "chat.html", media_type="text/html; charset=utf-8")

    @app.get("/search", include_in_schema=False)
    def search_page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")

    # --- web chat ------------------------------------------------------------------------------

    @app.post("/api/chat")
    async def api_chat(request: Request):
        body = await _read_json(request)
        if isinstance(body, JSONResponse):
            return body
        user_id, text, payload = body.get("user_id"), body.get("text"), body.get("payload")
        if not isinstance(user_id, str) or not USER_ID.match(user_id):
            return _json_error(422, "invalid_user_id", "user_id: 1-64 characters A-Z a-z 0-9 _ . : -")
        if payload is not None and not isinstance(payload, str) or text is not None and not isinstance(text, str):
            return _json_error(422, "invalid_message", "text and payload must be strings")
        if payload:
            kind, message = "payload", payload[:2000]
        else:
            message = (text or "")[: settings.message_max_chars * 3]
            first = message.strip().split()[0].lower() if message.strip() else ""
            kind = "command" if first in WEB_COMMANDS else "text"
            if not message.strip():
                return {"messages": [{"text": "Bạn gõ câu hỏi vào ô bên dưới nhé.", "buttons": []}]}
        item = Incoming("web", uuid.uuid4().hex, f"web:{user_id}", user_id, kind,
                        message.strip() if kind == "command" else message)
        lock = state["locks"].setdefault(user_id, asyncio.Lock())
        if len(state["locks"]) > 10_000:
            state["locks"] = {user_id: lock}
        async with lock:  # one turn at a time per citizen, in order
            # A browser waits for its answer: over the limit it is told again each time.
            replies = await state["conversation"].handle(item) or [{"text": RATE_LIMITED}]
        relayed = [r for r in replies if r.get("to")]
        if relayed and state["worker"] is not None:  # to a team member: stored, then sent
            try:
                await state["worker"].enqueue(relayed)
            except Exception as exc:  # database down: say so rather than lose it silently
                log.error("relay not stored: %s", exc)
                return {"messages": [{"text": "Xin lỗi, tin nhắn chưa chuyển được cho cán bộ hỗ trợ. "
                                              "Bạn gửi lại sau ít phút nhé.", "buttons": []}]}
        own = [r for r in replies if not r.get("to")]
        return {"messages": [{"text": r.get("text", ""), "buttons": r.get("buttons") or []}
                             for r in own]}

    @app.get("/api/chat/inbox")
    async def api_chat_inbox(user_id: str = Query("", max_length=64)):
        """Messages for a web chat user that came later (a team member's replies, a rating
        request); the page polls this. Each is returned once."""
        if not USER_ID.match(user_id):
            return _json_error(422, "invalid_user_id", "user_id: 1-64 characters A-Z a-z 0-9 _ . : -")
        try:
            messages = await asyncio.to_thread(store.take_web, user_id)
        except Exception:
            return _json_error(503, "database_down", "Hệ thống đang bận, bạn thử lại sau nhé.")
        return {"messages": [{"text": m.get("text", ""), "buttons": m.get("buttons") or []}
                             for m in messages]}

    # --- webhooks ------------------------------------------------------------------------------

    @app.post("/webhooks/telegram")
    async def telegram_webhook(request: Request):
        from bot.telegram import secret_matches

        channel = state["channels"].get("telegram")
        if channel is None or channel.mode != "webhook":
            return _json_error(404, "telegram_off", "Telegram webhook mode is not configured.")
        if not secret_matches(settings, request.headers.get("x-telegram-bot-api-secret-token")):
            return _json_error(401, "bad_secret", "Wrong or missing secret token.")
        raw = await _read_raw(request)
        if isinstance(raw, JSONResponse):
            return raw
        try:
            update = json.loads(raw)
            result = await channel.accept(update)
        except ValueError as exc:
            return _json_error(400, "bad_update", str(exc)[:200])
        except DatabaseError as exc:  # not stored: Telegram must retry
            log.error("telegram update not stored: %s", exc)
            return _json_error(503, "storage_unavailable", "Try again.")
        return {"ok": True, "result": result}

    @app.get("/webhooks/zalo")
    def zalo_webhook_check():
        return {"ok": True}

    @app.post("/webhooks/zalo")
    async def zalo_webhook(request: Request):
        from bot.zalo import SignatureError, verify

        channel = state["channels"].get("zalo")
        if channel is None:
            return _json_error(404, "zalo_off", "Zalo is not configured.")
        raw = await _read_raw(request)
        if isinstance(raw, JSONResponse):
            return raw
        try:
            event = verify(settings, raw, request.headers.get("x-zevent-signature"))
        except SignatureError as exc:
            log.warning("zalo webhook rejected: %s", exc)
            return _json_error(401, "bad_signature", str(exc))
        except ValueError:
            return _json_error(400, "bad_json", "The body is not a JSON object.")
        try:
            result = await channel.accept_event(event)
        except DatabaseError as exc:
            log.error("zalo event not stored: %s", exc)
            return _json_error(503, "storage_unavailable", "Try again.")
        return {"ok": True, "result": result}

    # --- knowledge base directly ---------------------------------------------------------------

    def unavailable() -> JSONResponse:
        return JSONResponse(status_code=503, content={
            "error": "search_unavailable", "detail": knowledge.error,
            "message": "Hệ thống tra cứu đang bảo trì, bạn vui lòng thử lại sau ít phút."})

    @app.get("/api/search")
    def api_search(q: str = Query("", max_length=20000), k: int = Query(5, ge=1, le=50)):
        svc = knowledge()
        return unavailable() if svc is None else svc.search(q, k=k).as_dict()

    @app.get("/api/ask")
    def api_ask(q: str = Query("", max_length=20000)):
        svc = knowledge()
        return unavailable() if svc is None else svc.answer(q).as_dict()

    @app.get("/api/topics")
    def api_topics():
        svc = knowledge()
        if svc is None:
            return unavailable()
        return [{"id": e.id, "title": e.title, "category": e.category,
                 "unverified": e.unverified_facts} for e in svc.list_entries()]

    @app.get("/api/topics/{topic_id}")
    def api_topic(topic_id: str):
        svc = knowledge()
        if svc is None:
            return unavailable()
        entry = svc.get_entry(topic_id.upper())
        if entry is None:
            return JSONResponse(status_code=404, content={"error": "unknown_topic"})
        return entry.to_data()

    # --- health --------------------------------------------------------------------------------

    @app.get("/livez", include_in_schema=False)
    def livez():
        return {"ok": True}

    @app.get("/healthz")
    async def healthz():
        svc = await asyncio.to_thread(knowledge)
        rasa = await _rasa_status(settings)
        report: dict[str, Any] = {
            "ok": svc is not None, "rasa": rasa,
            "channels": ["web", *state["channels"]],
            "channel_errors": state.get("channel_errors", {}),
        }
        if svc is None:
            report["error"] = knowledge.error
            return JSONResponse(status_code=503, content=report)
        report.update(svc.info())
        try:
            report["queue"] = await asyncio.to_thread(store.counts)
        except DatabaseError as exc:
            report.update(ok=False, database=str(exc))
            return JSONResponse(status_code=503, content=report)
        return report

    return app


def _topic_title(knowledge: KnowledgeHolder):
    def title(topic_id: str) -> str | None:
        service = knowledge.service  # never blocks on a load: the card can do without
        entry = service.get_entry(topic_id) if service is not None else None
        return entry.title if entry is not None else None

    return title


async def _rasa_status(settings: Settings) -> str:
    try:
        async with httpx.AsyncClient(timeout=2) as client:
            r = await client.get(f"{settings.rasa_url.rstrip('/')}/status",
                                 params={"token": settings.rasa_api_token()})
        return "ok" if r.status_code == 200 else f"HTTP {r.status_code}"
    except httpx.HTTPError as exc:
        return f"unreachable ({type(exc).__name__})"


async def _read_raw(request: Request) -> bytes | JSONResponse:
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            return _json_error(413, "too_large", "The request body is too large.")
    return raw


async def _read_json(request: Request) -> dict[str, Any] | JSONResponse:
    raw = await _read_raw(request)
    if isinstance(raw, JSONResponse):
        return raw
    try:
        body = json.loads(raw)
    except ValueError:
        return _json_error(400, "bad_json", "Nội dung gửi lên không phải JSON hợp lệ.")
    if not isinstance(body, dict):
        return _json_error(400, "bad_json", "Nội dung gửi lên phải là một đối tượng JSON.")
    return body
