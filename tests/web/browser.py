"""What a browser does on Kefu's pages, as plain functions over an httpx client: sign in through
the exchange's link, sign in as an agent, read the CSRF token from a form, make a small PNG."""

from __future__ import annotations

import html
import re
import struct
import uuid
import zlib
from dataclasses import dataclass

import httpx
import jwt
from fastapi import FastAPI

from kefu.accounts.models import Agent, Team
from kefu.config import Settings
from kefu.core import clock
from tests.factories import PASSWORD, bearer, customer_token, make_agent, make_team

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]*)"')
TICKET_LINK = re.compile(r'href="/(?:portal|agent)/tickets/(KF-[0-9A-Z]{6})"')


def sso_token(
    settings: Settings, external_id: str, *, jti: str | None = "auto", lifetime_s: int = 300,
    **claims: object,
) -> str:
    """A sign-in link token as the exchange's backend would issue it."""
    now = int(clock.now().timestamp())
    body: dict[str, object] = {"sub": external_id, "iat": now, "exp": now + lifetime_s, **claims}
    if jti is not None:
        body["jti"] = uuid.uuid4().hex if jti == "auto" else jti
    return jwt.encode(body, settings.customer_jwt_secret.get_secret_value(), algorithm="HS256")


async def portal_sign_in(client: httpx.AsyncClient, settings: Settings, external_id: str,
                         *, name: str | None = None, lang: str | None = None) -> None:
    response = await client.get("/portal/sso", params={"token": sso_token(
        settings, external_id, name=name, lang=lang)})
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/portal"


@dataclass
class Desk:
    """An English and a Chinese team and one agent in the English team: enough for the pages,
    and cheaper than ``make_world`` (every agent costs an argon2 hash)."""

    en_team: Team
    zh_team: Team
    agent: Agent


async def make_desk(app: FastAPI) -> Desk:
    en_team = await make_team(app, "English", "en")
    zh_team = await make_team(app, "中文", "zh")
    return Desk(en_team, zh_team, await make_agent(app, "agent@kefu.test", teams=[en_team]))


def customer_headers(settings: Settings, external_id: str, **claims: object) -> dict[str, str]:
    """API headers of a customer signed in by the exchange (for setting data up)."""
    return bearer(customer_token(settings, external_id, **claims))


def csrf_of(page: str) -> str:
    match = CSRF_FIELD.search(page)
    assert match is not None, "no csrf_token field on the page"
    return html.unescape(match.group(1))


def ticket_numbers(page: str) -> set[str]:
    return set(TICKET_LINK.findall(page))


async def agent_sign_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD
                        ) -> httpx.Response:
    """Fill in the sign-in form; returns the answer to the POST (not followed)."""
    form = await client.get("/agent/login")
    assert form.status_code == 200
    return await client.post("/agent/login", data={
        "email": email, "password": password, "csrf_token": csrf_of(form.text), "next": ""})


def png_bytes(width: int = 4, height: int = 3) -> bytes:
    """A real (tiny, valid) PNG image, built by hand."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    rows = b"".join(b"\x00" + bytes([200, 30, 30]) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
