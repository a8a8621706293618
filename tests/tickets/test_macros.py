"""Macros: rendering (plain substitution, never evaluation), scoping and permissions through the
API, and the default zh/en macros a new deployment gets."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.exc import IntegrityError

from kefu.accounts.actor import Actor
from kefu.accounts.models import Agent, Customer
from kefu.tickets import macros
from kefu.tickets.models import Macro, Ticket
from tests.factories import World, make_world

API = "/api/v1"


def _ticket() -> Ticket:
    return Ticket(number="KF-7Q4M2X", subject="USDT TRC20 deposit missing")


def test_render_fills_the_four_variables():
    macro = Macro(title="t", language="en", body=(
        "Hi {customer.name}, ticket {ticket.number} ({ticket.subject}). — {agent.name}"))
    rendered = macros.render_macro(macro, ticket=_ticket(),
                                   customer=Customer(display_name="Alice Wang"),
                                   agent=Agent(display_name="Li Na"))
    assert rendered.text == ("Hi Alice Wang, ticket KF-7Q4M2X (USDT TRC20 deposit missing). "
                             "— Li Na")
    assert rendered.unknown_variables == []


def test_unknown_variables_stay_as_written_and_are_reported():
    macro = Macro(title="t", language="en", body=(
        "{customer.email} {ticket.__class__} {customer.name.__globals__} {0} {} "
        '{"code": 50113} {{customer.name}} {customer.email}'))
    rendered = macros.render_macro(macro, ticket=_ticket(),
                                   customer=Customer(display_name="Bob"), agent=None)
    assert rendered.text == ('{customer.email} {ticket.__class__} {customer.name.__globals__} '
                             '{0} {} {"code": 50113} {Bob} {customer.email}')
    assert rendered.unknown_variables == ["customer.email", "ticket.__class__",
                                          "customer.name.__globals__"]


def test_a_nameless_customer_is_greeted_in_the_macros_language():
    ticket = _ticket()
    zh = macros.render_macro(Macro(title="t", language="zh", body="{customer.name}，您好"),
                             ticket=ticket, customer=Customer(display_name=""), agent=None)
    en = macros.render_macro(Macro(title="t", language="en", body="Hi {customer.name},"),
                             ticket=ticket, customer=None, agent=None)
    assert zh.text == "尊敬的用户，您好"
    assert en.text == "Hi there,"


@given(st.text(max_size=300), st.text(alphabet="0123456789 -#", max_size=20))
def test_substitution_replaces_exactly_the_known_names(body: str, value: str):
    rendered = macros.substitute(body, {"ticket.number": value})
    if "{" not in body:
        assert rendered.text == body
        assert rendered.unknown_variables == []
    assert "{ticket.number}" not in rendered.text
    assert "ticket.number" not in rendered.unknown_variables
    for name in rendered.unknown_variables:
        assert "{" + name + "}" in body
        assert "{" + name + "}" in rendered.text


@pytest.mark.parametrize(("raw", "base"), [("zh-CN", "zh"), ("EN", "en"), ("zh_Hant", "zh"),
                                           ("", None), (None, None)])
def test_macro_language(raw: str | None, base: str | None):
    assert macros.macro_language(raw) == base


# ---------------------------------------------------------------- the default macros

SECRETS = {
    "en": ("password", "2fa code", "seed phrase", "private key", "api secret", "sms code"),
    "zh": ("密码", "验证码", "助记词", "私钥", "secret"),
}
NEVER = {"en": ("never", "do not", "don't"), "zh": ("绝不", "请勿", "切勿", "不会", "不要")}
TOPICS = {
    "en": ("deposit", "withdrawal", "2fa", "kyc", "50113", "liquidation", "p2p", "phishing"),
    "zh": ("充值", "提现", "两步验证", "kyc", "50113", "强平", "p2p", "钓鱼"),
}


@pytest.mark.parametrize("language", ["en", "zh"])
def test_default_macros_cover_the_common_cases_and_never_ask_for_secrets(language: str):
    defaults = [m for m in macros.DEFAULT_MACROS if m.language == language]
    assert len(defaults) >= 8
    titles = " ".join(m.title.lower() for m in defaults)
    for topic in TOPICS[language]:
        assert topic in titles, topic
    assert len({m.title for m in defaults}) == len(defaults)
    for macro in defaults:
        assert set(macros.variables_in(macro.body)) <= set(macros.VARIABLES), macro.title
        body = macro.body.lower()
        if any(secret in body for secret in SECRETS[language]):
            assert any(word in body for word in NEVER[language]), macro.title
        assert not re.search(r"(send|tell|give|provide) (us )?(your|the) (password|seed|"
                             r"private key|2fa|code)", body), macro.title
        assert "{ticket.number}" in macro.body or "{ticket.subject}" in macro.body


async def test_seed_adds_the_defaults_once(app: FastAPI):
    async with app.state.db.transaction() as session:
        assert await macros.seed_default_macros(session) == len(macros.DEFAULT_MACROS)
    async with app.state.db.transaction() as session:
        assert await macros.seed_default_macros(session) == 0
        rows = await macros.list_macros(session, _supervisor_actor(), language="zh")
        assert len(rows) >= 8
        assert all(m.language == "zh" and m.team_id is None for m in rows)


def _supervisor_actor() -> Actor:
    return Actor(kind="agent", agent=Agent(id=uuid.uuid4(), role="supervisor",
                                                   display_name="Sup"))


# ---------------------------------------------------------------- the API


async def _create(client: httpx.AsyncClient, world: World, role: str = "supervisor",
                  **fields: object) -> httpx.Response:
    body = {"title": "Deposit delay", "body": "Hi {customer.name}", "language": "en", **fields}
    return await client.post(f"{API}/macros", headers=world.headers[role], json=body)


async def test_supervisors_manage_agents_use_their_teams_macros(
    app: FastAPI, client: httpx.AsyncClient
):
    world = await make_world(app)
    h = world.headers
    global_macro = (await _create(client, world)).json()
    assert global_macro["team_id"] is None
    assert global_macro["variables"] == ["customer.name"]
    english = (await _create(client, world, title="Withdrawal review",
                             team_id=str(world.en_team.id))).json()
    chinese = (await _create(client, world, role="admin", title="提现审核", language="zh-CN",
                             body="{customer.name}，您好", team_id=str(world.zh_team.id))).json()
    assert chinese["language"] == "zh"

    def titles(response: httpx.Response) -> set[str]:
        assert response.status_code == 200, response.text
        return {m["title"] for m in response.json()["items"]}

    assert titles(await client.get(f"{API}/macros", headers=h["agent"])) == {
        "Deposit delay", "Withdrawal review"}
    assert titles(await client.get(f"{API}/macros", headers=h["other_agent"])) == {
        "Deposit delay", "提现审核"}
    assert titles(await client.get(f"{API}/macros", headers=h["supervisor"])) == {
        "Deposit delay", "Withdrawal review", "提现审核"}
    assert titles(await client.get(f"{API}/macros", headers=h["supervisor"],
                                   params={"language": "zh-CN"})) == {"提现审核"}
    assert titles(await client.get(f"{API}/macros", headers=h["supervisor"],
                                   params={"q": "withdrawal"})) == {"Withdrawal review"}
    assert titles(await client.get(f"{API}/macros", headers=h["supervisor"],
                                   params={"q": "100%_"})) == set()
    assert titles(await client.get(f"{API}/macros", headers=h["supervisor"],
                                   params={"q": "提现"})) == {"提现审核"}
    assert titles(await client.get(f"{API}/macros", headers=h["supervisor"],
                                   params={"q": "WITHDRAWAL"})) == {"Withdrawal review"}

    # Agents may not write; customers learn nothing; anonymous must sign in.
    refused = await _create(client, world, role="agent", title="Mine")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "supervisor_required"
    assert (await client.get(f"{API}/macros", headers=h["customer_a"])).status_code == 404
    assert (await client.get(f"{API}/macros")).status_code == 401

    # A misspelt variable is refused when the macro is saved, never sent as literal braces;
    # changing other fields of a macro leaves its body alone.
    typo = await _create(client, world, title="Typo", body="Hi {customer.nme} {ticket.number}")
    assert typo.status_code == 422
    assert typo.json()["error"] == {"code": "unknown_variables", "message": (
        "unknown variables {customer.nme}; use {customer.name}, {ticket.number}, "
        "{ticket.subject}, {agent.name}")}
    edit_typo = await client.patch(f"{API}/macros/{english['id']}", headers=h["supervisor"],
                                   json={"body": "Hi {Customer.Name}"})
    assert edit_typo.status_code == 422
    assert edit_typo.json()["error"]["code"] == "unknown_variables"

    # One title per language.
    duplicate = await _create(client, world)
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["code"] == "macro_exists"
    assert (await _create(client, world, language="zh")).status_code == 201
    blank = await _create(client, world, title="   ")
    assert blank.status_code == 422
    unknown_team = await _create(client, world, title="X", team_id=str(uuid.uuid4()))
    assert unknown_team.status_code == 422

    # Moving a team macro to everyone, then deleting it.
    moved = await client.patch(f"{API}/macros/{chinese['id']}", headers=h["supervisor"],
                               json={"team_id": None})
    assert moved.status_code == 200, moved.text
    assert moved.json()["team_id"] is None
    assert "提现审核" in titles(await client.get(f"{API}/macros", headers=h["agent"]))
    clash = await client.patch(f"{API}/macros/{english['id']}", headers=h["supervisor"],
                               json={"title": "Deposit delay"})
    assert clash.status_code == 409
    gone = await client.delete(f"{API}/macros/{english['id']}", headers=h["admin"])
    assert gone.status_code == 204
    again = await client.delete(f"{API}/macros/{english['id']}", headers=h["admin"])
    assert again.status_code == 404
    audit = (await client.get(f"{API}/admin/audit", headers=h["admin"])).json()
    actions = {entry["action"] for entry in audit["items"]}
    assert {"macro.created", "macro.updated", "macro.deleted"} <= actions


async def test_render_for_a_readable_ticket(app: FastAPI, client: httpx.AsyncClient):
    world = await make_world(app)
    h = world.headers
    created = await client.post(f"{API}/tickets", headers=h["customer_a"], json={
        "subject": "USDT deposit not credited", "body": "Sent 500 USDT on TRC20."})
    number = created.json()["number"]
    body = ("Hi {customer.name}, about {ticket.number} ({ticket.subject}): {customer.vip_tier}. "
            "{agent.name}")
    refused = await _create(client, world, body=body)  # a variable Kefu cannot fill
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "unknown_variables"
    assert "{customer.vip_tier}" in refused.json()["error"]["message"]
    macro = (await _create(client, world, body="Hi")).json()
    async with app.state.db.transaction() as session:  # one saved before the check existed
        stored = await session.get(Macro, uuid.UUID(macro["id"]))
        assert stored is not None
        stored.body = body

    rendered = await client.post(f"{API}/macros/{macro['id']}/render", headers=h["agent"],
                                 params={"ticket": number.lower()})
    assert rendered.status_code == 200, rendered.text
    assert rendered.json() == {
        "macro_id": macro["id"], "ticket": number,
        "text": f"Hi Alice, about {number} (USDT deposit not credited): "
                "{customer.vip_tier}. agent",
        "unknown_variables": ["customer.vip_tier"]}
    # Nothing was sent: the conversation still holds only the customer's message.
    detail = await client.get(f"{API}/tickets/{number}", headers=h["agent"])
    assert len(detail.json()["messages"]) == 1

    # The Chinese team cannot read the English team's ticket; nor can a customer render.
    other = await client.post(f"{API}/macros/{macro['id']}/render", headers=h["other_agent"],
                              params={"ticket": number})
    assert other.status_code == 404
    assert (await client.post(f"{API}/macros/{macro['id']}/render", headers=h["customer_a"],
                              params={"ticket": number})).status_code == 404
    missing = await client.post(f"{API}/macros/{uuid.uuid4()}/render", headers=h["agent"],
                                params={"ticket": number})
    assert missing.status_code == 404
    zh_macro = (await _create(client, world, title="中文", language="zh",
                              team_id=str(world.zh_team.id))).json()
    hidden = await client.post(f"{API}/macros/{zh_macro['id']}/render", headers=h["agent"],
                               params={"ticket": number})
    assert hidden.status_code == 404


# ---------------------------------------------------------------- personal macros


def _ids(response: httpx.Response) -> set[str]:
    assert response.status_code == 200, response.text
    return {m["id"] for m in response.json()["items"]}


async def test_personal_macros_belong_to_their_owner_alone(
    app: FastAPI, client: httpx.AsyncClient
):
    world = await make_world(app)
    h = world.headers
    shared = (await _create(client, world, title="Greeting")).json()
    assert shared["scope"] == "global"
    assert shared["owner_agent_id"] is None

    # Any agent keeps personal macros; a title is unique per owner, not across owners, and a
    # personal one may share a shared macro's title.
    mine = await _create(client, world, role="agent", title="Greeting", scope="personal",
                         body="Hi {customer.name}, {agent.name} here.")
    assert mine.status_code == 201, mine.text
    mine_id = mine.json()["id"]
    assert mine.json() | {"id": "", "created_at": ""} == {
        "id": "", "created_at": "", "title": "Greeting", "language": "en", "team_id": None,
        "scope": "personal", "owner_agent_id": str(world.agent.id),
        "created_by_agent_id": str(world.agent.id),
        "body": "Hi {customer.name}, {agent.name} here.",
        "variables": ["customer.name", "agent.name"]}
    theirs = await _create(client, world, role="other_agent", title="Greeting",
                           scope="personal")
    assert theirs.status_code == 201, theirs.text
    theirs_id = theirs.json()["id"]
    sup_own = await _create(client, world, role="supervisor", title="Greeting",
                            scope="personal")
    assert sup_own.status_code == 201, sup_own.text
    sup_id = sup_own.json()["id"]
    twice = await _create(client, world, role="agent", title="Greeting", scope="personal")
    assert twice.status_code == 409
    assert twice.json()["error"]["code"] == "macro_exists"
    assert (await _create(client, world, role="agent", title="Greeting", language="zh",
                          scope="personal")).status_code == 201
    with_team = await _create(client, world, role="agent", title="T", scope="personal",
                              team_id=str(world.en_team.id))
    assert with_team.status_code == 422
    assert (await _create(client, world, title="T", scope="team")).status_code == 422
    assert (await _create(client, world, role="agent", title="T")).status_code == 403
    assert (await _create(client, world, role="customer_a", title="T",
                          scope="personal")).status_code == 404
    assert (await _create(client, world, role="anonymous", title="T",
                          scope="personal")).status_code == 401

    # The list the reply picker reads (``?language=``): shared macros and one's own, never
    # another agent's, a supervisor's or an admin's view included.
    async def picker(role: str, **params: str) -> set[str]:
        return _ids(await client.get(f"{API}/macros", headers=h[role],
                                     params={"language": "en", **params}))

    assert await picker("agent") == {shared["id"], mine_id}
    assert await picker("other_agent") == {shared["id"], theirs_id}
    assert await picker("supervisor") == {shared["id"], sup_id}
    assert await picker("admin") == {shared["id"]}
    assert await picker("agent", scope="personal") == {mine_id}
    assert await picker("agent", scope="global") == {shared["id"]}
    assert await picker("agent", scope="team") == set()
    assert await picker("agent", owner_agent_id=str(world.agent.id)) == {mine_id}
    # Off-boarding: an admin lists (and may delete) another agent's personal macros.
    assert await picker("admin", owner_agent_id=str(world.agent.id)) == {mine_id}
    for role in ("supervisor", "other_agent"):
        refused = await client.get(f"{API}/macros", headers=h[role],
                                   params={"owner_agent_id": str(world.agent.id)})
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "admin_required"
    assert (await client.get(f"{API}/macros", headers=h["customer_a"],
                             params={"scope": "personal"})).status_code == 404
    assert (await client.get(f"{API}/macros", params={"scope": "personal"})).status_code == 401

    # Rendering: the owner only.
    number = (await client.post(f"{API}/tickets", headers=h["customer_a"], json={
        "subject": "Hello", "body": "Hi there"})).json()["number"]
    rendered = await client.post(f"{API}/macros/{mine_id}/render", headers=h["agent"],
                                 params={"ticket": number})
    assert rendered.status_code == 200, rendered.text
    assert rendered.json()["text"] == "Hi Alice, agent here."
    for role in ("supervisor", "admin"):
        assert (await client.post(f"{API}/macros/{mine_id}/render", headers=h[role],
                                  params={"ticket": number})).status_code == 404

    # Editing: the owner only, and it stays personal.
    url = f"{API}/macros/{mine_id}"
    edited = await client.patch(url, headers=h["agent"], json={"body": "Hello {customer.name}"})
    assert edited.status_code == 200, edited.text
    assert edited.json()["scope"] == "personal"
    assert edited.json()["body"] == "Hello {customer.name}"
    assert (await client.patch(url, headers=h["agent"], json={
        "team_id": str(world.en_team.id)})).json()["error"]["code"] == "personal_macro_team"
    assert (await client.patch(url, headers=h["agent"], json={
        "body": "{customer.nme}"})).json()["error"]["code"] == "unknown_variables"
    assert (await client.patch(url, headers=h["agent"], json={
        "language": "zh"})).status_code == 409
    other_edit = await client.patch(url, headers=h["other_agent"], json={"title": "Mine now"})
    assert other_edit.status_code == 403  # as for any id an agent may not change
    assert other_edit.json()["error"]["code"] == "supervisor_required"
    assert (await client.patch(url, headers=h["supervisor"], json={"title": "X"})
            ).status_code == 404
    admin_edit = await client.patch(url, headers=h["admin"], json={"title": "X"})
    assert admin_edit.status_code == 403
    assert admin_edit.json()["error"]["code"] == "macro_owner_only"
    assert (await client.patch(url, headers=h["customer_a"], json={"title": "X"})
            ).status_code == 404
    assert (await client.patch(url, json={"title": "X"})).status_code == 401
    # An agent still cannot change a shared macro, even one they use.
    assert (await client.patch(f"{API}/macros/{shared['id']}", headers=h["agent"],
                               json={"title": "X"})).status_code == 403

    # Deleting: the owner, or an admin; nobody else.
    assert (await client.delete(url, headers=h["other_agent"])).status_code == 403
    assert (await client.delete(url, headers=h["supervisor"])).status_code == 404
    assert (await client.delete(url, headers=h["customer_a"])).status_code == 404
    assert (await client.delete(url)).status_code == 401
    assert (await client.delete(url, headers=h["agent"])).status_code == 204
    assert (await client.delete(url, headers=h["agent"])).status_code == 403
    offboarded = await client.delete(f"{API}/macros/{theirs_id}", headers=h["admin"])
    assert offboarded.status_code == 204
    assert await picker("other_agent") == {shared["id"]}
    assert await picker("supervisor") == {shared["id"], sup_id}
    audit = (await client.get(f"{API}/admin/audit", headers=h["admin"])).json()["items"]
    deleted = [e for e in audit if e["action"] == "macro.deleted"]
    assert {e["target_id"] for e in deleted} == {mine_id, theirs_id}


async def test_a_deactivated_agents_personal_macros_stay_theirs(
    app: FastAPI, client: httpx.AsyncClient
):
    world = await make_world(app)
    h = world.headers
    mine = (await _create(client, world, role="agent", title="Mine", scope="personal")).json()
    gone = await client.patch(f"{API}/agents/{world.agent.id}", headers=h["admin"],
                              json={"is_active": False})
    assert gone.status_code == 200, gone.text
    for role in ("other_agent", "supervisor", "admin"):
        assert mine["id"] not in _ids(await client.get(f"{API}/macros", headers=h[role]))
    assert _ids(await client.get(f"{API}/macros", headers=h["admin"], params={
        "owner_agent_id": str(world.agent.id)})) == {mine["id"]}


async def test_the_database_holds_the_scope_rules(app: FastAPI):
    """Titles are unique per scope (a partial index for the shared macros), a personal macro
    has no team, and seeding the defaults ignores personal macros of the same title."""
    world = await make_world(app)
    default = macros.DEFAULT_MACROS[0]
    async with app.state.db.transaction() as session:
        for owner in (world.agent.id, world.other_agent.id):
            session.add(Macro(title=default.title, language=default.language, body="mine",
                              owner_agent_id=owner))
        await session.flush()
        assert await macros.seed_default_macros(session) == len(macros.DEFAULT_MACROS)
    for duplicate in (
        Macro(title=default.title, language=default.language, body="again"),
        Macro(title=default.title, language=default.language, body="again",
              team_id=world.en_team.id),
        Macro(title=default.title, language=default.language, body="again",
              owner_agent_id=world.agent.id),
        Macro(title="Personal with a team", language="en", body="x",
              owner_agent_id=world.agent.id, team_id=world.en_team.id),
    ):
        with pytest.raises(IntegrityError):
            async with app.state.db.transaction() as session:
                session.add(duplicate)
