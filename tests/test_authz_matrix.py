"""Who may call what: every ``/api/v1`` operation × seven roles, checked against one table.

The product's rules, as the table below states them:

- Anonymous callers get 401 wherever a sign-in is needed.
- Customers see only their own tickets; someone else's ticket is a 404, never a 403, so a ticket
  number reveals nothing. Agent-only resources are a 404 for customers too (``require_agent``).
- Agents see their teams' tickets (404 for other teams'); supervisors and admins see all.
- Admin-only operations (agents, teams, webhooks, policy, audit) are 403 for agents and
  supervisors.
- Internal notes (and files on them) never reach a customer.
- A request that is refused changes nothing in the database.
- Agents signed in by cookie must send ``X-CSRF-Token`` on unsafe requests.

Agents authenticate by API token in the matrix; the CSRF cases at the end use a cookie session.
Each role gets one test (one database, one world); every unsafe request runs on a fresh
``Scene`` (a new ticket with its messages, attachment, webhook, team and token), so requests
do not see each other's changes. A new ``/api/v1`` operation fails
``test_table_covers_every_operation`` until it is added to ``EXPECT``."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pyotp
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

import kefu.tables  # noqa: F401  (every table in Base.metadata, for the snapshots)
from kefu.accounts import security
from kefu.accounts.actor import Actor
from kefu.accounts.deps import CSRF_HEADER, PORTAL_COOKIE
from kefu.accounts.models import Agent, Customer
from kefu.accounts.service import create_api_token, create_team, portal_cookie
from kefu.app import create_app
from kefu.config import Settings
from kefu.core import clock
from kefu.db import Base
from kefu.kb import schemas as kb_schemas
from kefu.kb import service as kb
from kefu.kb import status as kb_status
from kefu.kb.indexing import ArticleIndex
from kefu.kb.models import Deflection
from kefu.tickets import replies
from kefu.tickets import schemas as ticket_schemas
from kefu.tickets.attachments import AttachmentStore
from kefu.tickets.creation import create_ticket
from kefu.tickets.models import Macro, Notification
from kefu.tickets.notes import add_note
from kefu.tickets.uploads import upload_attachment
from kefu.webhooks.schemas import WebhookEndpointCreate
from kefu.webhooks.service import create_endpoint
from tests.factories import PASSWORD, World, login, make_agent, make_world
from tests.kb.support import use_fast_search

API = "/api/v1"
ROLES = ("anonymous", "customer_a", "customer_b", "other_agent", "agent", "supervisor", "admin")
AGENT_ROLES = ("other_agent", "agent", "supervisor", "admin")  # also World's attribute names

# A 1×1 PNG: sniffed as image/png, an allowed attachment type.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c63f8cfc0f01f0005000201e221bc330000000049454e44ae426082"
)
NOTE_TEXT = "internal: suspected multi-account abuse, do not tell the customer"
# As if every agent had just started 2FA setup with this secret (for ``/auth/2fa/enable``).
TOTP_SECRET = pyotp.random_base32()


def row(*statuses: int) -> dict[str, int]:
    return dict(zip(ROLES, statuses, strict=True))


# fmt: off
EXPECT: dict[tuple[str, str], dict[str, int]] = {
    # Paths are relative to /api/v1.                       anon custA custB other agent  sup admin
    # ---- sign-in: open to all; the credential is in the body or the cookie
    ("POST", "/auth/login"):                           row(200,  200,  200,  200,  200,  200,  200),
    ("POST", "/auth/2fa/verify"):                      row(401,  401,  401,  401,  401,  401,  401),
    ("POST", "/auth/logout"):                          row(204,  204,  204,  204,  204,  204,  204),
    ("GET", "/auth/me"):                               row(200,  200,  200,  200,  200,  200,  200),
    ("POST", "/visitors"):                             row(201,  201,  201,  201,  201,  201,  201),
    # ---- an agent's own credentials; a token of `agent` is revoked by its owner or an admin
    ("POST", "/auth/2fa/setup"):                       row(401,  404,  404,  200,  200,  200,  200),
    ("POST", "/auth/2fa/enable"):                      row(401,  404,  404,  204,  204,  204,  204),
    ("GET", "/auth/tokens"):                           row(401,  404,  404,  200,  200,  200,  200),
    ("POST", "/auth/tokens"):                          row(401,  404,  404,  201,  201,  201,  201),
    ("DELETE", "/auth/tokens/{token_id}"):             row(401,  404,  404,  404,  204,  404,  204),
    # ---- agents and teams: any agent reads, only admins write
    ("GET", "/agents"):                                row(401,  404,  404,  200,  200,  200,  200),
    ("POST", "/agents"):                               row(401,  404,  404,  403,  403,  403,  201),
    ("GET", "/agents/{agent_id}"):                     row(401,  404,  404,  200,  200,  200,  200),
    ("PATCH", "/agents/{agent_id}"):                   row(401,  404,  404,  403,  403,  403,  200),
    ("POST", "/agents/{agent_id}/2fa/reset"):          row(401,  404,  404,  403,  403,  403,  204),
    ("GET", "/teams"):                                 row(401,  404,  404,  200,  200,  200,  200),
    ("POST", "/teams"):                                row(401,  404,  404,  403,  403,  403,  201),
    ("PATCH", "/teams/{team_id}"):                     row(401,  404,  404,  403,  403,  403,  200),
    # ---- customers: themselves; agents those with a ticket they can read (customer A's is
    # in the English team, so not `other_agent`). /customers/me answers 401 to an agent.
    ("GET", "/customers/me"):                          row(401,  200,  200,  404,  404,  404,  404),
    ("GET", "/customers"):                             row(401,  404,  404,  200,  200,  200,  200),
    ("GET", "/customers/{customer_id}"):               row(401,  404,  404,  404,  200,  200,  200),
    # ---- admin only
    ("GET", "/admin/policy"):                          row(401,  404,  404,  403,  403,  403,  200),
    ("PUT", "/admin/policy"):                          row(401,  404,  404,  403,  403,  403,  200),
    ("GET", "/admin/audit"):                           row(401,  404,  404,  403,  403,  403,  200),
    ("GET", "/webhooks"):                              row(401,  404,  404,  403,  403,  403,  200),
    ("POST", "/webhooks"):                             row(401,  404,  404,  403,  403,  403,  201),
    ("DELETE", "/webhooks/{endpoint_id}"):             row(401,  404,  404,  403,  403,  403,  204),
    ("GET", "/webhooks/{endpoint_id}/deliveries"):     row(401,  404,  404,  403,  403,  403,  200),
    # ---- tickets: customer A's ticket, in the English team (`agent`'s and `supervisor`'s)
    ("POST", "/tickets"):                              row(401,  201,  201,  201,  201,  201,  201),
    ("GET", "/tickets"):                               row(401,  200,  200,  200,  200,  200,  200),
    ("GET", "/tickets/{number}"):                      row(404,  200,  404,  404,  200,  200,  200),
    ("PATCH", "/tickets/{number}"):                    row(401,  404,  404,  404,  200,  200,  200),
    ("GET", "/tickets/{number}/events"):               row(401,  404,  404,  404,  200,  200,  200),
    ("POST", "/tickets/{number}/replies"):             row(404,  201,  404,  404,  201,  201,  201),
    ("POST", "/tickets/{number}/notes"):               row(401,  404,  404,  404,  201,  201,  201),
    ("POST", "/tickets/{number}/status"):              row(404,  200,  404,  404,  200,  200,  200),
    ("POST", "/tickets/{number}/escalate"):            row(404,  200,  404,  404,  200,  200,  200),
    ("POST", "/tickets/{number}/assign"):              row(401,  404,  404,  404,  200,  200,  200),
    ("POST", "/tickets/{number}/merge"):               row(401,  404,  404,  404,  200,  200,  200),
    ("POST", "/tickets/{number}/tags"):                row(401,  404,  404,  404,  200,  200,  200),
    ("GET", "/tickets/{number}/transcript"):           row(404,  200,  404,  404,  200,  200,  200),
    ("POST", "/tickets/{number}/attachments"):         row(404,  201,  404,  404,  201,  201,  201),
    ("GET", "/attachments/{attachment_id}"):           row(404,  200,  404,  404,  200,  200,  200),
    ("GET", "/tickets/{number}/context"):              row(401,  404,  404,  404,  200,  200,  200),
    # The scene's ticket is open: its customer may rate only once it is resolved (409).
    ("POST", "/tickets/{number}/rating"):              row(404,  409,  404,  404,  403,  403,  403),
    # ---- notifications: the scene holds one for `agent`
    ("GET", "/notifications"):                         row(401,  404,  404,  200,  200,  200,  200),
    ("POST", "/notifications/{notification_id}/read"): row(401,  404,  404,  404,  204,  404,  404),
    # ---- macros: agents use their teams' and global ones (the scene's is the English team's);
    # supervisors and admins manage them. Rendering also needs a ticket the caller can read.
    ("GET", "/macros"):                                row(401,  404,  404,  200,  200,  200,  200),
    ("POST", "/macros"):                               row(401,  404,  404,  403,  403,  201,  201),
    ("PATCH", "/macros/{macro_id}"):                   row(401,  404,  404,  403,  403,  200,  200),
    ("DELETE", "/macros/{macro_id}"):                  row(401,  404,  404,  403,  403,  204,  204),
    ("POST", "/macros/{macro_id}/render"):             row(401,  404,  404,  404,  200,  200,  200),
    # ---- knowledge base: everyone reads what is published, searches, votes and gets
    # suggestions; agents write drafts and translations (the scene's zh-CN is a draft);
    # supervisors and admins publish, delete, manage categories and change live articles (the
    # scene's article is published). A deflection is marked submitted by the customer whose
    # ticket it became.
    ("GET", "/kb/categories"):                         row(200,  200,  200,  200,  200,  200,  200),
    ("PUT", "/kb/categories/{slug}"):                  row(401,  404,  404,  403,  403,  200,  200),
    ("GET", "/kb/articles"):                           row(200,  200,  200,  200,  200,  200,  200),
    ("POST", "/kb/articles"):                          row(401,  404,  404,  201,  201,  201,  201),
    ("GET", "/kb/articles/{slug}"):                    row(200,  200,  200,  200,  200,  200,  200),
    ("PATCH", "/kb/articles/{slug}"):                  row(401,  404,  404,  403,  403,  200,  200),
    ("DELETE", "/kb/articles/{slug}"):                 row(401,  404,  404,  403,  403,  204,  204),
    ("PUT", "/kb/articles/{slug}/translations/{lang}"): row(401, 404,  404,  200,  200,  200,  200),
    ("POST", "/kb/articles/{slug}/publish"):           row(401,  404,  404,  403,  403,  200,  200),
    ("POST", "/kb/articles/{slug}/unpublish"):         row(401,  404,  404,  403,  403,  200,  200),
    ("GET", "/kb/articles/{slug}/translations/{lang}/versions"):
                                                       row(401,  404,  404,  200,  200,  200,  200),
    ("GET", "/kb/articles/{slug}/translations/{lang}/versions/{version}"):
                                                       row(401,  404,  404,  200,  200,  200,  200),
    ("POST", "/kb/articles/{slug}/votes"):             row(201,  201,  201,  201,  201,  201,  201),
    ("GET", "/kb/feedback"):                           row(401,  404,  404,  200,  200,  200,  200),
    ("GET", "/kb/gaps"):                               row(401,  404,  404,  200,  200,  200,  200),
    ("GET", "/kb/search"):                             row(200,  200,  200,  200,  200,  200,  200),
    ("POST", "/kb/suggestions"):                       row(200,  200,  200,  200,  200,  200,  200),
    ("POST", "/kb/deflections/{key}/submitted"):       row(401,  200,  404,  404,  404,  404,  404),
    # ---- status page: everyone reads, agents write
    ("GET", "/status"):                                row(200,  200,  200,  200,  200,  200,  200),
    ("POST", "/status"):                               row(401,  404,  404,  201,  201,  201,  201),
    ("PATCH", "/status/{entry_id}"):                   row(401,  404,  404,  200,  200,  200,  200),
    ("DELETE", "/status/{entry_id}"):                  row(401,  404,  404,  204,  204,  204,  204),
    # ---- trust: Kefu Verify is public; the official-channel registry is admins' (the world
    # has no channel to delete: 404); the anti-phishing code is the signed-in customer's own;
    # step-up links and the trust panel for agents who read the ticket; the exchange's callback
    # is authenticated by its signature alone (sent unsigned here: 401 for everyone); the
    # review queue is supervisors' (the world has no flag to review: 404).
    ("GET", "/verify"):                                row(200,  200,  200,  200,  200,  200,  200),
    ("GET", "/trust/channels"):                        row(401,  404,  404,  403,  403,  403,  200),
    ("PUT", "/trust/channels"):                        row(401,  404,  404,  403,  403,  403,  200),
    ("DELETE", "/trust/channels"):                     row(401,  404,  404,  403,  403,  403,  404),
    ("GET", "/me/anti-phishing-code"):                 row(401,  200,  200,  404,  404,  404,  404),
    ("PUT", "/me/anti-phishing-code"):                 row(401,  200,  200,  404,  404,  404,  404),
    ("DELETE", "/me/anti-phishing-code"):              row(401,  204,  204,  404,  404,  404,  404),
    ("POST", "/tickets/{number}/step-up"):             row(401,  404,  404,  404,  201,  201,  201),
    ("GET", "/tickets/{number}/trust"):                row(401,  404,  404,  404,  200,  200,  200),
    ("POST", "/trust/stepup/callback"):                row(401,  401,  401,  401,  401,  401,  401),
    ("GET", "/trust/flags"):                           row(401,  404,  404,  403,  403,  200,  200),
    ("POST", "/trust/flags/review"):                   row(401,  404,  404,  403,  403,  404,  404),
}

# Content rules checked on top of the status codes.
SEES_TICKET = row(False, True, False, False, True, True, True)  # in GET /tickets
SEES_CUSTOMER_A = row(False, False, False, False, True, True, True)  # in GET /customers
SEES_INTERNAL = row(False, False, False, False, True, True, True)  # notes, files on notes
# fmt: on


def test_table_covers_every_operation() -> None:
    """A new /api/v1 operation must be added to EXPECT (and so be decided for every role)."""
    paths = create_app(Settings(env="test")).openapi()["paths"]
    served = {(method.upper(), path.removeprefix(API)) for path, operations in paths.items()
              if path.startswith(API + "/") for method in operations}
    assert sorted(served - EXPECT.keys()) == [], "operations missing from EXPECT"
    assert sorted(EXPECT.keys() - served) == [], "EXPECT lists operations that do not exist"


# ---------------------------------------------------------------- the world and its scenes


@dataclass(frozen=True)
class Scene:
    """Fresh objects for one request: customer A's ticket in the English team with the
    customer's message, an internal note with a file, an agent's public reply with a file; a
    second ticket of customer A (to merge into); a webhook endpoint, a team, a token of
    ``agent``."""

    number: str
    merge_target: str
    attachment_id: uuid.UUID
    note_attachment_id: uuid.UUID
    endpoint_id: uuid.UUID
    team_id: uuid.UUID
    token_id: uuid.UUID
    notification_id: uuid.UUID
    macro_id: uuid.UUID  # a macro of the English team


class Harness:
    def __init__(self, app: FastAPI, client: httpx.AsyncClient, world: World, spare: Agent,
                 customer_a: Customer) -> None:
        self.app, self.client, self.world = app, client, world
        self.spare, self.customer_a = spare, customer_a
        self.serial = itertools.count(1)
        self.kb_scenes: dict[str, KbScene] = {}  # by the scene's ticket number

    @classmethod
    async def build(cls, app: FastAPI, client: httpx.AsyncClient) -> Harness:
        world = await make_world(app)
        # The agent that admins edit: not one of the role-holders, whose tokens must keep working.
        spare = await make_agent(app, "spare@kefu.test", teams=[world.en_team])
        me = await client.get(f"{API}/auth/me", headers=world.headers["customer_a"])
        assert me.status_code == 200, me.text
        async with app.state.db.transaction() as session:
            customer_a = await session.scalar(select(Customer).where(
                Customer.external_id == "cust-a"))
            assert customer_a is not None
            await kb.put_category(session, Actor(kind="agent", agent=world.admin),
                                  slug="matrix", data=KB_CATEGORY,
                                  index=ArticleIndex.for_settings(app.state.settings))
        return cls(app, client, world, spare, customer_a)

    def agent_of(self, role: str) -> Agent | None:
        return getattr(self.world, role) if role in AGENT_ROLES else None

    async def new_scene(self) -> Scene:
        world, settings = self.world, self.app.state.settings
        n = next(self.serial)
        customer = Actor(kind="customer", customer=self.customer_a)
        agent = Actor(kind="agent", agent=world.agent, team_ids=frozenset({world.en_team.id}))
        async with self.app.state.db.transaction() as session:
            await session.execute(update(Agent).values(
                totp_enabled=False, totp_secret=TOTP_SECRET, totp_last_counter=None))
            opened = await create_ticket(
                session, customer, customer=self.customer_a, subject=f"Withdrawal stuck #{n}",
                body="My BTC withdrawal has been pending for 6 hours.", channel="portal")
            ticket = opened.ticket
            opened = await create_ticket(
                session, customer, customer=self.customer_a, subject=f"Same withdrawal #{n}",
                body="Writing again about the withdrawal.", channel="portal")
            target = opened.ticket
            note_file = await upload(session, agent, settings, ticket)
            await add_note(session, agent, ticket, ticket_schemas.NoteCreate(
                body=NOTE_TEXT, attachment_ids=[note_file]))
            public_file = await upload(session, agent, settings, ticket)
            await replies.reply(session, agent, settings, ticket, ticket_schemas.ReplyCreate(
                body="We are looking into it; see the screenshot.", attachment_ids=[public_file]))
            endpoint = await create_endpoint(session, data=WebhookEndpointCreate(
                url=f"https://hooks.example.com/kefu/{n}",  # type: ignore[arg-type]
                events=["ticket.created"],
                # paused: one active endpoint per scene made every later ticket write a
                # delivery to each (quadratic: a third of the matrix's time)
                active=False))
            team = await create_team(session, None,  # type: ignore[arg-type]
                                     name=f"Scene team {n}", language="fr")
            token, _ = await create_api_token(session, agent, name=f"scene {n}")
            notification = Notification(agent_id=world.agent.id, kind="mention",
                                        ticket_id=ticket.id, data={"ticket": ticket.number})
            session.add(notification)
            macro = Macro(title=f"Scene macro {n}", body="Hi {customer.name}, see {ticket.number}.",
                          language="en", team_id=world.en_team.id)
            session.add(macro)
            await session.flush()
            self.kb_scenes[ticket.number] = await kb_scene(
                session, Actor(kind="agent", agent=world.admin), self.app, n)
            return Scene(ticket.number, target.number, public_file, note_file, endpoint.id,
                         team.id, token.id, notification.id, macro.id)

    def path_parameters(self, scene: Scene) -> dict[str, Any]:
        return {"number": scene.number, "token_id": scene.token_id, "agent_id": self.spare.id,
                "team_id": scene.team_id, "customer_id": self.customer_a.id,
                "attachment_id": scene.attachment_id, "endpoint_id": scene.endpoint_id,
                "notification_id": scene.notification_id, "macro_id": scene.macro_id,
                **self.kb_scenes[scene.number].path_values()}

    async def call(self, method: str, path: str, scene: Scene, role: str) -> httpx.Response:
        url = API + path.format(**self.path_parameters(scene))
        extra = BODIES.get((method, path), lambda h, s, r: {})(self, scene, role)
        response = await self.client.request(method, url, headers=self.world.headers[role],
                                             **extra)
        # Only the role's bearer credential counts: drop the cookie that /auth/login set.
        self.client.cookies.clear()
        return response

    async def snapshot(self) -> dict[str, list[str]]:
        """Every row of every table, to prove that a refused request changed nothing. Raw rows
        (plain SQL: no UUIDs and datetimes built for each of thousands of rows; the rows grow
        with every scene, so this was a third of the matrix's time)."""
        async with self.app.state.db.transaction() as session:
            return {table.name: sorted(repr(tuple(row)) for row in await session.execute(
                        text(f'SELECT * FROM "{table.name}"')))
                    for table in Base.metadata.sorted_tables}


KB_CATEGORY = kb_schemas.CategoryWrite(
    names={"en": "Matrix"}, sections=[kb_schemas.SectionWrite(slug="general",
                                                              names={"en": "General"})])


@dataclass(frozen=True)
class KbScene:
    """A published article (English live, Chinese a draft), a status entry and a deflection
    shown to customer A (whose scene ticket it will become)."""

    slug: str
    status_id: uuid.UUID
    deflection_key: str

    def path_values(self) -> dict[str, Any]:
        return {"slug": self.slug, "lang": "zh-CN", "version": 1, "entry_id": self.status_id,
                "key": self.deflection_key}


async def kb_scene(session: AsyncSession, admin: Actor, app: FastAPI, n: int) -> KbScene:
    index = ArticleIndex.for_settings(app.state.settings)
    article = await kb.create_article(session, admin, kb_schemas.ArticleCreate(
        slug=f"scene-article-{n}", category="matrix", section="general", lang="en",
        title="Withdrawal pending", body_md="Withdrawals wait for a risk review."), index=index)
    await kb.save_translation(session, admin, article, "zh-CN", kb_schemas.TranslationWrite(
        title="提币处理中", body_md="提币需要风控审核。"), index=index)
    await kb.publish(session, admin, article, lang="en", index=index)
    entry = await kb_status.create_entry(session, admin, kb_schemas.StatusEntryCreate(
        kind="network", state="delayed", coin="USDT", network="TRC20", direction="withdrawal",
        titles={"en": "TRC20 withdrawals delayed"}))
    shown = Deflection(key=f"scene-deflection-{n:06d}", channel="widget", lang="en",
                       shown_slugs=[article.slug])
    session.add(shown)
    await session.flush()
    return KbScene(article.slug, entry.id, shown.key)


async def upload(
    session: AsyncSession, actor: Actor, settings: Settings, ticket: Any
) -> uuid.UUID:
    async def chunks() -> AsyncIterator[bytes]:
        yield PNG

    attachment = await upload_attachment(
        session, actor, AttachmentStore(settings), ticket, filename="screenshot.png",
        chunks=chunks())
    return attachment.id


def _json(make: Callable[[Harness, Scene, str], Any]) -> Callable[..., dict[str, Any]]:
    return lambda h, s, r: {"json": make(h, s, r)}


def _ticket_create(h: Harness, s: Scene, role: str) -> dict[str, Any]:
    body = {"subject": "Cannot log in", "body": "2FA codes are refused."}
    if h.agent_of(role) is not None:  # agents open tickets on behalf of a customer
        body["customer_external_id"] = "cust-a"
    return body


def _unique(h: Harness, role: str) -> str:
    return f"{role.replace('_', '-')}-{next(h.serial)}"


BODIES: dict[tuple[str, str], Callable[[Harness, Scene, str], dict[str, Any]]] = {
    ("POST", "/auth/login"): _json(lambda h, s, r: {
        "email": h.world.agent.email, "password": PASSWORD}),
    ("POST", "/auth/2fa/verify"): _json(lambda h, s, r: {"code": "123456"}),
    ("POST", "/auth/2fa/enable"): _json(lambda h, s, r: {
        "code": pyotp.TOTP(TOTP_SECRET).now()}),
    ("POST", "/auth/tokens"): _json(lambda h, s, r: {"name": "matrix"}),
    ("POST", "/agents"): _json(lambda h, s, r: {
        "email": f"{_unique(h, r)}@example.com", "password": PASSWORD, "display_name": "New"}),
    ("PATCH", "/agents/{agent_id}"): _json(lambda h, s, r: {"display_name": "Renamed"}),
    ("POST", "/teams"): _json(lambda h, s, r: {"name": f"Team {_unique(h, r)}",
                                               "language": "ja"}),
    ("PATCH", "/teams/{team_id}"): _json(lambda h, s, r: {"description": "Renamed"}),
    ("PUT", "/admin/policy"): _json(lambda h, s, r: {"require_agent_2fa": False}),
    ("POST", "/webhooks"): _json(lambda h, s, r: {
        "url": "https://hooks.example.com/new", "events": ["message.created"]}),
    ("POST", "/tickets"): _json(_ticket_create),
    ("PATCH", "/tickets/{number}"): _json(lambda h, s, r: {"priority": "high"}),
    ("POST", "/tickets/{number}/replies"): _json(lambda h, s, r: {"body": "Any news?"}),
    ("POST", "/tickets/{number}/notes"): _json(lambda h, s, r: {"body": "Checked the node."}),
    ("POST", "/tickets/{number}/status"): _json(lambda h, s, r: {"status": "resolved"}),
    ("POST", "/tickets/{number}/escalate"): _json(lambda h, s, r: {"reason": "Too slow."}),
    ("POST", "/tickets/{number}/assign"): _json(lambda h, s, r: {
        "agent_id": str(h.world.agent.id)}),
    ("POST", "/tickets/{number}/merge"): _json(lambda h, s, r: {"into": s.merge_target}),
    ("POST", "/tickets/{number}/tags"): _json(lambda h, s, r: {"add": ["withdrawal"]}),
    ("POST", "/tickets/{number}/rating"): _json(lambda h, s, r: {"score": 5}),
    ("POST", "/tickets/{number}/attachments"): lambda h, s, r: {
        "files": {"file": ("proof.png", PNG, "image/png")}},
    ("POST", "/macros"): _json(lambda h, s, r: {
        "title": f"Macro {_unique(h, r)}", "body": "Hi {customer.name}", "language": "en"}),
    ("PATCH", "/macros/{macro_id}"): _json(lambda h, s, r: {"title": f"Renamed {_unique(h, r)}"}),
    ("POST", "/macros/{macro_id}/render"): lambda h, s, r: {"params": {"ticket": s.number}},
    ("PUT", "/kb/categories/{slug}"): _json(lambda h, s, r: {"names": {"en": "Scene"}}),
    ("POST", "/kb/articles"): _json(lambda h, s, r: {
        "slug": _unique(h, r), "category": "matrix", "lang": "en", "title": "New article",
        "body_md": "Body."}),
    ("PATCH", "/kb/articles/{slug}"): _json(lambda h, s, r: {"tags": ["withdrawal"]}),
    ("PUT", "/kb/articles/{slug}/translations/{lang}"): _json(lambda h, s, r: {
        "title": "提币一直处理中", "body_md": "提币需要风控审核，通常 30 分钟内完成。"}),
    ("POST", "/kb/articles/{slug}/publish"): _json(lambda h, s, r: {}),
    ("POST", "/kb/articles/{slug}/unpublish"): _json(lambda h, s, r: {}),
    ("POST", "/kb/articles/{slug}/votes"): _json(lambda h, s, r: {"lang": "en",
                                                                 "helpful": True}),
    ("GET", "/kb/search"): lambda h, s, r: {"params": {"q": "withdrawal"}},
    ("POST", "/kb/suggestions"): _json(lambda h, s, r: {"q": "my withdrawal is pending"}),
    ("POST", "/kb/deflections/{key}/submitted"): _json(lambda h, s, r: {"ticket": s.number}),
    ("POST", "/status"): _json(lambda h, s, r: {
        "kind": "incident", "state": "degraded", "titles": {"en": "Login issues"}}),
    ("PATCH", "/status/{entry_id}"): _json(lambda h, s, r: {"state": "operational"}),
    ("GET", "/verify"): lambda h, s, r: {"params": {"kind": "domain", "value": "demoex.example"}},
    ("PUT", "/trust/channels"): _json(lambda h, s, r: {
        "kind": "domain", "value": "demoex.example", "label": "Website"}),
    ("DELETE", "/trust/channels"): lambda h, s, r: {
        "params": {"kind": "domain", "value": "never-added.example"}},
    ("PUT", "/me/anti-phishing-code"): _json(lambda h, s, r: {"code": "BlueKite42"}),
    ("POST", "/tickets/{number}/step-up"): _json(lambda h, s, r: {"purpose": "2fa_reset"}),
    ("POST", "/trust/stepup/callback"): _json(lambda h, s, r: {
        "reference": str(uuid.uuid4()), "external_id": "cust-a", "result": "verified",
        "method": "password+totp", "authenticated_at": "2026-01-01T00:00:00Z"}),
    ("POST", "/trust/flags/review"): _json(lambda h, s, r: {
        "flag_id": str(uuid.uuid4()), "decision": "dismissed"}),
}


@pytest.fixture(autouse=True)
def fast_search(monkeypatch: pytest.MonkeyPatch) -> None:
    """Authorization does not depend on meaning: search with the stand-in embedder."""
    use_fast_search(monkeypatch)


# ---------------------------------------------------------------- the matrix


def is_error_body(response: httpx.Response) -> bool:
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return False
    return isinstance(error.get("code"), str) and isinstance(error.get("message"), str)


@pytest.mark.parametrize("role", ROLES)
async def test_role_matrix(app: FastAPI, client: httpx.AsyncClient, role: str) -> None:
    harness = await Harness.build(app, client)
    shared = await harness.new_scene()  # for safe methods
    problems = await content_problems(harness, shared, role)
    untouched: Scene | None = None  # a scene that only refused requests have met
    for (method, path), expected_by_role in EXPECT.items():
        expected = expected_by_role[role]
        unsafe = method != "GET"
        refused = unsafe and expected >= 400
        # A change gets a scene of its own; a refusal may reuse one that refusals left as it
        # was (the snapshot proves it), so a role refused nearly everywhere builds few scenes.
        scene = shared if not unsafe else (untouched or await harness.new_scene()) if refused \
            else await harness.new_scene()
        untouched = None
        before = await harness.snapshot() if refused else None
        response = await harness.call(method, path, scene, role)
        where = f"{method} {API}{path}"
        if response.status_code != expected:
            problems.append(f"{where}: expected {expected}, got {response.status_code} "
                            f"{response.text[:300]}")
            continue
        if response.status_code >= 400 and not is_error_body(response):
            problems.append(f"{where}: {response.status_code} body is not an error: "
                            f"{response.text[:300]}")
        if before is not None:
            after = await harness.snapshot()
            if after != before:
                changed = sorted(t for t in after if after[t] != before[t])
                problems.append(f"{where}: refused with {expected} but changed tables "
                                f"{changed}")
            else:
                untouched = scene
    if problems:
        pytest.fail(f"{role}:\n" + "\n".join(f"- {p}" for p in problems), pytrace=False)


async def content_problems(harness: Harness, scene: Scene, role: str) -> list[str]:
    """What a role sees inside the responses it is allowed to get."""
    client, headers = harness.client, harness.world.headers[role]
    problems = []
    if role == "anonymous":
        return problems
    listed = await client.get(f"{API}/tickets", headers=headers)
    numbers = {t["number"] for t in listed.json()["items"]}
    if (scene.number in numbers) != SEES_TICKET[role]:
        problems.append(f"GET /tickets: customer A's ticket listed={scene.number in numbers}")
    # Search must not find a ticket through the words of an internal note.
    found = await client.get(f"{API}/tickets", headers=headers,
                             params={"q": "multi-account abuse"})
    hit = scene.number in {t["number"] for t in found.json()["items"]}
    if hit != SEES_INTERNAL[role]:
        problems.append(f"GET /tickets?q=<note words>: found={hit}")
    if SEES_TICKET[role]:
        detail = (await client.get(f"{API}/tickets/{scene.number}", headers=headers)).json()
        internal = [m for m in detail["messages"] if m["internal"]]
        if bool(internal) != SEES_INTERNAL[role] or \
                any(NOTE_TEXT in m["body"] for m in detail["messages"]) != SEES_INTERNAL[role]:
            problems.append(f"GET /tickets/{{number}}: internal messages shown={internal}")
        transcript = await client.get(f"{API}/tickets/{scene.number}/transcript",
                                      headers=headers, params={"format": "html"})
        if NOTE_TEXT in transcript.text:
            problems.append("GET /tickets/{number}/transcript: holds the internal note")
        note_file = await client.get(f"{API}/attachments/{scene.note_attachment_id}",
                                     headers=headers)
        if (note_file.status_code == 200) != SEES_INTERNAL[role] or \
                note_file.status_code not in (200, 404):
            problems.append(f"GET /attachments/<file on a note>: {note_file.status_code}")
    if harness.agent_of(role) is not None:
        customers = await client.get(f"{API}/customers", headers=headers)
        listed_a = str(harness.customer_a.id) in {c["id"] for c in customers.json()["items"]}
        if listed_a != SEES_CUSTOMER_A[role]:
            problems.append(f"GET /customers: customer A listed={listed_a}")
    return problems


# ---------------------------------------------------------------- cookie sessions and CSRF


@pytest.fixture
async def browser(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A second client, so its cookies never mix with the bearer requests of ``client``."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://kefu.test") as c:
        yield c


async def test_agent_cookie_session_needs_csrf_token(
    app: FastAPI, browser: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    world = await make_world(app)
    created = await client.post(f"{API}/tickets", headers=world.headers["customer_a"],
                                json={"subject": "Frozen account", "body": "Why?"})
    number = created.json()["number"]
    csrf = await login(browser, world.agent.email)
    note = f"{API}/tickets/{number}/notes"

    assert (await browser.get(f"{API}/tickets/{number}")).status_code == 200  # safe: no token
    for headers in ({}, {CSRF_HEADER: "0" * len(csrf)}):
        refused = await browser.post(note, json={"body": "x"}, headers=headers)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "csrf_failed"
        upload_refused = await browser.post(f"{API}/tickets/{number}/attachments",
                                            files={"file": ("a.png", PNG, "image/png")},
                                            headers=headers)
        assert upload_refused.status_code == 403, upload_refused.text
        assert upload_refused.json()["error"]["code"] == "csrf_failed"
    accepted = await browser.post(note, json={"body": "Checked."}, headers={CSRF_HEADER: csrf})
    assert accepted.status_code == 201, accepted.text
    # A form post may carry the token as a field instead of the header.
    uploaded = await browser.post(f"{API}/tickets/{number}/attachments",
                                  files={"file": ("a.png", PNG, "image/png")},
                                  data={"csrf_token": csrf})
    assert uploaded.status_code == 201, uploaded.text
    detail = (await browser.get(f"{API}/tickets/{number}")).json()
    assert [m["body"] for m in detail["messages"] if m["internal"]] == ["Checked."]
    assert sum(len(m["attachments"]) for m in detail["messages"]) == 0  # uploaded, not sent

    assert (await browser.post(f"{API}/auth/logout")).status_code == 403
    assert (await browser.post(f"{API}/auth/logout", headers={CSRF_HEADER: csrf})).status_code \
        == 204
    assert (await browser.get(f"{API}/auth/me")).json()["kind"] == "anonymous"


async def test_customer_portal_cookie_needs_csrf_token(
    app: FastAPI, browser: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    world = await make_world(app)
    created = await client.post(f"{API}/tickets", headers=world.headers["customer_a"],
                                json={"subject": "Frozen account", "body": "Why?"})
    number = created.json()["number"]
    secret = app.state.settings.secret_key.get_secret_value()
    cookie = portal_cookie(secret, uuid.UUID(created.json()["customer_id"]),
                           clock.now() + timedelta(hours=1))
    browser.cookies.set(PORTAL_COOKIE, cookie)
    reply = f"{API}/tickets/{number}/replies"

    assert (await browser.get(f"{API}/tickets/{number}")).status_code == 200
    refused = await browser.post(reply, json={"body": "Hello?"})
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "csrf_failed"
    accepted = await browser.post(reply, json={"body": "Hello?"},
                                  headers={CSRF_HEADER: security.csrf_token_for(secret, cookie)})
    assert accepted.status_code == 201, accepted.text



# ---------------------------------------------------------------- finer rules


async def test_agents_change_only_their_own_status(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """``update_agent``: "Admins change anything; an agent may change only their own status"."""
    world = await make_world(app)
    me = f"{API}/agents/{world.agent.id}"
    headers = world.headers["agent"]
    assert (await client.patch(me, headers=headers, json={"status": "online"})).status_code == 200
    for change in ({"display_name": "Boss"}, {"role": "admin"}, {"capacity": 99},
                   {"team_ids": [str(world.zh_team.id)]}, {"unlock": True}):
        response = await client.patch(me, headers=headers, json=change)
        assert response.status_code == 403, (change, response.text)
        assert response.json()["error"]["code"] == "admin_required"


async def test_escalation_reason_of_an_agent_stays_internal(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """An agent's escalation reason is written for supervisors: the timeline keeps it as an
    internal message, so the ticket's fields must not hand it to the customer either."""
    world = await make_world(app)
    created = await client.post(f"{API}/tickets", headers=world.headers["customer_a"],
                                json={"subject": "Withdrawal", "body": "Where is it?"})
    number = created.json()["number"]
    reason = "Possible account takeover; check the login IPs"
    escalated = await client.post(f"{API}/tickets/{number}/escalate",
                                  headers=world.headers["agent"], json={"reason": reason})
    assert escalated.status_code == 200, escalated.text
    assert escalated.json()["escalation_reason"] == reason  # the agent's view has it

    seen = await client.get(f"{API}/tickets/{number}", headers=world.headers["customer_a"])
    listed = await client.get(f"{API}/tickets", headers=world.headers["customer_a"])
    assert seen.status_code == 200
    assert reason not in seen.text, "GET /tickets/{number} shows the agent's reason"
    assert reason not in listed.text, "GET /tickets shows the agent's reason"
