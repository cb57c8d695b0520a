"""`govbot doctor`: check each component and say what is wrong and how to fix it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from core.settings import Settings


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True


def _http(url: str, params: dict[str, str] | None = None) -> tuple[int | None, str]:
    try:
        r = httpx.get(url, params=params, timeout=3)
        return r.status_code, r.text[:500]
    except httpx.HTTPError as exc:
        return None, type(exc).__name__


def check_database(s: Settings) -> Check:
    from alembic.script import ScriptDirectory

    from core.db import DatabaseError, redact_url
    from core.migrate import alembic_config, current_revision

    url = s.resolved_database_url
    try:
        current = current_revision(url)
    except (DatabaseError, Exception) as exc:  # noqa: BLE001 - any driver error is reported
        return Check("database", False, f"{redact_url(url)}: {str(exc).splitlines()[0][:200]}",
                     "Start the database or fix GOVBOT_DATABASE_URL, then `govbot db upgrade`.")
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    if current != head:
        return Check("database", False, f"schema at {current or 'nothing'}, latest is {head}",
                     "Run `govbot db upgrade`.")
    return Check("database", True, f"{redact_url(url)} (schema {head})")


def check_knowledge(s: Settings) -> Check:
    from knowledge.index import current_artefact

    path = current_artefact(s)
    if path is None:
        return Check("knowledge index", False, f"no index in {s.index_dir}",
                     "Run `govbot kb setup` (or `make setup`).")
    return Check("knowledge index", True, path.name)


def check_rasa_files() -> Check:
    from govbot.processes import RASA_BIN, StackError, latest_model

    if not RASA_BIN.exists():
        return Check("rasa environment", False, "no .venv-rasa", "Run `make setup` (needs Python 3.10).")
    try:
        model = latest_model()
    except StackError as exc:
        return Check("rasa model", False, str(exc), "Run `make train`.")
    return Check("rasa model", True, model.name)


def check_url(name: str, url: str, fix: str, required: bool = True,
              params: dict[str, str] | None = None) -> Check:
    status, _ = _http(url, params)
    if status == 200:
        return Check(name, True, url, required=required)
    return Check(name, False, f"{url}: {status or 'no answer'}", fix, required)


def check_telegram(s: Settings) -> Check:
    if not s.telegram_enabled:
        return Check("telegram", True, "not configured (set TELEGRAM_BOT_TOKEN)", required=False)
    from telegram import Bot
    from telegram.error import TelegramError

    async def me() -> str:
        async with Bot(s.telegram_bot_token, base_url=s.telegram_api_url) as bot:
            user = await bot.get_me()
            return f"@{user.username}, {'webhook' if s.public_url else 'polling'}"

    try:
        return Check("telegram", True, asyncio.run(me()))
    except TelegramError as exc:
        return Check("telegram", False, str(exc)[:200],
                     "Check TELEGRAM_BOT_TOKEN (from @BotFather) and the network.")


def check_zalo(s: Settings) -> Check:
    if not (s.zalo_app_id or s.zalo_oa_secret_key or s.zalo_access_token):
        return Check("zalo", True, "not configured (set ZALO_APP_ID, ZALO_OA_SECRET_KEY, tokens)",
                     required=False)
    missing = [n for n, v in (("ZALO_APP_ID", s.zalo_app_id), ("ZALO_APP_SECRET", s.zalo_app_secret),
                              ("ZALO_OA_SECRET_KEY", s.zalo_oa_secret_key)) if not v]
    if not (s.zalo_access_token or s.zalo_refresh_token):
        missing.append("ZALO_ACCESS_TOKEN or ZALO_REFRESH_TOKEN")
    if missing:
        return Check("zalo", False, "incomplete configuration", "Set " + ", ".join(missing) + ".")
    if not s.public_url:
        return Check("zalo", False, "no public URL for the webhook",
                     "Set GOVBOT_PUBLIC_URL (HTTPS) and register <url>/webhooks/zalo in the OA.")
    return Check("zalo", True, f"webhook {s.public_url.rstrip('/')}/webhooks/zalo")


def check_redis(s: Settings) -> Check:
    if not s.redis_url:
        return Check("redis", True, "not used (in-process rate limits)", required=False)
    import redis

    try:
        redis.from_url(s.redis_url, socket_timeout=2).ping()
    except redis.RedisError as exc:
        return Check("redis", False, str(exc)[:200], "Start Redis or fix GOVBOT_REDIS_URL.")
    return Check("redis", True, s.redis_url)


def check_teams(s: Settings) -> Check:
    """The directory exists and its cards can go out (Telegram on); cases are not stuck."""
    import datetime as dt

    from sqlalchemy import func, select

    from core.db import session_scope
    from core.models import Escalation, Team, TeamMember

    try:
        with session_scope(s.resolved_database_url) as db:
            teams = db.scalar(select(func.count()).select_from(Team)) or 0
            members = db.scalar(select(func.count()).select_from(TeamMember)) or 0
            cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
            stuck = db.scalar(select(func.count()).select_from(Escalation).where(
                Escalation.status == "open", Escalation.notified_at.is_(None),
                Escalation.created_at < cutoff)) or 0
    except Exception as exc:  # the database check says why
        return Check("team directory", False, str(exc).splitlines()[0][:200],
                     "Fix the database first.", required=False)
    if not teams:
        return Check("team directory", False, "no teams: cases wait in `govbot escalations list`",
                     "Import one: `govbot teams import teams/demo_directory.yml` (docs/teams.md).",
                     required=False)
    detail = f"{teams} teams, {members} members"
    if not s.telegram_enabled:
        return Check("team directory", False, f"{detail}, but Telegram is off: no cards can be posted",
                     "Set TELEGRAM_BOT_TOKEN and add the bot to each team's group (docs/handoff.md).",
                     required=False)
    if stuck:
        return Check("team directory", False, f"{detail}; {stuck} case(s) older than 5 min without a card",
                     "Is the gateway running? See `govbot gateway failures` and the gateway log.",
                     required=False)
    return Check("team directory", True, detail)


def run_checks(s: Settings, actions_url: str = "http://127.0.0.1:5055") -> list[Check]:
    checks: list[Callable[[], Check]] = [
        lambda: check_database(s),
        lambda: check_knowledge(s),
        check_rasa_files,
        lambda: check_url("action server", f"{actions_url}/health",
                          "Start everything with `make run` (or `govbot stack`)."),
        lambda: check_url("rasa server", f"{s.rasa_url.rstrip('/')}/status",
                          "Start everything with `make run`; the log is var/logs/rasa-5005.log. "
                          "401: Rasa runs with another API token than GOVBOT_RASA_TOKEN (or "
                          "<data_dir>/rasa_api_token).",
                          params={"token": s.rasa_api_token()}),
        lambda: check_url("gateway", f"http://127.0.0.1:{s.port}/healthz",
                          "Start everything with `make run`; `govbot serve` runs the gateway alone."),
        lambda: check_telegram(s),
        lambda: check_zalo(s),
        lambda: check_redis(s),
        lambda: check_teams(s),
    ]
    return [c() for c in checks]


def describe(checks: list[Check]) -> tuple[str, bool]:
    lines, healthy = [], True
    for c in checks:
        mark = "ok  " if c.ok else ("FAIL" if c.required else "warn")
        lines.append(f"[{mark}] {c.name}: {c.detail}")
        if not c.ok:
            lines.append(f"       fix: {c.fix}")
            healthy = healthy and not c.required
    return "\n".join(lines), healthy

