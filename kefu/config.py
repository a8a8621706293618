"""Settings: one object, read from ``KEFU_*`` environment variables, passed down explicitly."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Used only when KEFU_ENV=development (the default for `make run`); production refuses it.
DEMO_CUSTOMER_JWT_SECRET = "kefu-demo-customer-jwt-secret-change-me-0123456789"
DEMO_SECRET_KEY = "kefu-demo-secret-key-change-me-0123456789abcdef"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KEFU_", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("./var")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy async URL; default is SQLite at DATA_DIR/kefu.db",
    )
    redis_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = None
    # Links agents and the assistant may send (these domains and their subdomains; the host of
    # public_url too). Anything else is blocked by the outbound anti-phishing check.
    link_domains: tuple[str, ...] = ("demoex.example",)

    secret_key: SecretStr = SecretStr(DEMO_SECRET_KEY)
    customer_jwt_secret: SecretStr = SecretStr(DEMO_CUSTOMER_JWT_SECRET)
    customer_jwt_max_lifetime_s: int = 3600
    customer_jwt_leeway_s: int = 30

    session_lifetime_s: int = 12 * 3600
    session_cookie_secure: bool = False
    require_agent_2fa: bool = False
    login_max_failures: int = 10

    max_request_bytes: int = 1_000_000
    max_attachment_bytes: int = 25 * 1024 * 1024
    allowed_attachment_types: tuple[str, ...] = (
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "video/mp4",
        "video/webm",
        "video/quicktime",
        "application/pdf",
        "text/plain",
    )
    reopen_window_s: int = 7 * 24 * 3600

    exchange_adapter: Literal["demo", "http"] = "demo"
    exchange_base_url: str | None = None
    exchange_api_key: SecretStr | None = None
    exchange_timeout_s: float = 5.0
    # Shared with the exchange: it signs step-up identity callbacks (docs/exchange-api.yaml).
    exchange_callback_secret: SecretStr | None = None

    jobs_poll_interval_s: float = 0.5
    jobs_max_attempts: int = 8
    jobs_backoff_base_s: float = 2.0
    jobs_enabled: bool = True
    bench_echo: bool = False  # mount /ws/echo, the ceiling for `kefu bench chat`
    # Customers' chat messages analysed (secret scan, abuse screen, language) in a worker process
    # on the other core (kefu/realtime/analysis.py). Unset: on, except with KEFU_ENV=test.
    chat_analysis_worker: bool | None = None

    webhook_timeout_s: float = 10.0

    assistant_enabled: bool = True  # new chat tickets start with the assistant (docs/assistant.md)
    assistant_min_confidence: float = Field(default=0.5, ge=0.0, le=1.0)
    llm_base_url: str | None = None  # an OpenAI-compatible API; unset = no LLM (the default)
    llm_model: str = "qwen2.5-7b-instruct"
    llm_api_key: SecretStr | None = None
    llm_timeout_s: float = Field(default=8.0, gt=0)
    log_level: str = "INFO"
    log_json: bool = True

    @model_validator(mode="after")
    def _refuse_demo_secrets_in_production(self) -> Settings:
        if self.env == "production":
            demo = {DEMO_SECRET_KEY, DEMO_CUSTOMER_JWT_SECRET}
            if self.secret_key.get_secret_value() in demo:
                raise ValueError("KEFU_SECRET_KEY must be set in production")
            if self.customer_jwt_secret.get_secret_value() in demo:
                raise ValueError("KEFU_CUSTOMER_JWT_SECRET must be set in production")
        return self

    @property
    def uses_analysis_worker(self) -> bool:
        if self.chat_analysis_worker is None:
            return self.env != "test"
        return self.chat_analysis_worker

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'kefu.db').resolve()}"

    @property
    def attachments_dir(self) -> Path:
        return self.data_dir / "attachments"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")
