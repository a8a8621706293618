"""Step-up identity verification: links, the customer's pages, the demo exchange, the signed
callback (valid, invalid, replayed, expired, …) and the HTTP adapter's half of the protocol."""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from kefu.accounts.models import AuditEntry
from kefu.config import Settings
from kefu.core import clock
from kefu.exchange import callbacks
from kefu.exchange.base import CustomerNotFound, ExchangeUnavailable
from kefu.exchange.http import HttpExchangeAdapter
from kefu.exchange.schemas import IdentityCheckRequest
from kefu.trust.models import IdentityCheck
from kefu.trust.stepup import callback_secret
from tests.trust.conftest import Desk, open_ticket

CALLBACK = "/api/v1/trust/stepup/callback"
SECRET = "exchange-shared-secret-for-tests"


# ---------------------------------------------------------------- signatures


def test_signatures_bind_body_secret_and_time() -> None:
    body = b'{"reference": "x"}'
    header = callbacks.sign(SECRET, body, timestamp=1_700_000_000)
    callbacks.verify(SECRET, body, header, now=1_700_000_100)
    for problem, args in (
        ("does not match", (SECRET, body + b" ", header)),
        ("does not match", ("another-secret", body, header)),
        ("too old", (SECRET, body, header)),
        ("missing", (SECRET, body, None)),
        ("malformed", (SECRET, body, "v1=abc")),
        ("malformed", (SECRET, body, "t=soon,v1=abc")),
    ):
        now = 1_700_000_000 + (301 if problem == "too old" else 0)
        with pytest.raises(callbacks.BadSignature, match=problem):
            callbacks.verify(*args, now=now)


def test_any_of_several_signatures_may_match_during_a_secret_rotation() -> None:
    body = b"{}"
    old = callbacks.sign("old-secret", body, timestamp=100).split("v1=")[1]
    new = callbacks.sign(SECRET, body, timestamp=100).split("v1=")[1]
    callbacks.verify(SECRET, body, f"t=100,v1={old},v1={new}", now=100)


def test_callback_secret_comes_from_settings() -> None:
    assert callback_secret(Settings(env="test", exchange_callback_secret=SECRET)) == SECRET
    demo = callback_secret(Settings(env="test"))
    assert demo
    assert demo != Settings(env="test").secret_key.get_secret_value()
    real = Settings(env="test", exchange_adapter="http", exchange_base_url="https://bo.example",
                    exchange_api_key="k")
    assert callback_secret(real) is None


# ---------------------------------------------------------------- links and pages


async def new_link(client: httpx.AsyncClient, desk: Desk, number: str,
                   purpose: str = "2fa_reset", who: str = "supervisor") -> dict[str, Any]:
    response = await client.post(f"/api/v1/tickets/{number}/step-up",
                                 headers=desk.headers[who], json={"purpose": purpose})
    assert response.status_code == 201, response.text
    return dict(response.json())


def local(url: str) -> str:
    return url.removeprefix("http://kefu.test")


async def events(client: httpx.AsyncClient, desk: Desk, number: str) -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1/tickets/{number}/events",
                                headers=desk.headers["supervisor"])
    return list(response.json()["items"])


async def test_demo_flow_verifies_once_and_the_ticket_shows_it(
    app: FastAPI, client: httpx.AsyncClient, desk: Desk
) -> None:
    number = await open_ticket(client, desk.customer(app, "cust-2fa", lang="zh-CN"),
                               subject="谷歌验证器丢失", body="我的手机丢了，无法登录账户。")
    link = await new_link(client, desk, number)
    token = link["url"].rsplit("/", 1)[1]
    assert link["url"] in link["text"]
    assert "二次验证" in link["text"]  # the ticket's language
    async with app.state.db.transaction() as session:
        stored = await session.scalar(select(IdentityCheck))
        assert stored is not None
        assert token not in repr([getattr(stored, c.key) for c in IdentityCheck.__table__.c])
        assert stored.expires_at - stored.created_at == pytest.approx(
            timedelta(minutes=15), abs=timedelta(seconds=5))

    opened = await client.get(local(link["url"]))
    assert opened.status_code == 200
    assert 'data-state="pending"' in opened.text
    assert opened.headers["Referrer-Policy"] == "no-referrer"
    assert (await client.get(local(link["url"]))).status_code == 200  # a preview changes nothing

    to_exchange = await client.post(local(link["url"]))
    assert to_exchange.status_code == 303
    sign_in = await client.get(local(to_exchange.headers["location"]))
    assert sign_in.status_code == 200
    reference = re.search(r'name="reference" value="([^"]+)"', sign_in.text)
    assert reference is not None
    approved = await client.post("/verify/identity/demo-exchange", data={
        "reference": reference.group(1), "decision": "verified"})
    assert approved.status_code == 200
    assert "alert-ok" in approved.text

    done = await client.get(local(link["url"]))
    assert 'data-state="verified"' in done.text
    again = await client.post(local(link["url"]))
    assert again.status_code == 409
    kinds = [e["kind"] for e in await events(client, desk, number)]
    assert kinds[-2:] == ["step_up_sent", "identity_verified"]
    verified = (await events(client, desk, number))[-1]["data"]
    assert verified["purpose"] == "2fa_reset"
    assert verified["method"] == "demo sign-in (password + 2FA)"
    assert verified["verified_at"]

    trust = (await client.get(f"/api/v1/tickets/{number}/trust",
                              headers=desk.headers["supervisor"])).json()
    assert [(c["purpose"], c["state"]) for c in trust["identity_checks"]] == [
        ("2fa_reset", "verified")]


async def test_links_are_for_agents_who_read_the_ticket_and_real_accounts(
    app: FastAPI, client: httpx.AsyncClient, desk: Desk
) -> None:
    number = await open_ticket(client, desk.customer(app, "cust-x"))
    refused = await client.post(f"/api/v1/tickets/{number}/step-up",
                                headers=desk.headers["other"], json={"purpose": "unfreeze"})
    assert refused.status_code == 404
    bad_purpose = await client.post(f"/api/v1/tickets/{number}/step-up",
                                    headers=desk.headers["agent"], json={"purpose": "fun"})
    assert bad_purpose.status_code == 422

    visitor = (await client.post("/api/v1/visitors")).json()
    created = await client.post("/api/v1/tickets", headers={"X-Kefu-Visitor": visitor["token"]},
                                json={"subject": "Frozen", "body": "Why?"})
    assert created.status_code == 201, created.text
    as_visitor = await client.post(f"/api/v1/tickets/{created.json()['number']}/step-up",
                                   headers=desk.headers["supervisor"],
                                   json={"purpose": "unfreeze"})
    assert as_visitor.status_code == 422
    assert as_visitor.json()["error"]["code"] == "step_up_needs_account"

    assert (await client.get("/verify/identity/not-a-real-token")).status_code == 404


async def test_expired_links_say_so(
    app: FastAPI, client: httpx.AsyncClient, desk: Desk, restore_clock: None
) -> None:
    number = await open_ticket(client, desk.customer(app, "cust-late"))
    link = await new_link(client, desk, number, "appeal", who="agent")
    later = clock.now() + timedelta(minutes=16)
    clock.set_clock(lambda: later)
    page = await client.get(local(link["url"]))
    assert 'data-state="expired"' in page.text
    refused = await client.post(local(link["url"]))
    assert refused.status_code == 410


# ---------------------------------------------------------------- the callback


async def opened_check(app: FastAPI, client: httpx.AsyncClient, desk: Desk,
                       external_id: str) -> tuple[str, str]:
    """A link the customer has opened: (ticket number, check reference)."""
    number = await open_ticket(client, desk.customer(app, external_id))
    link = await new_link(client, desk, number)
    assert (await client.post(local(link["url"]))).status_code == 303
    return number, str(link["id"])


def signed(settings: Settings, payload: dict[str, Any], *, at: int | None = None,
           secret: str | None = None) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    key = secret or callback_secret(settings)
    assert key is not None
    header = callbacks.sign(key, body, timestamp=at or int(clock.now().timestamp()))
    return body, {callbacks.SIGNATURE_HEADER: header, "Content-Type": "application/json"}


def result(reference: str, external_id: str, outcome: str = "verified") -> dict[str, Any]:
    return {"reference": reference, "external_id": external_id, "result": outcome,
            "method": "password+totp", "authenticated_at": clock.now().isoformat()}


async def refusals(app: FastAPI) -> list[str]:
    async with app.state.db.transaction() as session:
        rows = await session.scalars(select(AuditEntry.details).where(
            AuditEntry.action == "stepup.callback_refused").order_by(AuditEntry.at))
        return [str(d["code"]) for d in rows]


async def test_callback_valid_invalid_and_replayed(
    app: FastAPI, client: httpx.AsyncClient, desk: Desk
) -> None:
    settings = app.state.settings
    number, reference = await opened_check(app, client, desk, "cust-cb")
    body, headers = signed(settings, result(reference, "cust-cb"))

    forged = await client.post(CALLBACK, content=body, headers={
        **headers, callbacks.SIGNATURE_HEADER: callbacks.sign("guess", body, timestamp=int(
            clock.now().timestamp()))})
    assert forged.status_code == 401
    assert forged.json()["error"]["code"] == "invalid_signature"
    unsigned = await client.post(CALLBACK, content=body,
                                 headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 401
    stale_body, stale = signed(settings, result(reference, "cust-cb"),
                               at=int(clock.now().timestamp()) - 3600)
    assert (await client.post(CALLBACK, content=stale_body, headers=stale)).status_code == 401
    assert "identity_verified" not in [e["kind"] for e in await events(client, desk, number)]
    assert await refusals(app) == []  # bad signatures are logged, not stored

    accepted = await client.post(CALLBACK, content=body, headers=headers)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json() == {"reference": reference, "result": "verified"}
    assert [e["kind"] for e in await events(client, desk, number)].count("identity_verified") == 1

    replayed = await client.post(CALLBACK, content=body, headers=headers)
    assert replayed.status_code == 409
    assert replayed.json()["error"]["code"] == "step_up_replayed"
    assert [e["kind"] for e in await events(client, desk, number)].count("identity_verified") == 1
    assert await refusals(app) == ["step_up_replayed"]


async def test_callback_refuses_expired_unstarted_foreign_and_unknown_checks(
    app: FastAPI, client: httpx.AsyncClient, desk: Desk, restore_clock: None
) -> None:
    settings = app.state.settings
    number, reference = await opened_check(app, client, desk, "cust-slow")
    not_opened = await new_link(client, desk, number)

    body, headers = signed(settings, result(reference, "someone-else"))
    mismatch = await client.post(CALLBACK, content=body, headers=headers)
    assert (mismatch.status_code, mismatch.json()["error"]["code"]) == (
        409, "step_up_customer_mismatch")

    body, headers = signed(settings, result(str(not_opened["id"]), "cust-slow"))
    unstarted = await client.post(CALLBACK, content=body, headers=headers)
    assert (unstarted.status_code, unstarted.json()["error"]["code"]) == (
        409, "step_up_not_started")

    body, headers = signed(settings, result(str(uuid.uuid4()), "cust-slow"))
    assert (await client.post(CALLBACK, content=body, headers=headers)).status_code == 404
    body, headers = signed(settings, {"reference": reference})
    malformed = await client.post(CALLBACK, content=body, headers=headers)
    assert (malformed.status_code, malformed.json()["error"]["code"]) == (
        422, "invalid_callback")

    later = clock.now() + timedelta(minutes=16)
    clock.set_clock(lambda: later)
    body, headers = signed(settings, result(reference, "cust-slow"))
    expired = await client.post(CALLBACK, content=body, headers=headers)
    assert (expired.status_code, expired.json()["error"]["code"]) == (410, "step_up_expired")
    assert await refusals(app) == ["step_up_customer_mismatch", "step_up_not_started",
                                   "step_up_expired"]
    assert "identity_verified" not in [e["kind"] for e in await events(client, desk, number)]


async def test_a_failed_sign_in_is_recorded_as_such(
    app: FastAPI, client: httpx.AsyncClient, desk: Desk
) -> None:
    number, reference = await opened_check(app, client, desk, "cust-fail")
    body, headers = signed(app.state.settings, result(reference, "cust-fail", "failed"))
    assert (await client.post(CALLBACK, content=body, headers=headers)).status_code == 200
    last = (await events(client, desk, number))[-1]
    assert (last["kind"], last["data"]["method"]) == ("identity_verification_failed",
                                                      "password+totp")


# ---------------------------------------------------------------- the HTTP adapter


def request_for(reference: str = "abc") -> IdentityCheckRequest:
    return IdentityCheckRequest(
        reference=reference, purpose="unfreeze",
        callback_url="https://kefu.example/api/v1/trust/stepup/callback",
        return_url="https://kefu.example/verify/identity/tok",
        expires_at=clock.now() + timedelta(minutes=15))


async def test_http_adapter_starts_an_identity_check() -> None:
    seen: list[httpx.Request] = []

    def backoffice(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if "unknown" in request.url.path:
            return httpx.Response(404, json={"error": {"code": "customer_not_found",
                                                       "message": "no"}})
        if "broken" in request.url.path:
            return httpx.Response(201, json={"redirect_url": "javascript:alert(1)"})
        return httpx.Response(201, json={"redirect_url": "https://bo.example/reauth/42"})

    adapter = HttpExchangeAdapter("https://bo.example/kefu", "key-1", 5.0,
                                  transport=httpx.MockTransport(backoffice))
    async with adapter:
        started = await adapter.start_identity_check("cust 1", request_for())
        assert started.redirect_url == "https://bo.example/reauth/42"
        sent = seen[0]
        assert (sent.method, sent.url.raw_path) == (
            "POST", b"/kefu/v1/customers/cust%201/identity-checks")
        assert sent.headers["Authorization"] == "Bearer key-1"
        assert json.loads(sent.content)["purpose"] == "unfreeze"
        assert json.loads(sent.content)["expires_at"].endswith("Z")
        with pytest.raises(CustomerNotFound):
            await adapter.start_identity_check("unknown-1", request_for())
        with pytest.raises(ExchangeUnavailable, match="identity check answer"):
            await adapter.start_identity_check("broken-1", request_for())
