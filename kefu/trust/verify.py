"""Kefu Verify: the registry of the exchange's official channels and the check behind the public
``/verify`` page and ``GET /api/v1/verify``.

What counts as official:

- ``domain`` and ``url``: a registered domain or any of its subdomains (the exchange owns its
  DNS). ``email``: a registered address, or any address at a registered domain.
- ``phone``, ``telegram``, ``x``: the registered numbers and handles (handles ignore case and
  ``@``; numbers may be typed in national form).
- ``agent_id``: an agent's public id, the last 8 hex digits of their Kefu id (``3f9a1c2e``),
  while the agent is active; or an id an admin registered (e.g. an account manager outside
  Kefu). Agents see their own public id in the console and may give it to customers.

Anything that merely resembles an official value (homoglyphs, misspellings, the brand wrapped in
other words) is *suspicious*; matching is ``kefu.guard.lookalike.assess``."""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.actor import Actor
from kefu.accounts.models import Agent
from kefu.accounts.service import audit
from kefu.core import clock
from kefu.core.errors import InvalidInput, NotFound
from kefu.guard import lookalike
from kefu.trust.models import CHANNEL_KINDS, OfficialChannel

ChannelKind = Literal["email", "phone", "telegram", "x", "domain", "agent_id"]
VerifyKind = Literal["email", "phone", "telegram", "x", "url", "domain", "agent_id"]
Verdict = Literal["official", "suspicious", "unknown"]
VERIFY_KINDS: Final = ("email", "phone", "telegram", "x", "url", "domain", "agent_id")
PUBLIC_ID_LENGTH: Final = 8

_HANDLE_RULES: Final = {"telegram": re.compile(r"^[a-z0-9_]{5,32}$"),
                        "x": re.compile(r"^[a-z0-9_]{1,15}$")}
_AGENT_ID: Final = re.compile(r"^[a-z0-9][a-z0-9_-]{3,31}$")
_EMAIL_LOCAL: Final = re.compile(r"^[^\s@]{1,64}$")
# Registry kinds whose entries a check of each kind compares against.
_REGISTRY_FOR: Final[dict[str, tuple[str, ...]]] = {
    "domain": ("domain",), "url": ("domain",), "email": ("email", "domain"),
    "phone": ("phone",), "telegram": ("telegram",), "x": ("x",), "agent_id": ("agent_id",),
}


def agent_public_id(agent_id: uuid.UUID) -> str:
    """What customers can check on /verify: the last 8 hex digits of the agent's id, which are
    random (the first ones of a UUIDv7 are the time it was made: agents added together would
    share them, and anyone could guess them)."""
    return agent_id.hex[-PUBLIC_ID_LENGTH:]


def _agent_id(value: str) -> str:
    text = value.strip().lstrip("#").casefold()
    if not _AGENT_ID.match(text):
        raise ValueError("an agent id is 4 to 32 letters, digits, '-' or '_'")
    return text


def _domain(value: str) -> str:
    host = lookalike.split_url(value).host
    if "." not in host or lookalike.is_public_suffix(host):
        raise ValueError(f"not a domain one owner can hold: {host!r}")
    return host


def _email(value: str) -> str:
    local, at, host = value.strip().rpartition("@")
    if not at or not _EMAIL_LOCAL.match(local):
        raise ValueError(f"not an email address: {value!r}")
    return f"{local.casefold()}@{_domain(host)}"


def _handle(kind: str, value: str) -> str:
    handle = lookalike.normalize_handle(value)
    if not _HANDLE_RULES[kind].match(handle):
        raise ValueError(f"not a valid {'Telegram' if kind == 'telegram' else 'X'} handle")
    return handle


def normalize_channel(kind: str, value: str) -> str:
    """The registry's form of an official value; ValueError (one line) when it cannot be one."""
    if kind not in CHANNEL_KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(CHANNEL_KINDS)}")
    if not value.strip():
        raise ValueError("the value is empty")
    if kind == "domain":
        return _domain(value)
    if kind == "email":
        return _email(value)
    if kind == "phone":
        return lookalike.normalize_phone(value)
    if kind in ("telegram", "x"):
        return _handle(kind, value)
    return _agent_id(value)


def display(kind: str, value: str) -> str:
    """How a normalized value is shown: handles with their ``@``."""
    return f"@{value}" if kind in ("telegram", "x") else value


# ---------------------------------------------------------------- the registry


async def list_channels(
    session: AsyncSession, *, kind: str | None = None, active_only: bool = False
) -> list[OfficialChannel]:
    stmt = select(OfficialChannel).order_by(OfficialChannel.kind, OfficialChannel.value)
    if kind is not None:
        stmt = stmt.where(OfficialChannel.kind == kind)
    if active_only:
        stmt = stmt.where(OfficialChannel.active.is_(True))
    return list(await session.scalars(stmt))


async def upsert_channel(
    session: AsyncSession, actor: Actor | None, *, kind: str, value: str, label: str = "",
    active: bool = True,
) -> OfficialChannel:
    """Add an official channel, or change the label and state of the one with this value.
    ``actor`` None: the system (``kefu demo``)."""
    try:
        normalized = normalize_channel(kind, value)
    except ValueError as exc:
        raise InvalidInput(str(exc), code="invalid_channel") from exc
    channel = await session.scalar(select(OfficialChannel).where(
        OfficialChannel.kind == kind, OfficialChannel.value == normalized))
    action = "trust.channel_updated"
    if channel is None:
        action = "trust.channel_added"
        channel = OfficialChannel(kind=kind, value=normalized, added_by_agent_id=actor.agent.id
                                  if actor is not None and actor.agent else None)
        session.add(channel)
    channel.label, channel.active, channel.updated_at = label.strip(), active, clock.now()
    await session.flush()
    await audit(session, actor, action, target_type="official_channel",
                target_id=f"{kind}:{normalized}"[:64],
                details={"kind": kind, "value": normalized, "label": channel.label,
                         "active": active})
    return channel


async def add_missing_channels(
    session: AsyncSession, actor: Actor | None, entries: Iterable[tuple[str, str, str]]
) -> int:
    """Add each ``(kind, value, label)`` not registered yet, leaving existing ones (and what
    admins changed in them) alone; how many were added."""
    added = 0
    for kind, value, label in entries:
        exists = await session.scalar(select(OfficialChannel.id).where(
            OfficialChannel.kind == kind,
            OfficialChannel.value == normalize_channel(kind, value)))
        if exists is None:
            await upsert_channel(session, actor, kind=kind, value=value, label=label)
            added += 1
    return added


async def remove_channel(session: AsyncSession, actor: Actor, *, kind: str, value: str) -> None:
    try:
        normalized = normalize_channel(kind, value)
    except ValueError as exc:
        raise InvalidInput(str(exc), code="invalid_channel") from exc
    channel = await session.scalar(select(OfficialChannel).where(
        OfficialChannel.kind == kind, OfficialChannel.value == normalized))
    if channel is None:
        raise NotFound("official channel")
    await session.delete(channel)
    await audit(session, actor, "trust.channel_removed", target_type="official_channel",
                target_id=f"{kind}:{normalized}"[:64],
                details={"kind": kind, "value": normalized, "label": channel.label})
    await session.flush()


async def official_domains(session: AsyncSession) -> list[str]:
    """The active official domains: the allow-list for links in replies
    (``guard.outbound.check_outbound(text, allowed_domains=...)``)."""
    return [c.value for c in await list_channels(session, kind="domain", active_only=True)]


# ---------------------------------------------------------------- the check


@dataclass(frozen=True)
class VerifyResult:
    """The answer for one value: ``matched`` is the official value it is or resembles (shown
    form), ``label`` that channel's label, ``why`` the reason (a code and its values)."""

    kind: str
    value: str
    verdict: Verdict
    matched: str | None
    label: str
    why: lookalike.Assessment

    @property
    def reason(self) -> str:
        """The reason as one English sentence (the API's ``reason``)."""
        return self.why.reason


async def _agent_ids(session: AsyncSession) -> dict[str, str]:
    rows = await session.execute(select(Agent.id, Agent.display_name).where(
        Agent.is_active.is_(True)))
    return {agent_public_id(agent_id): name for agent_id, name in rows}


def _assess_agent_id(value: str, official: dict[str, str]) -> lookalike.Assessment:
    wanted = _agent_id(value)
    if wanted in official:
        return lookalike.Assessment("official", wanted, "official_agent")
    for candidate in official:
        if lookalike.damerau_levenshtein(wanted, candidate, 1) <= 1:
            return lookalike.Assessment("suspicious", candidate, "agent_one_off")
    return lookalike.Assessment("unknown", None, "unknown")


async def verify_value(session: AsyncSession, *, kind: str, value: str) -> VerifyResult:
    """Whether ``value`` is an official channel of ``kind``; ``InvalidInput`` when it cannot
    be a value of that kind."""
    if kind not in VERIFY_KINDS:
        raise InvalidInput(f"unknown kind {kind!r}; expected one of {', '.join(VERIFY_KINDS)}",
                           code="invalid_kind")
    channels = [c for k in _REGISTRY_FOR[kind]
                for c in await list_channels(session, kind=k, active_only=True)]
    labels = {c.value: (c.kind, c.label) for c in channels}
    try:
        if kind == "agent_id":
            official = {**{v: label for v, (_, label) in labels.items()},
                        **await _agent_ids(session)}
            why = _assess_agent_id(value, official)
            return VerifyResult(kind, value.strip(), why.verdict, why.matched,
                                official.get(why.matched, "") if why.matched else "", why)
        assessment = lookalike.assess(value, kind, list(labels))  # type: ignore[arg-type]
    except ValueError as exc:
        raise InvalidInput(str(exc), code="invalid_value") from exc
    matched_kind, label = labels.get(assessment.matched or "", (kind, ""))
    if assessment.matched is None:
        return VerifyResult(kind, value.strip(), assessment.verdict, None, label, assessment)
    shown = display(matched_kind, assessment.matched)
    why = dataclasses.replace(assessment, params=tuple(
        (name, shown if text == assessment.matched else text)
        for name, text in assessment.params))  # the entry as the page shows it
    return VerifyResult(kind, value.strip(), assessment.verdict, shown, label, why)


_RANK: Final = {"official": 0, "suspicious": 1, "unknown": 2}
_HEX_ID: Final = re.compile(r"^#?[0-9a-fA-F]{8}$")
_PHONE_LIKE: Final = re.compile(r"^[+\d][\d\s\-.()/]{4,}$")


def guess_kinds(value: str) -> tuple[str, ...]:
    """The kinds a value typed without saying what it is may be, for the /verify page's
    "anything" choice: an address, a link, a number, an agent id, or a handle (Telegram or X)."""
    text = value.strip()
    lowered = text.casefold()
    if lowered.startswith(("t.me/", "https://t.me/", "telegram.me/")):
        return ("telegram",)
    if lowered.startswith(("x.com/", "https://x.com/", "twitter.com/", "https://twitter.com/")):
        return ("x",)
    before_at, _, after_at = text.rpartition("@")
    if lookalike.has_scheme(text) or any(c in before_at for c in "/\\%") or (
            before_at and any(c in after_at for c in "/\\?#")):
        # a link, whatever its "@" says: https://evil.com/@demoex.example opens evil.com, and
        # https://demoex.example@evil.com is the userinfo disguise the link check names
        return ("url",)
    if "@" in text[1:] and "." in text.rpartition("@")[2]:
        return ("email",)
    if _HEX_ID.match(text):
        return ("agent_id",)
    if _PHONE_LIKE.match(text) and sum(c.isdigit() for c in text) >= 5:
        return ("phone",)
    if "." in text.lstrip("@") or "/" in text:
        return ("url",)
    return ("telegram", "x")


async def verify_any(session: AsyncSession, *, value: str) -> VerifyResult:
    """``verify_value`` for each kind the value may be; the most official answer wins."""
    results = [await verify_value(session, kind=kind, value=value) for kind in guess_kinds(value)]
    return min(results, key=lambda r: _RANK[r.verdict])
