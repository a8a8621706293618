"""``kefu telegram``: point the bot's webhook at this server."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, NoReturn

import httpx
import typer

from kefu.channels.telegram_api import ALLOWED_UPDATES, WEBHOOK_PATH, BotApi, TelegramError
from kefu.config import Settings

telegram_app = typer.Typer(help="The Telegram bot.", no_args_is_help=True)


def _fail(message: str) -> NoReturn:
    typer.echo(f"kefu: {message}", err=True)
    raise typer.Exit(2)


@telegram_app.command("set-webhook")
def set_webhook(
    url: Annotated[str | None, typer.Option(
        help="Where Telegram posts updates; default KEFU_PUBLIC_URL + " + WEBHOOK_PATH)] = None,
) -> None:
    """Register the webhook with Telegram (setWebhook), with the secret token Telegram then
    sends on every update and the update kinds Kefu handles."""
    from kefu.cli import load_settings

    settings = load_settings()
    if settings.telegram_bot_token is None or settings.telegram_webhook_secret is None:
        _fail("Telegram is not configured: set KEFU_TELEGRAM_BOT_TOKEN, "
              "KEFU_TELEGRAM_WEBHOOK_SECRET and KEFU_TELEGRAM_BOT_USERNAME")
    if url is None:
        if not settings.public_url:
            _fail("give --url or set KEFU_PUBLIC_URL")
        url = f"{str(settings.public_url).rstrip('/')}{WEBHOOK_PATH}"
    try:
        asyncio.run(_set_webhook(settings, url))
    except TelegramError as exc:
        _fail(f"setWebhook failed: {exc.error_code} {exc.description}")
    typer.echo(f"Telegram now sends updates to {url}")


async def _set_webhook(settings: Settings, url: str) -> Any:
    assert settings.telegram_webhook_secret is not None
    async with httpx.AsyncClient(follow_redirects=False) as http:
        return await BotApi.of(settings, http).call("setWebhook", {
            "url": url,
            "secret_token": settings.telegram_webhook_secret.get_secret_value(),
            "allowed_updates": list(ALLOWED_UPDATES),
        })
