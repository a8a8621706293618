"""Settings: one object, read from ``KEFU_*`` environment variables, passed down explicitly."""

from __future__ import annotations

import re
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
    # Uploads never sent with a message are deleted this many hours later (0: kept).
    unsent_upload_keep_hours: float = Field(default=24.0, ge=0)
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
    # Image attachments are read by OCR for the secret guard (kefu/tickets/ocr.py), each within
    # this many seconds; boxes not read by then are not checked (text_status "partial").
    ocr: bool = True
    ocr_timeout_s: float = Field(default=20.0, gt=0, le=300)
    reopen_window_s: int = 7 * 24 * 3600

    exchange_adapter: Literal["demo", "http"] = "demo"
    exchange_base_url: str | None = None
    exchange_api_key: SecretStr | None = None
    exchange_timeout_s: float = 5.0
    # The http adapter's circuit breaker (kefu/exchange/breaker.py): this many outages in a row
    # make it fail fast, without a request, for the cool-off; then one trial call.
    exchange_breaker_failures: int = Field(default=3, ge=1)
    exchange_breaker_cool_off_s: float = Field(default=30.0, gt=0)
    # Shared with the exchange: it signs step-up identity callbacks (docs/exchange-api.yaml).
    exchange_callback_secret: SecretStr | None = None

    jobs_poll_interval_s: float = 0.5
    jobs_max_attempts: int = 8
    jobs_backoff_base_s: float = 2.0
    # Finished jobs are deleted this long after they finished (0: kept forever); dead ones stay.
    jobs_keep_done_days: float = Field(default=7.0, ge=0)
    jobs_enabled: bool = True
    bench_echo: bool = False  # mount /ws/echo, the ceiling for `kefu bench chat`
    # Customers' chat messages analysed (secret scan, abuse screen, language) in a worker process
    # on the other core (kefu/realtime/analysis.py). Unset: on, except with KEFU_ENV=test.
    chat_analysis_worker: bool | None = None

    webhook_timeout_s: float = 10.0
    # Deliver webhooks to loopback/private/link-local addresses too (kefu/webhooks/destination.py).
    webhook_allow_private: bool = False

    # Email (docs/channels.md). Inbound: the built-in SMTP listener ("host:port"; unset = off)
    # accepts mail for ``email_domains`` (addresses or whole domains; unset = ``support_email``
    # alone); ``kefu email ingest`` reads one message on stdin for an MTA's pipe transport.
    smtp_listen: str | None = None
    email_domains: tuple[str, ...] = ()
    support_email: str | None = None  # our From address, and where customers write
    email_max_bytes: int = Field(default=25 * 1024 * 1024, gt=0)
    # A sender's mails per window before further ones are deferred (SMTP 451, exit 75 in the
    # pipe), and the new tickets they may open an hour; past that a mail joins their newest one.
    email_rate_limit: int = Field(default=30, ge=1)
    email_rate_window_s: int = Field(default=600, ge=1)
    email_new_tickets_per_hour: int = Field(default=10, ge=1)
    email_auto_reply: bool = True
    # Outbound: the relay that sends what support writes (unset = email is not sent).
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    # STARTTLS: None = when the relay offers it, True = required, False = never.
    smtp_starttls: bool | None = None
    smtp_tls: bool = False  # TLS from the first byte (port 465)
    smtp_timeout_s: float = Field(default=30.0, gt=0)

    # Telegram (docs/channels.md): off while no bot token is set. The token is a secret: it is
    # never logged, never put in a job payload or an error. Telegram sends updates to
    # /channels/telegram/webhook with ``telegram_webhook_secret`` in a header.
    telegram_bot_token: SecretStr | None = None
    telegram_api_base: str = "https://api.telegram.org"
    telegram_webhook_secret: SecretStr | None = None
    telegram_bot_username: str | None = None  # without "@": mentions in groups, deep links
    telegram_timeout_s: float = Field(default=15.0, gt=0)

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

    @model_validator(mode="after")
    def _check_email(self) -> Settings:
        if self.smtp_listen is not None:
            smtp_listen_address(self.smtp_listen)  # raises on a malformed value
            if not self.support_email:
                raise ValueError("KEFU_SUPPORT_EMAIL must be set when KEFU_SMTP_LISTEN is")
        if self.support_email is not None and "@" not in self.support_email:
            raise ValueError("KEFU_SUPPORT_EMAIL must be an email address")
        return self

    @model_validator(mode="after")
    def _check_telegram(self) -> Settings:
        if self.telegram_bot_username is not None:
            self.telegram_bot_username = self.telegram_bot_username.lstrip("@") or None
        if self.telegram_bot_token is None:
            return self
        secret = self.telegram_webhook_secret
        if secret is None or not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", secret.get_secret_value()):
            raise ValueError("KEFU_TELEGRAM_WEBHOOK_SECRET must be set (16 to 256 letters, digits,"
                             " _ or -) when KEFU_TELEGRAM_BOT_TOKEN is")
        if not self.telegram_bot_username:
            raise ValueError("KEFU_TELEGRAM_BOT_USERNAME must be set when "
                             "KEFU_TELEGRAM_BOT_TOKEN is")
        return self

    @property
    def telegram_enabled(self) -> bool:
        return self.telegram_bot_token is not None

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


def smtp_listen_address(value: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:2525`` for IPv6) as a pair; ValueError when malformed."""
    host, sep, port = value.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"KEFU_SMTP_LISTEN must be host:port, not {value!r}")
    return host, int(port)
