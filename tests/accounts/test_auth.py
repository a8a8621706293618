"""Agent sign-in (password, TOTP, sessions, CSRF), API tokens, customer JWTs, visitors."""

from __future__ import annotations

from datetime import UTC, datetime

import jwt
import pyotp
import pytest
from argon2 import PasswordHasher, Type
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import select

from kefu.accounts import security
from kefu.accounts.models import Agent, AgentSession, ApiToken
from kefu.core import clock
from tests.conftest import PRODUCTION_HASHER
from tests.factories import PASSWORD, bearer, customer_token, login, make_agent, make_world


@pytest.fixture(autouse=True)
def _restore_clock():
    yield
    clock.set_clock(None)


async def test_password_login_sets_secure_cookie_and_stores_only_hashes(
    app: FastAPI, client: AsyncClient
):
    await make_agent(app, "Ann@Kefu.test")
    response = await client.post("/api/v1/auth/login",
                                 json={"email": "ann@kefu.test", "password": PASSWORD})
    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    assert "kefu_session=" in cookie
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    raw = client.cookies["kefu_session"]
    async with app.state.db.transaction() as session:
        stored = list(await session.scalars(select(AgentSession.token_hash)))
    assert raw not in stored
    assert len(stored[0]) == 64
    me = await client.get("/api/v1/auth/me")
    assert me.json()["agent"]["email"] == "ann@kefu.test"

    wrong = await client.post("/api/v1/auth/login",
                              json={"email": "ann@kefu.test", "password": "nope-nope-nope"})
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "invalid_credentials"
    unknown = await client.post("/api/v1/auth/login",
                                json={"email": "nobody@kefu.test", "password": PASSWORD})
    assert unknown.json()["error"]["code"] == "invalid_credentials"

    logout = await client.post("/api/v1/auth/logout",
                               headers={"X-CSRF-Token": response.json()["csrf_token"]})
    assert logout.status_code == 204
    client.cookies.set("kefu_session", raw)
    assert (await client.get("/api/v1/auth/me")).json()["kind"] == "anonymous"


def test_production_password_hashes_are_argon2id_at_a_real_cost():
    """The suite hashes cheaply (tests/conftest.py); what Kefu ships does not: argon2id with at
    least OWASP's floor (19 MiB, two passes)."""
    assert PRODUCTION_HASHER.type is Type.ID
    assert PRODUCTION_HASHER.memory_cost >= 19 * 1024
    assert PRODUCTION_HASHER.time_cost >= 2
    stored = PRODUCTION_HASHER.hash(PASSWORD)
    assert stored.startswith("$argon2id$")
    assert PRODUCTION_HASHER.verify(stored, PASSWORD)


async def test_a_hash_weaker_than_the_current_parameters_is_replaced_at_login(
    app: FastAPI, client: AsyncClient
):
    agent = await make_agent(app, "old@kefu.test")
    weaker = PasswordHasher(time_cost=1, memory_cost=512, parallelism=1).hash(PASSWORD)
    assert security.password_needs_rehash(weaker)
    async with app.state.db.transaction() as session:
        (await session.get_one(Agent, agent.id)).password_hash = weaker
    await login(client, "old@kefu.test")
    async with app.state.db.transaction() as session:
        stored = (await session.get_one(Agent, agent.id)).password_hash
    assert stored != weaker
    assert not security.password_needs_rehash(stored)
    assert security.verify_password(stored, PASSWORD)


async def test_repeated_failures_lock_the_account(app: FastAPI, client: AsyncClient):
    await make_agent(app, "bob@kefu.test")
    for _ in range(app.state.settings.login_max_failures):
        await client.post("/api/v1/auth/login",
                          json={"email": "bob@kefu.test", "password": "wrong-password"})
    locked = await client.post("/api/v1/auth/login",
                               json={"email": "bob@kefu.test", "password": PASSWORD})
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "account_locked"


async def test_csrf_required_for_cookie_sessions(app: FastAPI, client: AsyncClient):
    world = await make_world(app)
    csrf = await login(client, "agent@kefu.test")
    number = (await client.post("/api/v1/tickets", headers=world.headers["customer_a"],
                                json={"subject": "s", "body": "b"})).json()["number"]
    url = f"/api/v1/tickets/{number}/notes"
    # The cookie alone is not enough for an unsafe request.
    without = await client.post(url, json={"body": "note"})
    assert without.status_code == 403
    assert without.json()["error"]["code"] == "csrf_failed"
    wrong = await client.post(url, json={"body": "note"}, headers={"X-CSRF-Token": "x" * 64})
    assert wrong.status_code == 403
    ok = await client.post(url, json={"body": "note"}, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 201


async def test_totp_second_step_and_no_replay(app: FastAPI, client: AsyncClient):
    # The clock is held in the middle of one 30-second step, so that the replay below is
    # always within the step the code was used in (a real clock crosses a step boundary
    # between two requests now and then).
    step_start = int(datetime.now(UTC).timestamp()) // 30 * 30
    now = step_start + 10
    clock.set_clock(lambda: datetime.fromtimestamp(now, tz=UTC))
    await make_agent(app, "tess@kefu.test")
    csrf = await login(client, "tess@kefu.test")
    headers = {"X-CSRF-Token": csrf}
    setup = (await client.post("/api/v1/auth/2fa/setup", headers=headers)).json()
    assert setup["otpauth_uri"].startswith("otpauth://totp/")
    totp = pyotp.TOTP(setup["secret"])
    bad = await client.post("/api/v1/auth/2fa/enable", headers=headers, json={"code": "000000"})
    assert bad.status_code == 401
    enabled = await client.post("/api/v1/auth/2fa/enable", headers=headers,
                                json={"code": totp.at(now)})
    assert enabled.status_code == 204

    client.cookies.clear()
    step = await client.post("/api/v1/auth/login",
                             json={"email": "tess@kefu.test", "password": PASSWORD})
    assert step.json()["mfa_required"] is True
    csrf = step.json()["csrf_token"]
    # Password alone gives no access.
    assert (await client.get("/api/v1/tickets")).status_code == 401
    # The code used to enable 2FA cannot be replayed (same time step).
    replay = await client.post("/api/v1/auth/2fa/verify", headers={"X-CSRF-Token": csrf},
                               json={"code": totp.at(now)})
    assert replay.status_code == 401
    later = now + 30
    clock.set_clock(lambda: datetime.fromtimestamp(later, tz=UTC))
    verified = await client.post("/api/v1/auth/2fa/verify", headers={"X-CSRF-Token": csrf},
                                 json={"code": totp.at(later)})
    assert verified.status_code == 200, verified.text
    assert (await client.get("/api/v1/tickets")).status_code == 200


async def test_admin_policy_enforces_2fa_enrolment(app: FastAPI, client: AsyncClient):
    world = await make_world(app)
    put = await client.put("/api/v1/admin/policy", headers=world.headers["admin"],
                           json={"require_agent_2fa": True})
    assert put.status_code == 200
    csrf = await login(client, "agent@kefu.test")
    blocked = await client.get("/api/v1/tickets")
    assert blocked.status_code == 403
    assert blocked.json()["error"]["code"] == "2fa_enrollment_required"
    me = (await client.get("/api/v1/auth/me")).json()
    assert me["must_enroll_2fa"] is True
    setup = await client.post("/api/v1/auth/2fa/setup", headers={"X-CSRF-Token": csrf})
    code = pyotp.TOTP(setup.json()["secret"]).now()
    await client.post("/api/v1/auth/2fa/enable", headers={"X-CSRF-Token": csrf},
                      json={"code": code})
    assert (await client.get("/api/v1/tickets")).status_code == 200
    agent_put = await client.put("/api/v1/admin/policy", headers=world.headers["agent"],
                                 json={"require_agent_2fa": False})
    assert agent_put.status_code == 403


async def test_api_tokens_are_hashed_and_revocable(app: FastAPI, client: AsyncClient):
    await make_agent(app, "tom@kefu.test")
    csrf = await login(client, "tom@kefu.test")
    created = await client.post("/api/v1/auth/tokens", headers={"X-CSRF-Token": csrf},
                                json={"name": "zapier"})
    assert created.status_code == 201
    raw = created.json()["token"]
    assert raw.startswith("kefu_pat_")
    async with app.state.db.transaction() as session:
        hashes = list(await session.scalars(select(ApiToken.token_hash)))
    assert raw not in hashes
    fresh = AsyncClient(transport=client._transport, base_url="http://kefu.test")
    async with fresh:
        assert (await fresh.get("/api/v1/tickets", headers=bearer(raw))).status_code == 200
        listed = (await client.get("/api/v1/auth/tokens")).json()["items"]
        assert "token" not in listed[0]
        revoke = await client.delete(f"/api/v1/auth/tokens/{created.json()['id']}",
                                     headers={"X-CSRF-Token": csrf})
        assert revoke.status_code == 204
        after = await fresh.get("/api/v1/tickets", headers=bearer(raw))
        assert after.status_code == 401


async def test_customer_jwt_rules(app: FastAPI, client: AsyncClient):
    settings = app.state.settings
    secret = settings.customer_jwt_secret.get_secret_value()
    now = int(clock.now().timestamp())
    ok = customer_token(settings, "cust-9", name="Li Wei", lang="zh", vip=3)
    me = (await client.get("/api/v1/customers/me", headers=bearer(ok))).json()
    assert (me["external_id"], me["display_name"], me["language"], me["vip_tier"]) == (
        "cust-9", "Li Wei", "zh", 3)

    def token(claims: dict[str, object], key: str = secret, alg: str = "HS256") -> str:
        return jwt.encode(claims, key, algorithm=alg)

    cases = {
        "wrong secret": token({"sub": "x", "iat": now, "exp": now + 60}, key="other" * 8),
        "no exp": token({"sub": "x", "iat": now}),
        "no iat": token({"sub": "x", "exp": now + 60}),
        "too long-lived": token({"sub": "x", "iat": now, "exp": now + 30 * 86400}),
        "from the future": token({"sub": "x", "iat": now + 3600, "exp": now + 3700}),
        "alg none": jwt.encode({"sub": "x", "iat": now, "exp": now + 60}, None, algorithm="none"),
        "bad vip": token({"sub": "x", "iat": now, "exp": now + 60, "vip": 99}),
        "not a jwt": "hello",
    }
    for name, bad in cases.items():
        response = await client.get("/api/v1/tickets", headers=bearer(bad))
        assert response.status_code == 401, name
        assert response.json()["error"]["code"], name
    basic = await client.get("/api/v1/tickets", headers={"Authorization": "Basic abc"})
    assert basic.status_code == 401


async def test_visitor_gets_one_pre_login_conversation(app: FastAPI, client: AsyncClient):
    visitor = (await client.post("/api/v1/visitors")).json()
    headers = {"X-Kefu-Visitor": visitor["token"]}
    first = await client.post("/api/v1/tickets", headers=headers,
                              json={"subject": "Can't log in", "body": "I lost my phone"})
    assert first.status_code == 201
    assert first.json()["channel"] == "chat"
    second = await client.post("/api/v1/tickets", headers=headers,
                               json={"subject": "Another", "body": "question"})
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "visitor_limit"
    number = first.json()["number"]
    assert (await client.get(f"/api/v1/tickets/{number}", headers=headers)).status_code == 200
    forged = {"X-Kefu-Visitor": visitor["visitor_id"] + ".0000"}
    assert (await client.get(f"/api/v1/tickets/{number}", headers=forged)).status_code == 401
    other = (await client.post("/api/v1/visitors")).json()
    assert (await client.get(f"/api/v1/tickets/{number}",
                             headers={"X-Kefu-Visitor": other["token"]})).status_code == 404


async def test_2fa_policy_also_stops_api_tokens_of_agents_without_2fa(
    app: FastAPI, client: AsyncClient
):
    world = await make_world(app)
    assert (await client.get("/api/v1/tickets", headers=world.headers["agent"])).status_code == 200
    await client.put("/api/v1/admin/policy", headers=world.headers["admin"],
                     json={"require_agent_2fa": True})
    blocked = await client.get("/api/v1/tickets", headers=world.headers["agent"])
    assert blocked.status_code == 403
    assert blocked.json()["error"]["code"] == "2fa_enrollment_required"
    unauthenticated = await client.get("/api/v1/tickets")
    assert unauthenticated.headers["www-authenticate"] == "Bearer"


async def test_a_new_password_or_a_deactivation_ends_every_session_and_token(
        app: FastAPI, client: AsyncClient):
    """What an admin does about a stolen agent account (deactivate, set a new password,
    reactivate) must leave the thief nothing: the old sessions and API tokens stay revoked."""
    world = await make_world(app)
    admin = world.headers["admin"]
    csrf = await login(client, "agent@kefu.test")
    token = (await client.post("/api/v1/auth/tokens", headers={"X-CSRF-Token": csrf},
                               json={"name": "stolen"})).json()["token"]
    agent_id = str(world.agent.id)
    thief = AsyncClient(transport=client._transport, base_url="http://kefu.test")
    async with thief:
        async def still_in() -> tuple[str, int]:
            me = (await client.get("/api/v1/auth/me")).json()["kind"]
            return me, (await thief.get("/api/v1/tickets", headers=bearer(token))).status_code

        assert await still_in() == ("agent", 200)
        off = await client.patch(f"/api/v1/agents/{agent_id}", headers=admin,
                                 json={"is_active": False})
        assert off.status_code == 200, off.text
        on = await client.patch(f"/api/v1/agents/{agent_id}", headers=admin,
                                json={"is_active": True})
        assert on.status_code == 200
        assert await still_in() == ("anonymous", 401)  # reactivating brought nothing back

        csrf = await login(client, "agent@kefu.test")
        token = (await client.post("/api/v1/auth/tokens", headers={"X-CSRF-Token": csrf},
                                   json={"name": "again"})).json()["token"]
        assert await still_in() == ("agent", 200)
        reset = await client.patch(f"/api/v1/agents/{agent_id}", headers=admin,
                                   json={"password": "a brand new passphrase"})
        assert reset.status_code == 200
        assert await still_in() == ("anonymous", 401)
    # An admin cannot lock themselves out.
    own = await client.patch(f"/api/v1/agents/{world.admin.id}", headers=admin,
                             json={"is_active": False})
    assert own.status_code == 409
    assert own.json()["error"]["code"] == "own_account"


async def test_passwords_are_taken_as_typed_and_agent_languages_are_tags(
        app: FastAPI, client: AsyncClient):
    world = await make_world(app)
    admin = world.headers["admin"]
    spaced = "  a spaced passphrase "
    created = await client.post("/api/v1/agents", headers=admin, json={
        "email": "spaces@kefu.example.com", "password": spaced, "display_name": "Spaces",
        "languages": ["zh", "pt-BR"], "skills": ["p2p"]})
    assert created.status_code == 201, created.text
    assert (await client.post("/api/v1/auth/login", json={
        "email": "spaces@kefu.example.com", "password": spaced.strip()})).status_code == 401
    assert (await client.post("/api/v1/auth/login", json={
        "email": "spaces@kefu.example.com", "password": spaced})).status_code == 200
    short = await client.post("/api/v1/agents", headers=admin, json={
        "email": "short@kefu.example.com", "password": "          a", "display_name": "Short"})
    assert short.status_code == 201  # eleven characters as typed
    for body in ({"languages": ["x" * 5000]}, {"languages": [""]}, {"languages": ["中文"]},
                 {"skills": ["s" * 4000]}, {"skills": [""]}):
        refused = await client.patch(f"/api/v1/agents/{created.json()['id']}", headers=admin,
                                     json=body)
        assert refused.status_code == 422, body
        assert refused.json()["error"]["code"]
