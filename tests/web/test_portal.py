"""The customer portal: sign-in by the exchange's single-use link, tickets, replies, files."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from kefu.config import Settings
from tests.factories import make_world, running_app
from tests.web.browser import (
    csrf_of,
    customer_headers,
    png_bytes,
    portal_sign_in,
    sso_token,
    ticket_numbers,
)


async def _api_ticket(client: httpx.AsyncClient, headers: dict[str, str], subject: str) -> str:
    response = await client.post("/api/v1/tickets", headers=headers,
                                 json={"subject": subject, "body": "Please help.\nLine two."})
    assert response.status_code == 201, response.text
    return str(response.json()["number"])


async def test_sso_signs_in_and_lists_only_own_tickets(app: FastAPI, client: httpx.AsyncClient):
    settings: Settings = app.state.settings
    mine = await _api_ticket(client, customer_headers(settings, "cust-a"),
                             "My USDT deposit is missing")
    theirs = await _api_ticket(client, customer_headers(settings, "cust-b"), "Bob's withdrawal")

    token = sso_token(settings, "cust-a", name="Alice", lang="en")
    response = await client.get("/portal/sso", params={"token": token})
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("kefu_customer=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie.replace("Lax", "lax")
    assert "Max-Age=43200" in cookie

    page = await client.get("/portal")
    assert page.status_code == 200
    assert ticket_numbers(page.text) == {mine}
    assert "My USDT deposit is missing" in page.text
    assert "Bob&#39;s withdrawal" not in page.text
    assert "Alice" in page.text

    detail = await client.get(f"/portal/tickets/{mine}")
    assert detail.status_code == 200
    assert "Please help.\nLine two." in detail.text  # newlines kept, shown with pre-wrap
    assert f"/api/v1/tickets/{mine}/transcript?format=txt" in detail.text
    assert f"/api/v1/tickets/{mine}/transcript?format=html" in detail.text

    # Another customer's ticket does not exist as far as this customer can tell.
    other = await client.get(f"/portal/tickets/{theirs}")
    assert other.status_code == 404
    assert "text/html" in other.headers["content-type"]
    assert "Traceback" not in other.text


async def test_sso_link_works_once_and_needs_a_jti(app: FastAPI, client: httpx.AsyncClient):
    settings: Settings = app.state.settings
    token = sso_token(settings, "cust-replay")
    assert (await client.get("/portal/sso", params={"token": token})).status_code == 303
    client.cookies.clear()
    replay = await client.get("/portal/sso", params={"token": token})
    assert replay.status_code == 401
    assert "text/html" in replay.headers["content-type"]
    assert "already used" in replay.text
    assert "set-cookie" not in replay.headers

    no_jti = await client.get("/portal/sso", params={"token": sso_token(
        settings, "cust-replay", jti=None)})
    assert no_jti.status_code == 401
    forged = await client.get("/portal/sso", params={"token": token[:-3] + "abc"})
    assert forged.status_code == 401
    assert (await client.get("/portal")).text.count("kefu_customer") == 0


async def test_new_ticket_with_attachment(app: FastAPI, client: httpx.AsyncClient):
    await portal_sign_in(client, app.state.settings, "cust-files", name="Carol", lang="zh-CN")
    form = await client.get("/portal/tickets/new", params={"category": "deposit"})
    assert form.status_code == 200
    assert '<html lang="zh-CN">' in form.text  # the customer's language from the exchange
    assert '<option value="deposit" selected>' in form.text
    csrf = csrf_of(form.text)

    image = png_bytes()
    created = await client.post("/portal/tickets/new", data={
        "csrf_token": csrf, "category": "deposit", "subject": "USDT TRC20 deposit missing",
        "body": "Sent 250 USDT at 10:02.\nTxID below.",
    }, files=[("files", ("proof.png", image, "image/png"))])
    assert created.status_code == 303, created.text
    location = created.headers["location"]
    number = location.split("/")[3].split("?")[0]
    page = await client.get(location)
    assert page.status_code == 200
    assert number in page.text
    assert "USDT TRC20 deposit missing" in page.text
    assert "proof.png" in page.text
    link = page.text.split('href="/api/v1/attachments/')[1].split('"')[0]
    download = await client.get(f"/api/v1/attachments/{link}")
    assert download.status_code == 200
    assert download.content == image
    assert number in (await client.get("/portal")).text
    # The category becomes a tag agents can filter by; tags are internal, so the customer's own
    # view of the ticket shows none.
    assert (await client.get(f"/api/v1/tickets/{number}")).json()["tags"] == []
    world = await make_world(app)
    staff = await client.get(f"/api/v1/tickets/{number}", headers=world.headers["supervisor"])
    assert staff.json()["tags"] == ["category:deposit"]


async def test_each_file_of_a_form_may_reach_the_attachment_limit(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """The limit is per file, as in the widget: two 15 MB screenshots go in one message (the
    request, 30 MB, was refused at 25 MB), and a file over it is still refused on its own."""
    await portal_sign_in(client, app.state.settings, "cust-big-files")
    csrf = csrf_of((await client.get("/portal/tickets/new")).text)
    shot = png_bytes() + b"\0" * (15 * 1024 * 1024)
    created = await client.post("/portal/tickets/new", data={
        "csrf_token": csrf, "category": "withdrawal", "subject": "Withdrawal screenshots",
        "body": "Both screens attached."},
        files=[("files", ("a.png", shot, "image/png")), ("files", ("b.png", shot, "image/png"))])
    assert created.status_code == 303, created.text[:300]
    page = await client.get(created.headers["location"])
    assert "a.png" in page.text
    assert "b.png" in page.text
    number = created.headers["location"].split("/")[3].split("?")[0]
    limit = app.state.settings.max_attachment_bytes
    over = await client.post(f"/portal/tickets/{number}/reply", data={
        "csrf_token": csrf, "body": "One more, a recording"},
        files=[("files", ("c.png", png_bytes() + b"\0" * limit, "image/png"))])
    assert over.status_code == 413
    assert "One more, a recording" in over.text  # the typed words are kept


async def test_signing_in_brings_the_customer_back_to_the_page_they_asked_for(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """QA: "Open a ticket" from the help center, signed out, ended on the portal's home after
    signing in, the category lost."""
    asked = await client.get("/portal/tickets/new", params={"category": "withdrawal"})
    assert asked.status_code == 303
    location = asked.headers["location"]
    assert location == "/portal?next=%2Fportal%2Ftickets%2Fnew%3Fcategory%3Dwithdrawal"
    assert (await client.get(location)).status_code == 200  # the sign-in page
    token = sso_token(app.state.settings, "cust-back")
    signed_in = await client.get("/portal/sso", params={
        "token": token, "next": "/portal/tickets/new?category=withdrawal"})
    assert signed_in.headers["location"] == "/portal/tickets/new?category=withdrawal"
    form = await client.get(signed_in.headers["location"])
    assert '<option value="withdrawal" selected>' in form.text
    # Only this portal's pages: anything else signs in to the portal's home.
    for elsewhere in ("//evil.example/portal/", "https://evil.example/portal/x",
                      "/portal/../agent", "/portal/sso?token=x", "/agent/users", "/\\evil",
                      "/portal/%2e%2e/agent", "/portal/%2E%2E%2Fagent"):
        client.cookies.clear()
        again = await client.get("/portal/sso", params={
            "token": sso_token(app.state.settings, "cust-back"), "next": elsewhere})
        assert again.headers["location"] == "/portal", elsewhere
        assert (await client.get("/portal", params={"next": elsewhere})).status_code == 200


async def test_forms_need_the_csrf_token(app: FastAPI, client: httpx.AsyncClient):
    await portal_sign_in(client, app.state.settings, "cust-csrf")
    response = await client.post("/portal/tickets/new", data={
        "category": "other", "subject": "Hello", "body": "No token"})
    assert response.status_code == 403
    assert "text/html" in response.headers["content-type"]
    wrong = await client.post("/portal/tickets/new", data={
        "csrf_token": "0" * 64, "category": "other", "subject": "Hello", "body": "Bad token"})
    assert wrong.status_code == 403
    assert ticket_numbers((await client.get("/portal")).text) == set()


async def test_reply_escalate_resolve_and_errors(app: FastAPI, client: httpx.AsyncClient):
    customer_a = customer_headers(app.state.settings, "cust-a")
    number = await _api_ticket(client, customer_a, "Withdrawal stuck")
    await portal_sign_in(client, app.state.settings, "cust-a")
    page = await client.get(f"/portal/tickets/{number}")
    csrf = csrf_of(page.text)

    reply = await client.post(f"/portal/tickets/{number}/reply", data={
        "csrf_token": csrf, "body": "It is <script>alert(1)</script> still stuck"},
        files=[("files", ("", b"", "application/octet-stream"))])
    assert reply.status_code == 303, reply.text
    page = await client.get(reply.headers["location"])
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<script>alert(1)" not in page.text

    # A refused file: friendly message, the typed text kept, the right status, nothing stored.
    bad = await client.post(f"/portal/tickets/{number}/reply", data={
        "csrf_token": csrf, "body": "Here is the log"},
        files=[("files", ("run.exe", b"MZ\x90\x00" + bytes(200), "image/png"))])
    assert bad.status_code == 415
    assert "Here is the log" in bad.text
    after = await client.get(f"/api/v1/tickets/{number}", headers=customer_a)
    assert [m["body"] for m in after.json()["messages"]].count("Here is the log") == 0

    empty = await client.post(f"/portal/tickets/{number}/reply",
                              data={"csrf_token": csrf, "body": "   "})
    assert empty.status_code == 422

    padded = await client.post(f"/portal/tickets/{number}/escalate", data={
        "csrf_token": csrf, "reason": "   a  "})
    assert padded.status_code == 422
    assert "Please give a reason of 3 to 2,000 characters." in padded.text
    escalated = await client.post(f"/portal/tickets/{number}/escalate", data={
        "csrf_token": csrf, "reason": "Nobody answers and my funds are stuck"})
    assert escalated.status_code == 303
    page = await client.get(escalated.headers["location"])
    assert "Escalated" in page.text
    again = await client.post(f"/portal/tickets/{number}/escalate",
                              data={"csrf_token": csrf, "reason": "again please"})
    assert again.status_code == 409

    resolved = await client.post(f"/portal/tickets/{number}/resolve", data={"csrf_token": csrf})
    assert resolved.status_code == 303
    assert "Resolved" in (await client.get(f"/portal/tickets/{number}")).text

    out = await client.post("/portal/logout", data={"csrf_token": csrf})
    assert out.status_code == 303
    assert "kefu_customer" not in client.cookies
    assert (await client.get(f"/portal/tickets/{number}")).status_code == 303


async def test_dev_login_only_in_development(app: FastAPI, client: httpx.AsyncClient):
    assert app.state.settings.env != "development"
    assert (await client.get("/portal/dev-login", params={"customer": "portal-demo-en"})
            ).status_code == 404
    assert "dev-login" not in (await client.get("/portal")).text


@pytest.fixture
def dev_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"env": "development"})


async def test_dev_login_signs_in_a_demo_customer(dev_settings: Settings):
    async with running_app(dev_settings) as (_app, client):
        landing = await client.get("/portal")
        assert "/portal/dev-login?customer=portal-demo-en" in landing.text
        hop = await client.get("/portal/dev-login", params={"customer": "portal-demo-en"})
        assert hop.status_code == 303
        assert hop.headers["location"].startswith("/portal/sso?")
        signed_in = await client.get(hop.headers["location"])
        assert signed_in.status_code == 303
        page = await client.get("/portal")
        assert "Alice Martin" in page.text
        bad = await client.get("/portal/dev-login", params={"customer": "../x?y"})
        assert bad.status_code == 404


async def test_a_resolved_ticket_is_rated_once_in_the_portal(
        app: FastAPI, client: httpx.AsyncClient):
    settings: Settings = app.state.settings
    customer = customer_headers(settings, "cust-a")
    number = await _api_ticket(client, customer, "Deposit missing")
    await portal_sign_in(client, settings, "cust-a")
    page = await client.get(f"/portal/tickets/{number}")
    csrf = csrf_of(page.text)
    assert 'data-testid="rating-form"' not in page.text  # not before it is resolved
    early = await client.post(f"/portal/tickets/{number}/rating",
                              data={"csrf_token": csrf, "score": "5"})
    assert early.status_code == 409
    assert "once it is resolved" in early.text

    await client.post(f"/portal/tickets/{number}/resolve", data={"csrf_token": csrf})
    page = await client.get(f"/portal/tickets/{number}")
    assert 'data-testid="rating-form"' in page.text
    # A bad score is explained, and the comment typed is kept.
    for score in ("", "0", "6", "x"):
        bad = await client.post(f"/portal/tickets/{number}/rating", data={
            "csrf_token": csrf, "score": score, "comment": "quick and kind"})
        assert bad.status_code == 422, score
        assert "Choose a score from 1 to 5." in bad.text
        assert "quick and kind" in bad.text
    rated = await client.post(f"/portal/tickets/{number}/rating", data={
        "csrf_token": csrf, "score": "4", "comment": "quick and <b>kind</b>"})
    assert rated.status_code == 303
    page = await client.get(rated.headers["location"])
    assert "Thank you for your rating." in page.text
    assert "You rated this ticket 4/5." in page.text
    assert "quick and &lt;b&gt;kind&lt;/b&gt;" in page.text
    assert 'data-testid="rating-form"' not in page.text
    stored = (await client.get(f"/api/v1/tickets/{number}", headers=customer)).json()
    assert (stored["rating"], stored["rating_comment"]) == (4, "quick and <b>kind</b>")
    again = await client.post(f"/portal/tickets/{number}/rating",
                              data={"csrf_token": csrf, "score": "1"})
    assert again.status_code == 409
    assert "already been rated" in again.text
    # Another customer cannot rate it.
    await portal_sign_in(client, settings, "cust-b")
    other = await client.get("/portal")
    theirs = await client.post(f"/portal/tickets/{number}/rating",
                               data={"csrf_token": csrf_of(other.text), "score": "1"})
    assert theirs.status_code == 404


async def test_a_resolved_ticket_takes_replies_until_its_reopen_window_ends(
        app: FastAPI, client: httpx.AsyncClient):
    settings: Settings = app.state.settings
    number = await _api_ticket(client, customer_headers(settings, "cust-a"), "Card declined")
    await portal_sign_in(client, settings, "cust-a")
    csrf = csrf_of((await client.get(f"/portal/tickets/{number}")).text)
    await client.post(f"/portal/tickets/{number}/resolve", data={"csrf_token": csrf})
    page = await client.get(f"/portal/tickets/{number}")
    assert "Reply before" in page.text
    assert "&lt;time" not in page.text  # the date is a <time>, not its markup as text
    assert 'action="/portal/tickets/' + number + '/reply"' in page.text

    settings.reopen_window_s = 0  # the window has passed
    page = await client.get(f"/portal/tickets/{number}")
    assert "can no longer be reopened" in page.text
    assert "Reply before" not in page.text
    assert 'action="/portal/tickets/' + number + '/reply"' not in page.text
    assert 'href="/portal/tickets/new"' in page.text


async def test_a_system_message_is_named_in_the_readers_language(
        app: FastAPI, client: httpx.AsyncClient):
    """Kefu's own notices (here: a secret masked in a reply) carry the role as their name, not
    the internal author name "system"."""
    settings: Settings = app.state.settings
    number = await _api_ticket(client, customer_headers(settings, "cust-a"), "Login help")
    await portal_sign_in(client, settings, "cust-a")
    csrf = csrf_of((await client.get(f"/portal/tickets/{number}")).text)
    sent = await client.post(f"/portal/tickets/{number}/reply", data={
        "csrf_token": csrf, "body": "my password is Hunter2pass!"})
    assert sent.status_code == 303, sent.text
    for lang, name in (("en", "System"), ("zh-CN", "系统")):
        page = await client.get(f"/portal/tickets/{number}?lang={lang}")
        system = page.text.split('class="msg msg-system', 1)[1].split("</li>", 1)[0]
        assert f'<span class="msg-author">{name}</span>' in system
        assert ">system<" not in system
        assert "msg-role" not in system


async def test_an_unknown_page_path_is_the_pages_404(app: FastAPI, client: httpx.AsyncClient):
    """A path under the portal, the console or the help center that no page answers gets the
    translated 404 page, not the API's JSON; the API's own 404 stays JSON."""
    for path, said in (("/portal/tickets/..%2f..%2fagent", "找不到该页面或工单。"),
                       ("/portal/nope", "找不到该页面或工单。"),
                       ("/agent/nope/deeper", "找不到该页面或工单。"),
                       ("/help/zh-CN/nope/deeper", "在帮助中心找不到该页面。")):
        page = await client.get(path, params={"lang": "zh-CN"})
        assert page.status_code == 404, path
        assert page.headers["content-type"].startswith("text/html"), path
        assert said in page.text, path
    api = await client.get("/api/v1/nope")
    assert api.status_code == 404
    assert api.json()["error"]["code"] == "not_found"


async def test_a_form_address_opened_in_a_browser_is_the_pages_405(client: httpx.AsyncClient):
    """QA: GET /portal/logout (a form's address, POST only) answered a browser on a Chinese
    page with the API's English JSON. A browser gets the error page in its language, with
    405 and ``Allow``; API clients, and every /api path, keep the JSON."""
    browser = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
    for path in ("/portal/logout", "/agent/logout"):
        for lang, said in (("zh-CN", "无法直接打开此地址"),
                           ("en", "This address cannot be opened directly.")):
            page = await client.get(path, params={"lang": lang}, headers=browser)
            assert page.status_code == 405, path
            assert page.headers["allow"] == "POST", path
            assert page.headers["content-type"].startswith("text/html"), path
            assert said in page.text, path
            assert f'<html lang="{lang}"' in page.text, path
            assert "method_not_allowed" not in page.text, path
    api_client = await client.get("/portal/logout", headers={"Accept": "application/json"})
    assert api_client.status_code == 405
    assert api_client.json()["error"]["code"] == "method_not_allowed"
    api = await client.get("/api/v1/visitors", headers=browser)
    assert api.status_code == 405
    assert api.headers["allow"] == "POST"
    assert api.json()["error"]["code"] == "method_not_allowed"


async def test_over_long_text_is_refused_in_the_form_with_the_text_kept(
        app: FastAPI, client: httpx.AsyncClient):
    """Past the browser's maxlength (a script, a tampered form) text is refused by the
    handler's own limit, on the form, with what was typed in it; not on a page without it."""
    settings: Settings = app.state.settings
    number = await _api_ticket(client, customer_headers(settings, "cust-a"), "Fees")
    await portal_sign_in(client, settings, "cust-a")
    csrf = csrf_of((await client.get("/portal/tickets/new")).text)
    body = "My withdrawal details follow. " + "x" * 150_000
    created = await client.post("/portal/tickets/new", data={
        "csrf_token": csrf, "subject": "S" * 1500, "body": body})
    assert created.status_code == 422
    assert 'name="subject"' in created.text  # the form again
    assert "S" * 1500 in created.text
    reply = await client.post(f"/portal/tickets/{number}/reply", data={
        "csrf_token": csrf, "body": body})
    assert reply.status_code == 422
    assert "up to 20,000 characters" in reply.text
    assert body in reply.text


async def test_support_messages_in_the_portal_carry_the_customers_anti_phishing_code(
        app: FastAPI, client: httpx.AsyncClient):
    world = await make_world(app)
    customer = world.headers["customer_a"]
    number = await _api_ticket(client, customer, "Withdrawal pending")
    set_code = await client.put("/api/v1/me/anti-phishing-code", headers=customer,
                                json={"code": "Final777"})
    assert set_code.status_code == 200, set_code.text
    replied = await client.post(f"/api/v1/tickets/{number}/replies",
                                headers=world.headers["supervisor"], json={"body": "On it."})
    assert replied.status_code == 201, replied.text
    await portal_sign_in(client, app.state.settings, "cust-a")
    page = (await client.get(f"/portal/tickets/{number}")).text
    codes = page.count('data-testid="anti-phishing-code"')
    assert codes == 1  # under support's message, not under the customer's own
    assert "Anti-phishing code: Final777" in page


async def test_what_the_guard_hid_is_named_in_the_customers_language(
        app: FastAPI, client: httpx.AsyncClient):
    """The customer's own ticket says "[已隐藏：助记词]" where the guard hid their seed phrase;
    the stored marker is for agents."""
    await make_world(app)
    seed = ("abandon ability able about above absent absorb abstract absurd abuse access "
            "accident")
    created = await client.post("/api/v1/tickets", headers=customer_headers(
        app.state.settings, "cust-a"), json={"subject": "找回钱包",
                                              "body": f"我的助记词是 {seed} 帮我找回钱包"})
    assert created.status_code == 201, created.text
    number = created.json()["number"]
    assert "[REDACTED seed_phrase]" in created.json()["messages"][0]["body"]
    await portal_sign_in(client, app.state.settings, "cust-a", lang="zh-CN")
    page = (await client.get(f"/portal/tickets/{number}", params={"lang": "zh-CN"})).text
    assert "我的助记词是 [已隐藏：助记词] 帮我找回钱包" in page
    assert "REDACTED" not in page
    assert "abandon" not in page
