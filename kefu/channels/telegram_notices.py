"""What the Telegram bot says on its own (greetings, the move to a private chat, warnings) and
the two jobs that talk to Telegram for the webhook: ``telegram.notice`` and ``telegram.delete``.

The webhook answers Telegram at once and leaves these calls to jobs, retried after the commit
(a rolled-back update says nothing). Payloads hold ids and a notice kind, never what the person
wrote and never the bot token; the text is built when the job runs."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Final, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.channels.models import TelegramLink
from kefu.channels.telegram_api import BotApi, TelegramError
from kefu.config import Settings
from kefu.core.logging import get_logger
from kefu.jobs.runner import JobContext, JobRegistry, RetryLater, enqueue
from kefu.trust.antiphishing import anti_phishing_code, stamp

log = get_logger("kefu.channels.telegram")

NOTICE_JOB: Final = "telegram.notice"
DELETE_JOB: Final = "telegram.delete"
NoticeKind = Literal["greeting", "bound", "link_invalid", "private_redirect",
                     "private_redirect_account", "group_secret", "rate_limited",
                     "cooling_down", "file_refused"]

_VERIFY = {
    "en": ("Before you share anything, check that this bot is official: Kefu Verify ({verify}) "
           "lists our real accounts. Support never asks for your password, 2FA or SMS codes, "
           "seed phrase or private keys. If you set an anti-phishing code, every genuine "
           "message from us starts with it."),
    "zh": ("在提供任何信息之前，请先确认本机器人是官方账号：Kefu 官方验证（{verify}）"
           "列出了我们的真实账号。客服绝不会索要您的密码、2FA 或短信验证码、助记词或私钥。"
           "如果您设置了防钓鱼码，我们的每条真实消息都以它开头。"),
}
_TEXTS: Final[dict[str, dict[str, str]]] = {
    "greeting": {
        "en": "Hello! This is customer support. Write your question here and we answer in this "
              "chat.\n\n{verify_line}",
        "zh": "您好！这里是客服。请在此直接写下您的问题，我们会在这个对话中回复您。"
              "\n\n{verify_line}",
    },
    "bound": {
        "en": "You are now in a private chat with support. Tell us here what happened, with the "
              "transaction id or order number if you have one. Never send a password, a code or "
              "a seed phrase: we never need them.\n\n{verify_line}",
        "zh": "您现在与客服处于私聊中。请在这里说明情况，如有交易哈希或订单号请一并提供。"
              "请勿发送密码、验证码或助记词：我们永远不需要它们。\n\n{verify_line}",
    },
    "link_invalid": {
        "en": "This link has expired, was already used or was made for someone else. Just write "
              "your question here.\n\n{verify_line}",
        "zh": "此链接已过期、已被使用或属于其他用户。请直接在这里写下您的问题。\n\n{verify_line}",
    },
    "private_redirect_account": {
        "en": "For your security we do not discuss account details in public. Support continues "
              "in a private chat: {link}\nThe link works once, and only from your own account.",
        "zh": "为了您的安全，我们不在公开场合讨论账户信息。请在私聊中继续：{link}\n"
              "此链接只能使用一次，且仅限您本人的账号。",
    },
    "private_redirect": {
        "en": "Support happens in a private chat: {link}",
        "zh": "客服在私聊中为您服务：{link}",
    },
    "group_secret": {
        "en": "A message here looked like it held a seed phrase, a private key, a password or a "
              "code, and was deleted. Never share these with anyone, support included. If it "
              "was real, move your funds to a new wallet now.",
        "zh": "这里的一条消息似乎包含助记词、私钥、密码或验证码，已被删除。请勿向任何人（包括客服）"
              "透露这些信息。如果它是真实的，请立即把资金转移到新钱包。",
    },
    "rate_limited": {
        "en": "You are sending messages too fast; the last ones were not received. Please wait "
              "a minute and send them again.",
        "zh": "您发送消息过快，最近的消息未被接收。请稍等一分钟后重新发送。",
    },
    "cooling_down": {
        "en": "Your messages are paused for a while after abusive or repeated messages; please "
              "try again later.",
        "zh": "由于辱骂或重复的消息，您的消息已被暂停一段时间；请稍后再试。",
    },
    "file_refused": {
        "en": "Your file was not accepted: {reason}.",
        "zh": "您的文件未被接收：{reason}。",
    },
}


# Why a file was not accepted (``file_refused``), in the notice's language.
FILE_REFUSED: Final = {
    "too_large": {"en": "it is larger than {mb} MB", "zh": "文件超过 {mb} MB"},
    "not_fetchable": {"en": "it is too large for the bot to fetch",
                      "zh": "文件太大，机器人无法获取"},
    "type": {"en": "files of type '{kind}' are not accepted",
             "zh": "不接受此类型的文件（{kind}）"},
}


def lang_of(language_code: str | None) -> str:
    """The notices' language for a Telegram ``language_code``: Chinese or English."""
    return "zh" if (language_code or "").lower().startswith("zh") else "en"


def deep_link(settings: Settings, token: str) -> str:
    return f"https://t.me/{settings.telegram_bot_username}?start={token}"


def notice_text(settings: Settings, kind: str, lang: str, *, link: str = "",
                reason: str = "", reason_values: Mapping[str, str] | None = None) -> str:
    """``reason``: a ``FILE_REFUSED`` key, worded in ``lang`` with ``reason_values`` (a notice
    queued before reasons had keys holds its English words, used as they are)."""
    verify = f"{settings.public_url.rstrip('/')}/verify" if settings.public_url else "/verify"
    if reason in FILE_REFUSED:
        reason = FILE_REFUSED[reason][lang].format(**{"mb": "", "kind": "",
                                                      **(reason_values or {})})
    return _TEXTS[kind][lang].format(verify_line=_VERIFY[lang].format(verify=verify), link=link,
                                     reason=reason)


async def enqueue_notice(
    session: AsyncSession, kind: NoticeKind, *, chat_id: int, lang: str,
    reply_to: int | None = None, link_id: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None, reason: str | None = None,
    reason_values: Mapping[str, str] | None = None, dedupe: str,
) -> None:
    """``dedupe`` names the notice (the update it answers), so it is queued once."""
    await enqueue(session, NOTICE_JOB, {
        "kind": kind, "chat_id": chat_id, "lang": lang, "reply_to": reply_to,
        "link_id": str(link_id) if link_id else None,
        "customer_id": str(customer_id) if customer_id else None, "reason": reason,
        "reason_values": dict(reason_values or {}),
    }, dedupe_key=f"{NOTICE_JOB}:{dedupe}")


async def enqueue_delete(session: AsyncSession, *, chat_id: int, message_id: int) -> None:
    """Delete a message that held a secret from the chat (private chats; groups where the bot
    is an admin)."""
    await enqueue(session, DELETE_JOB, {"chat_id": chat_id, "message_id": message_id},
                  dedupe_key=f"{DELETE_JOB}:{chat_id}:{message_id}")


async def call_or_retry(api: BotApi, method: str, params: dict[str, Any]) -> Any:
    """A call whose failures the runner understands: a 429 is retried after Telegram's
    ``retry_after``, no answer or a 5xx with the usual backoff; other refusals (a message
    already deleted, a chat that is gone) are final and logged, and None is returned."""
    try:
        return await api.call(method, params)
    except TelegramError as exc:
        if exc.error_code == 429:
            raise RetryLater(str(exc), delay_s=exc.retry_after or 1.0) from None
        if exc.transient:
            raise
        log.warning("telegram_call_refused", method=method, error_code=exc.error_code,
                    description=exc.description)
        return None


def register_jobs(registry: JobRegistry) -> None:
    """Add ``telegram.notice`` and ``telegram.delete`` to the app's registry."""

    async def notice(session: AsyncSession, payload: dict[str, Any], ctx: JobContext) -> None:
        settings = ctx.settings
        if not settings.telegram_enabled:
            log.warning("telegram_notice_dropped", reason="telegram is not configured")
            return
        link = ""
        if payload.get("link_id"):
            row = await session.get(TelegramLink, uuid.UUID(payload["link_id"]))
            if row is None:
                return
            link = deep_link(settings, row.token)
        lang = str(payload.get("lang") or "en")
        text = notice_text(settings, str(payload["kind"]), lang, link=link,
                           reason=str(payload.get("reason") or ""),
                           reason_values=payload.get("reason_values"))
        if payload.get("customer_id"):  # a private chat: the customer's code, as on all we send
            code = await anti_phishing_code(session, uuid.UUID(payload["customer_id"]))
            text = stamp(text, code, lang)
        params: dict[str, Any] = {"chat_id": payload["chat_id"], "text": text}
        if payload.get("reply_to"):
            params["reply_parameters"] = {"message_id": payload["reply_to"],
                                          "allow_sending_without_reply": True}
        await call_or_retry(BotApi.of(settings, ctx.http), "sendMessage", params)

    async def delete(session: AsyncSession, payload: dict[str, Any], ctx: JobContext) -> None:
        if not ctx.settings.telegram_enabled:
            return
        await call_or_retry(BotApi.of(ctx.settings, ctx.http), "deleteMessage",
                            {"chat_id": payload["chat_id"], "message_id": payload["message_id"]})

    registry.register(NOTICE_JOB)(notice)
    registry.register(DELETE_JOB)(delete)
