"""Kefu Verify: the admin-managed registry, the public check (API and page) and agent ids."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from kefu.accounts.models import Agent, AuditEntry
from kefu.core.ids import new_id
from kefu.demo.seed import OFFICIAL_CHANNELS
from kefu.guard import lookalike
from kefu.trust.verify import (
    add_missing_channels,
    agent_public_id,
    guess_kinds,
    normalize_channel,
)
from kefu.web import i18n
from tests.trust.conftest import Desk

API = "/api/v1"
REGISTRY = [
    ("domain", "https://DemoEx.example/", "Website"),
    ("email", "Support@DemoEx.example", "Support email"),
    ("telegram", "@DemoExSupport", "Telegram support"),
    ("x", "https://x.com/DemoExSupport", "X account"),
    ("phone", "+44 20 7946 0000", "Support line"),
]


@pytest.mark.parametrize(("kind", "raw", "stored"), [
    ("domain", "https://Www.DemoEx.example/login?x=1", "www.demoex.example"),
    ("domain", "demoex.example.", "demoex.example"),
    ("email", "Support@DemoEx.EXAMPLE", "support@demoex.example"),
    ("phone", "0044 (20) 7946-0000", "+442079460000"),
    ("telegram", "https://t.me/DemoExSupport", "demoexsupport"),
    ("x", "@DemoEx_HQ", "demoex_hq"),
    ("agent_id", "#3F9A1C2E", "3f9a1c2e"),
])
def test_registry_values_are_normalized(kind: str, raw: str, stored: str) -> None:
    assert normalize_channel(kind, raw) == stored


@pytest.mark.parametrize(("kind", "raw", "problem"), [
    ("domain", "com", "one owner"),
    ("domain", "github.io", "one owner"),
    ("email", "no-at-sign.example", "not an email"),
    ("telegram", "@abc", "Telegram handle"),  # Telegram handles have 5 characters at least
    ("x", "@this_is_far_too_long_for_x", "X handle"),
    ("phone", "call us", "not a phone number"),
    ("agent_id", "a b", "agent id"),
    ("fax", "123", "unknown kind"),
    ("domain", "   ", "empty"),
])
def test_registry_refuses_what_cannot_be_a_channel(kind: str, raw: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        normalize_channel(kind, raw)


@pytest.mark.parametrize(("value", "kinds"), [
    ("support@demoex.example", ("email",)),
    ("https://t.me/DemoExSupport", ("telegram",)),
    ("x.com/DemoExSupport", ("x",)),
    ("@DemoExSupport", ("telegram", "x")),
    ("DemoExSupport", ("telegram", "x")),
    ("+44 20 7946 0000", ("phone",)),
    ("#3f9a1c2e", ("agent_id",)),
    ("dem0ex.example/login", ("url",)),
])
def test_page_guesses_what_a_value_is(value: str, kinds: tuple[str, ...]) -> None:
    assert guess_kinds(value) == kinds


async def fill_registry(client: httpx.AsyncClient, desk: Desk) -> None:
    for kind, value, label in REGISTRY:
        response = await client.put(f"{API}/trust/channels", headers=desk.headers["admin"],
                                    json={"kind": kind, "value": value, "label": label})
        assert response.status_code == 200, response.text


async def verdict(client: httpx.AsyncClient, kind: str, value: str) -> dict[str, str]:
    response = await client.get(f"{API}/verify", params={"kind": kind, "value": value})
    assert response.status_code == 200, response.text
    return dict(response.json())


VERDICTS = [  # (kind, value, verdict, what it is or resembles)
    ("url", "https://help.demoex.example/faq", "official", "demoex.example"),
    ("url", "https://demoex.example@evil.example/", "suspicious", "demoex.example"),
    ("domain", "dеmoex.example", "suspicious", "demoex.example"),  # Cyrillic е
    ("domain", "demoex-support.com", "suspicious", "demoex.example"),
    ("domain", "example.org", "unknown", None),
    ("email", "support@demoex.example", "official", "support@demoex.example"),
    ("email", "refunds@demoex.example", "official", "demoex.example"),
    ("email", "support@dem0ex.example", "suspicious", "support@demoex.example"),
    ("telegram", "@DemoExSupport", "official", "@demoexsupport"),
    ("telegram", "@DemoEx_Supp0rt", "suspicious", "@demoexsupport"),
    ("x", "DemoExSupport", "official", "@demoexsupport"),
    ("phone", "020 7946 0000", "official", "+442079460000"),
    ("phone", "+44 20 7946 0001", "suspicious", "+442079460000"),
]


async def test_verify_answers_from_the_registry(client: httpx.AsyncClient, desk: Desk) -> None:
    await fill_registry(client, desk)
    wrong = []
    for kind, value, expected, matched in VERDICTS:
        answer = await verdict(client, kind, value)
        if (answer["verdict"], answer["matched"]) != (expected, matched) or not answer["reason"]:
            wrong.append(f"{kind} {value}: {answer}")
    assert wrong == []


def test_agents_added_together_have_public_ids_nobody_can_guess() -> None:
    """Ids begin with the time they were made (UUIDv7): a public id taken from there would be
    the same for agents added in the same minute, and guessable by anyone."""
    made = [new_id() for _ in range(200)]  # 32 random bits each: a chance collision ~5e-6
    public = [agent_public_id(agent_id) for agent_id in made]
    assert len(set(public)) == len(made)
    assert len({agent_id.hex[:8] for agent_id in made}) < 3  # what the first digits would give


async def test_agent_ids_are_official_while_the_agent_is_active(
    app: FastAPI, client: httpx.AsyncClient, desk: Desk
) -> None:
    public_id = agent_public_id(desk.agent.id)
    assert public_id == desk.agent.id.hex[-8:]
    official = await verdict(client, "agent_id", public_id.upper())
    assert (official["verdict"], official["matched"], official["label"]) == (
        "official", public_id, "agent")
    typo = public_id[:-1] + ("0" if public_id[-1] != "0" else "1")
    assert (await verdict(client, "agent_id", typo))["verdict"] == "suspicious"
    assert (await verdict(client, "agent_id", "zzzz9999"))["verdict"] == "unknown"

    async with app.state.db.transaction() as session:
        agent = await session.get(Agent, desk.agent.id)
        assert agent is not None
        agent.is_active = False
    assert (await verdict(client, "agent_id", public_id))["verdict"] != "official"

    response = await client.put(f"{API}/trust/channels", headers=desk.headers["admin"], json={
        "kind": "agent_id", "value": "am-lina", "label": "Account manager Lina"})
    assert response.status_code == 200
    manager = await verdict(client, "agent_id", "AM-Lina")
    assert (manager["verdict"], manager["label"]) == ("official", "Account manager Lina")


async def test_registry_crud_is_audited_and_inactive_channels_do_not_count(
    app: FastAPI, client: httpx.AsyncClient, desk: Desk
) -> None:
    admin = desk.headers["admin"]
    await fill_registry(client, desk)
    listed = (await client.get(f"{API}/trust/channels", headers=admin)).json()["items"]
    assert {(c["kind"], c["value"]) for c in listed} == {
        ("domain", "demoex.example"), ("email", "support@demoex.example"),
        ("telegram", "demoexsupport"), ("x", "demoexsupport"), ("phone", "+442079460000")}
    only_phones = await client.get(f"{API}/trust/channels", headers=admin,
                                   params={"kind": "phone"})
    assert [c["value"] for c in only_phones.json()["items"]] == ["+442079460000"]

    again = await client.put(f"{API}/trust/channels", headers=admin, json={
        "kind": "telegram", "value": "t.me/demoexsupport", "label": "Old", "active": False})
    assert again.status_code == 200
    assert again.json()["id"] == next(c["id"] for c in listed if c["kind"] == "telegram")
    assert (await verdict(client, "telegram", "@DemoExSupport"))["verdict"] == "unknown"

    removed = await client.delete(f"{API}/trust/channels", headers=admin,
                                  params={"kind": "phone", "value": "+44 20 7946 0000"})
    assert removed.status_code == 204
    assert (await verdict(client, "phone", "+44 20 7946 0000"))["verdict"] == "unknown"
    missing = await client.delete(f"{API}/trust/channels", headers=admin,
                                  params={"kind": "phone", "value": "+44 20 7946 0000"})
    assert missing.status_code == 404

    bad = await client.put(f"{API}/trust/channels", headers=admin,
                           json={"kind": "domain", "value": "co.uk"})
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "invalid_channel"

    async with app.state.db.transaction() as session:
        actions = list(await session.scalars(select(AuditEntry.action).where(
            AuditEntry.action.like("trust.channel_%"), AuditEntry.actor_agent_id == desk.admin.id)))
    assert actions.count("trust.channel_added") == len(REGISTRY)
    assert "trust.channel_updated" in actions
    assert "trust.channel_removed" in actions


async def test_verify_refuses_values_that_cannot_be_of_the_kind(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{API}/verify", params={"kind": "phone", "value": "hello"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_value"
    unknown_kind = await client.get(f"{API}/verify", params={"kind": "fax", "value": "1"})
    assert unknown_kind.status_code == 422


async def test_verify_page_shows_each_verdict_in_both_languages(
    client: httpx.AsyncClient, desk: Desk
) -> None:
    await fill_registry(client, desk)
    empty = await client.get("/verify")
    assert empty.status_code == 200
    assert 'name="value"' in empty.text
    assert "data-verdict" not in empty.text

    official = await client.get("/verify", params={"value": "https://www.demoex.example/"})
    assert 'data-verdict="official"' in official.text
    assert "alert-ok" in official.text

    fake = await client.get("/verify", params={"value": "@DemoEx_Supp0rt", "lang": "zh-CN"})
    assert 'data-verdict="suspicious"' in fake.text
    assert "可疑：疑似仿冒 @demoexsupport" in fake.text
    assert "看起来像 @demoexsupport，但用了形似的字符或分隔符。" in fake.text  # why, translated
    assert "look-alike" not in fake.text
    assert "alert-error" in fake.text

    stranger = await client.get("/verify", params={"kind": "email",
                                                   "value": "help@example.org", "lang": "en"})
    assert 'data-verdict="unknown"' in stranger.text
    assert "Not an official channel" in stranger.text
    assert "Not in the registry of official channels." in stranger.text

    broken = await client.get("/verify", params={"kind": "phone", "value": "call me"})
    assert broken.status_code == 422
    assert "not a phone number" in broken.text
    chinese = await client.get("/verify", params={"kind": "email", "value": "abc",
                                                  "lang": "zh-CN"})
    assert chinese.status_code == 422
    assert "无法按此类型核验该值" in chinese.text
    assert "not an email address" not in chinese.text  # no English detail on a Chinese page


@pytest.mark.parametrize("value", [
    "https://evil.com/@demoex.example", "https://evil.com\\@demoex.example",
    "evil.com\\@demoex.example", "https://demoex.example@evil.com/",
    "demoex.example@evil.com/login",
])
async def test_a_link_dressed_as_an_official_address_is_never_official(
        client: httpx.AsyncClient, desk: Desk, value: str) -> None:
    """An "@" in a link does not make it an email address: these open evil.com (or hide it
    behind the official name as userinfo). The page's "anything" choice checked them as email
    addresses at demoex.example and said official."""
    await fill_registry(client, desk)
    assert guess_kinds(value) == ("url",)
    page = await client.get("/verify", params={"value": value, "lang": "zh-CN"})
    assert page.status_code == 200, page.text[-500:]
    assert 'data-verdict="suspicious"' in page.text


def test_the_pages_reasons_say_what_the_api_says_in_english() -> None:
    english = i18n.catalogue()["en"]
    assert {code: english[f"trust.verify.reason.{code}"] for code in lookalike.REASONS} \
        == lookalike.REASONS


async def test_verify_page_is_rate_limited_per_address(client: httpx.AsyncClient) -> None:
    for _ in range(30):
        assert (await client.get("/verify", params={"value": "example.org"})).status_code == 200
    refused = await client.get("/verify", params={"value": "example.org"})
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert 'data-verdict="rate_limited"' in refused.text
    assert (await client.get("/verify")).status_code == 200  # the empty form is not counted


async def test_demo_registry_is_seeded_once_and_answers_official(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    async with app.state.db.transaction() as session:
        assert await add_missing_channels(session, None, OFFICIAL_CHANNELS) == 5
        assert await add_missing_channels(session, None, OFFICIAL_CHANNELS) == 0
    for kind, value, _ in OFFICIAL_CHANNELS:
        assert (await verdict(client, kind, value))["verdict"] == "official", (kind, value)
