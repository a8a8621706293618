"""Anti-phishing codes: the rules for a code, the stamp on outbound text, the customer's API and
portal page; the code never reaches the audit log or an error message."""

from __future__ import annotations

import unicodedata

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import assume, given
from hypothesis import strategies as st
from sqlalchemy import select

from kefu.accounts.models import AuditEntry, Customer
from kefu.trust.antiphishing import anti_phishing_code, clean_code, stamp
from tests.trust.conftest import Desk
from tests.web.browser import csrf_of, portal_sign_in

API = "/api/v1/me/anti-phishing-code"


@pytest.mark.parametrize(("raw", "stored"), [
    ("BlueKite42", "BlueKite42"),
    ("  abcd ", "abcd"),
    ("蓝色风筝2024", "蓝色风筝2024"),
    ("ＡＢＣ１２３", "ABC123"),  # fullwidth, as Chinese keyboards type it
])
def test_codes_are_letters_and_digits(raw: str, stored: str) -> None:
    assert clean_code(raw) == stored


@pytest.mark.parametrize("raw", ["abc", "a" * 21, "blue kite", "kite-42", "kite_42", "",
                                 "😀😀😀😀"])
def test_other_codes_are_refused_without_repeating_them(raw: str) -> None:
    with pytest.raises(ValueError, match="4 to 20 letters and digits") as refused:
        clean_code(raw)
    assert not raw.strip() or raw.strip() not in str(refused.value)


@given(st.text(alphabet=st.characters(categories=("Lu", "Ll", "Nd")), min_size=4, max_size=20))
def test_any_short_alphanumeric_code_is_kept_as_typed(code: str) -> None:
    normalized = unicodedata.normalize("NFKC", code)
    assume(normalized.isalnum() and 4 <= len(normalized) <= 20)
    assert clean_code(code) == normalized


@given(st.text(min_size=1, max_size=30))
def test_a_code_is_accepted_only_when_it_is_short_letters_and_digits(raw: str) -> None:
    cleaned = unicodedata.normalize("NFKC", raw).strip()
    acceptable = cleaned.isalnum() and 4 <= len(cleaned) <= 20 and "_" not in cleaned
    try:
        assert clean_code(raw) == cleaned
        assert acceptable
    except ValueError:
        assert not acceptable


def test_stamp_puts_the_code_first_once_in_the_reply_language() -> None:
    assert stamp("Hello", "BlueKite42", "en") == "Anti-phishing code: BlueKite42\n\nHello"
    assert stamp("您好", "BlueKite42", "zh-CN") == "防钓鱼码：BlueKite42\n\n您好"
    once = stamp("Hello", "BlueKite42", "en")
    assert stamp(once, "BlueKite42", "en") == once
    assert stamp("Hello", None, "en") == "Hello"
    assert stamp("", "abcd", "en") == "Anti-phishing code: abcd"


async def test_customer_sets_changes_and_clears_the_code(
    app: FastAPI, client: httpx.AsyncClient, desk: Desk
) -> None:
    me = desk.customer(app, "cust-apc", name="Ann")
    assert (await client.get(API, headers=me)).json() == {"code": None, "updated_at": None}
    saved = await client.put(API, headers=me, json={"code": "BlueKite42"})
    assert saved.status_code == 200, saved.text
    assert saved.json()["code"] == "BlueKite42"
    assert (await client.put(API, headers=me, json={"code": "RedKite7"})).json()["code"] \
        == "RedKite7"
    refused = await client.put(API, headers=me, json={"code": "my secret!"})
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "invalid_anti_phishing_code"
    assert "my secret" not in refused.text

    async with app.state.db.transaction() as session:
        customer = await session.scalar(select(Customer).where(Customer.external_id == "cust-apc"))
        assert customer is not None
        assert await anti_phishing_code(session, customer.id) == "RedKite7"
        audit = list(await session.execute(select(AuditEntry.action, AuditEntry.details).where(
            AuditEntry.action.like("trust.anti_phishing%")).order_by(AuditEntry.at)))
    assert [a for a, _ in audit] == ["trust.anti_phishing_code_set",
                                     "trust.anti_phishing_code_changed"]
    assert all("Kite" not in str(details) for _, details in audit)

    assert (await client.delete(API, headers=me)).status_code == 204
    assert (await client.get(API, headers=me)).json()["code"] is None
    assert (await client.delete(API, headers=me)).status_code == 204  # nothing left: same result

    assert (await client.get(API, headers=desk.headers["agent"])).status_code == 404
    assert (await client.get(API)).status_code == 401
    visitor = (await client.post("/api/v1/visitors")).json()
    as_visitor = await client.get(API, headers={"X-Kefu-Visitor": visitor["token"]})
    assert as_visitor.status_code == 403
    assert as_visitor.json()["error"]["code"] == "exchange_account_required"


async def test_changes_are_rate_limited_per_customer(
    app: FastAPI, client: httpx.AsyncClient, desk: Desk
) -> None:
    me = desk.customer(app, "cust-busy")
    for n in range(20):
        assert (await client.put(API, headers=me, json={"code": f"code{n:04d}"})).status_code \
            == 200
    refused = await client.put(API, headers=me, json={"code": "onemore1"})
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 60  # 20 an hour


async def test_portal_security_page(app: FastAPI, client: httpx.AsyncClient) -> None:
    assert (await client.get("/portal/security")).headers["location"] == "/portal"
    await portal_sign_in(client, app.state.settings, "cust-portal", name="Bo", lang="en")
    page = await client.get("/portal/security")
    assert page.status_code == 200
    assert "You have not set an anti-phishing code." in page.text
    csrf = csrf_of(page.text)

    no_token = await client.post("/portal/security", data={"action": "set", "code": "abcd1234"})
    assert no_token.status_code == 403

    saved = await client.post("/portal/security", data={
        "action": "set", "code": "BlueKite42", "csrf_token": csrf})
    assert saved.status_code == 303
    shown = await client.get(saved.headers["location"])
    assert "BlueKite42" in shown.text
    assert 'data-notice="code_set"' in shown.text

    bad = await client.post("/portal/security", data={
        "action": "set", "code": "x", "csrf_token": csrf, "lang": "zh-CN"})
    assert bad.status_code == 422
    assert "BlueKite42" in bad.text  # the saved code is still the one shown

    cleared = await client.post("/portal/security", data={"action": "clear", "csrf_token": csrf})
    assert cleared.status_code == 303
    assert "You have not set" in (await client.get("/portal/security")).text
