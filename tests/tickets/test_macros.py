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
