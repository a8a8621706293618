"""The contract outside checks rely on (issue 2): create, read, scope, errors."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from kefu.core.ids import TICKET_NUMBER_RE
from tests.factories import bearer, customer_token, make_world


async def test_customer_creates_and_reads_own_ticket(app: FastAPI, client: httpx.AsyncClient):
    world = await make_world(app)
    a, b = world.headers["customer_a"], world.headers["customer_b"]
    response = await client.post("/api/v1/tickets", headers=a,
                                 json={"subject": "Deposit not credited",
                                       "body": "My USDT TRC20 deposit has not arrived."})
    assert response.status_code == 201, response.text
    number = response.json()["number"]
    assert TICKET_NUMBER_RE.match(number)
    assert response.json()["messages"][0]["author_kind"] == "customer"

    assert (await client.get(f"/api/v1/tickets/{number}", headers=a)).status_code == 200
    assert (await client.get(f"/api/v1/tickets/{number}", headers=b)).status_code == 404
    assert (await client.get(f"/api/v1/tickets/{number}")).status_code == 404
    listed = (await client.get("/api/v1/tickets", headers=a)).json()["items"]
    assert [t["number"] for t in listed] == [number]
    assert (await client.get("/api/v1/tickets", headers=b)).json()["items"] == []
    # The English team's agent sees it; the Chinese team's agent does not.
    assert (await client.get(f"/api/v1/tickets/{number}",
                             headers=world.headers["agent"])).status_code == 200
    assert (await client.get(f"/api/v1/tickets/{number}",
                             headers=world.headers["other_agent"])).status_code == 404


async def test_bad_input_gets_clear_errors(app: FastAPI, client: httpx.AsyncClient):
    settings = app.state.settings
    a = bearer(customer_token(settings, "cust-a"))
    bad_json = await client.post("/api/v1/tickets", headers={**a, "content-type":
                                 "application/json"}, content=b"{not json")
    assert bad_json.status_code in (400, 422)
    assert bad_json.json()["error"]["code"]
    too_big = await client.post("/api/v1/tickets", headers=a,
                                json={"subject": "x", "body": "y" * 2_000_000})
    assert too_big.status_code == 413
    assert too_big.json()["error"]["code"] == "payload_too_large"
    forged = await client.get("/api/v1/tickets", headers=bearer(
        customer_token(settings, "cust-a")[:-4] + "AAAA"))
    assert forged.status_code == 401
    expired = await client.get("/api/v1/tickets", headers=bearer(
        customer_token(settings, "cust-a", lifetime_s=-120)))
    assert expired.status_code == 401
    assert expired.json()["error"]["code"] == "token_expired"
    bad_utf8 = await client.post(
        "/api/v1/tickets", headers={**a, "content-type": "application/json"},
        content=b'{"subject": "\xff\xfe", "body": "x"}')
    assert 400 <= bad_utf8.status_code < 500


async def test_customers_cannot_open_tickets_on_delivered_channels(
        app: FastAPI, client: httpx.AsyncClient):
    """A customer (or visitor) naming email, Telegram or phone would have support's replies
    sent by a channel that never heard from them: refused, and nothing is opened."""
    world = await make_world(app)
    a = world.headers["customer_a"]
    for channel in ("email", "telegram", "phone"):
        refused = await client.post("/api/v1/tickets", headers=a, json={
            "subject": "Withdrawal", "body": f"Pending for a day ({channel})", "channel": channel})
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "field_forbidden"
    assert (await client.get("/api/v1/tickets", headers=a)).json()["items"] == []
    opened = await client.post("/api/v1/tickets", headers=a, json={
        "subject": "Withdrawal", "body": "Pending for a day", "channel": "webform"})
    assert opened.status_code == 201, opened.text
    assert opened.json()["channel"] == "webform"
    # An agent still opens a phone ticket for a customer who called.
    by_phone = await client.post("/api/v1/tickets", headers=world.headers["agent"], json={
        "subject": "Called about a withdrawal", "body": "Customer called", "channel": "phone",
        "customer_external_id": "cust-a"})
    assert by_phone.status_code == 201, by_phone.text
    assert by_phone.json()["channel"] == "phone"
