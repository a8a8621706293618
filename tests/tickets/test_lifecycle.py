"""Lifecycle, escalation, merge, transcripts, idempotency, listing."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from kefu.core import clock
from tests.factories import World, bearer, customer_token, make_team, make_world


async def open_ticket(client: httpx.AsyncClient, headers: dict[str, str],
                      subject: str = "Withdrawal pending",
                      body: str = "My BTC withdrawal is pending for 3 hours.") -> str:
    response = await client.post("/api/v1/tickets", headers=headers,
                                 json={"subject": subject, "body": body})
    assert response.status_code == 201, response.text
    return str(response.json()["number"])


async def status(client: httpx.AsyncClient, world: World, number: str, who: str = "agent",
                 **body: str) -> httpx.Response:
    return await client.post(f"/api/v1/tickets/{number}/status", headers=world.headers[who],
                             json=body)


@pytest.fixture
async def world(app: FastAPI) -> World:
    return await make_world(app)


@pytest.fixture(autouse=True)
def _restore_clock():
    yield
    clock.set_clock(None)


async def test_full_lifecycle_with_events(client: httpx.AsyncClient, world: World):
    number = await open_ticket(client, world.headers["customer_a"])
    reply = await client.post(f"/api/v1/tickets/{number}/replies", headers=world.headers["agent"],
                              json={"body": "We are checking it with the wallet team."})
    assert reply.status_code == 201
    ticket = (await client.get(f"/api/v1/tickets/{number}", headers=world.headers["agent"])).json()
    assert ticket["status"] == "open"
    assert ticket["first_response_at"] is not None

    missing_reason = await status(client, world, number, status="pending")
    assert missing_reason.status_code == 422
    assert missing_reason.json()["error"]["code"] == "pending_reason_required"
    pending = await status(client, world, number, status="pending", pending_reason="customer")
    assert pending.json()["status"] == "pending"
    assert pending.json()["pending_reason"] == "customer"

    # The customer's answer takes it out of "pending (customer)".
    await client.post(f"/api/v1/tickets/{number}/replies", headers=world.headers["customer_a"],
                      json={"body": "The txid is 3f2a…"})
    again = await client.get(f"/api/v1/tickets/{number}", headers=world.headers["customer_a"])
    assert again.json()["status"] == "open"

    illegal = await status(client, world, number, status="closed")
    assert illegal.status_code == 409
    assert illegal.json()["error"]["code"] == "illegal_transition"
    assert (await status(client, world, number, status="resolved")).status_code == 200
    assert (await status(client, world, number, status="closed")).status_code == 200
    closed_reply = await client.post(f"/api/v1/tickets/{number}/replies",
                                     headers=world.headers["customer_a"], json={"body": "hi"})
    assert closed_reply.status_code == 409
    assert closed_reply.json()["error"]["code"] == "ticket_closed"

    events = (await client.get(f"/api/v1/tickets/{number}/events",
                               headers=world.headers["agent"])).json()["items"]
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "created"
    assert kinds.count("status_changed") == 5  # open, pending, open, resolved, closed
    changes = [(e["data"]["from"], e["data"]["to"]) for e in events
               if e["kind"] == "status_changed"]
    assert changes == [("new", "open"), ("open", "pending"), ("pending", "open"),
                       ("open", "resolved"), ("resolved", "closed")]
    assert all(e["at"].endswith(("+00:00", "Z")) for e in events)
    by_agent = [e for e in events if e["actor_kind"] == "agent"]
    assert by_agent[0]["actor_agent_id"] == str(world.agent.id)


async def test_customer_reply_reopens_only_within_window(
    app: FastAPI, client: httpx.AsyncClient, world: World
):
    number = await open_ticket(client, world.headers["customer_a"])
    await status(client, world, number, status="resolved")
    reopened = await client.post(f"/api/v1/tickets/{number}/replies",
                                 headers=world.headers["customer_a"],
                                 json={"body": "Still not received!"})
    assert reopened.status_code == 201
    detail = (await client.get(f"/api/v1/tickets/{number}", headers=world.headers["agent"])).json()
    assert detail["status"] == "open"
    assert detail["resolved_at"] is None

    await status(client, world, number, status="resolved")
    window = app.state.settings.reopen_window_s
    later = clock.now() + timedelta(seconds=window + 60)
    clock.set_clock(lambda: later)
    late = await client.post(f"/api/v1/tickets/{number}/replies",
                             headers=world.headers["customer_a"], json={"body": "Hello?"})
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "reopen_window_passed"


async def test_escalation_goes_to_supervisor_queue(client: httpx.AsyncClient, world: World):
    number = await open_ticket(client, world.headers["customer_a"])
    no_reason = await client.post(f"/api/v1/tickets/{number}/escalate",
                                  headers=world.headers["customer_a"], json={"reason": ""})
    assert no_reason.status_code == 422
    padded = await client.post(f"/api/v1/tickets/{number}/escalate",  # QA: one letter, padded
                               headers=world.headers["customer_a"], json={"reason": "   a  "})
    assert padded.status_code == 422
    assert "at least 3 characters" in padded.json()["error"]["message"]
    escalated = await client.post(
        f"/api/v1/tickets/{number}/escalate", headers=world.headers["customer_a"],
        json={"reason": "Funds missing for 3 days, I want a supervisor (" + number + ")"})
    assert escalated.status_code == 200
    assert escalated.json()["status"] == "escalated"
    assert "supervisor" in escalated.json()["escalation_reason"]
    queue = (await client.get("/api/v1/tickets?status=escalated",
                              headers=world.headers["supervisor"])).json()["items"]
    assert [t["number"] for t in queue] == [number]
    twice = await client.post(f"/api/v1/tickets/{number}/escalate",
                              headers=world.headers["agent"], json={"reason": "again please"})
    assert twice.status_code == 409
    # Customers may only resolve, not move tickets around.
    forbidden = await status(client, world, number, who="customer_a", status="open")
    assert forbidden.status_code == 403
    # An agent does not take it back out of the supervisor queue; a supervisor does.
    taken = await status(client, world, number, who="agent", status="open")
    assert taken.status_code == 403
    assert taken.json()["error"]["code"] == "escalation_supervisor_only"
    moved = await status(client, world, number, who="supervisor", status="open")
    assert moved.status_code == 200, moved.text


async def test_merge_keeps_history_and_both_numbers_resolve(
    client: httpx.AsyncClient, world: World
):
    a = world.headers["customer_a"]
    first = await open_ticket(client, a, body="Deposit of 500 USDT missing")
    dup = await open_ticket(client, a, body="Where is my 500 USDT deposit??")
    merged = await client.post(f"/api/v1/tickets/{dup}/merge", headers=world.headers["agent"],
                               json={"into": first})
    assert merged.status_code == 200, merged.text
    assert merged.json()["number"] == first
    assert merged.json()["merged_numbers"] == [dup]
    via_old = (await client.get(f"/api/v1/tickets/{dup}", headers=a)).json()
    assert via_old["number"] == first
    bodies = [m["body"] for m in via_old["messages"]]
    assert "Deposit of 500 USDT missing" in bodies
    assert "Where is my 500 USDT deposit??" in bodies
    assert any(f"{dup} was merged into {first}" in b for b in bodies)
    listed = [t["number"] for t in (await client.get("/api/v1/tickets", headers=a)).json()["items"]]
    assert listed == [first]
    other = await open_ticket(client, world.headers["customer_b"])
    cross = await client.post(f"/api/v1/tickets/{other}/merge", headers=world.headers["agent"],
                              json={"into": first})
    assert cross.status_code == 409
    assert cross.json()["error"]["code"] == "merge_other_customer"


async def test_transcript_excludes_notes_and_escapes_html(client: httpx.AsyncClient, world: World):
    a = world.headers["customer_a"]
    number = await open_ticket(client, a, body="<script>alert(1)</script> my order 123")
    await client.post(f"/api/v1/tickets/{number}/notes", headers=world.headers["agent"],
                      json={"body": "INTERNAL: customer flagged by compliance"})
    await client.post(f"/api/v1/tickets/{number}/replies", headers=world.headers["agent"],
                      json={"body": "Thanks, looking into order 123."})
    text = await client.get(f"/api/v1/tickets/{number}/transcript?format=txt", headers=a)
    assert text.status_code == 200
    assert "looking into order 123" in text.text
    assert "INTERNAL" not in text.text
    assert f"{number}.txt" in text.headers["content-disposition"]
    html = await client.get(f"/api/v1/tickets/{number}/transcript?format=html", headers=a)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html.text
    assert "<script>alert" not in html.text
    assert "INTERNAL" not in html.text
    customer_view = (await client.get(f"/api/v1/tickets/{number}", headers=a)).json()
    assert all(not m["internal"] for m in customer_view["messages"])
    other = await client.get(f"/api/v1/tickets/{number}/transcript",
                             headers=world.headers["customer_b"])
    assert other.status_code == 404


async def test_transcript_is_labelled_in_the_readers_language(
        client: httpx.AsyncClient, world: World):
    a = world.headers["customer_a"]
    number = await open_ticket(client, a, body="My deposit has not arrived")
    replied = await client.post(f"/api/v1/tickets/{number}/replies",
                                headers=world.headers["agent"], json={"body": "Checking."})
    assert replied.status_code == 201, replied.text
    texts = {}
    for lang in ("en", "zh-CN"):
        for fmt in ("txt", "html"):
            got = await client.get(f"/api/v1/tickets/{number}/transcript",
                                   params={"format": fmt, "lang": lang}, headers=a)
            assert got.status_code == 200, got.text
            texts[lang, fmt] = got.text
    assert "Status: New" in texts["en", "txt"] or "Status: Open" in texts["en", "txt"]
    assert "(Support):" in texts["en", "txt"]
    assert "状态：" in texts["zh-CN", "txt"]
    assert "（客服）:" in texts["zh-CN", "txt"]
    assert "Alice（客户）:" in texts["zh-CN", "txt"]
    assert '<html lang="zh-CN">' in texts["zh-CN", "html"]
    assert "创建时间" in texts["zh-CN", "html"]
    for text in texts.values():  # no raw codes for the reader
        for raw in ("(agent)", "(customer)", "Status: new", "Status: open"):
            assert raw not in text
    bad = await client.get(f"/api/v1/tickets/{number}/transcript", params={"lang": "xx"},
                           headers=a)
    assert bad.status_code == 422
    assert bad.json()["error"]["code"]


async def test_transcript_times_are_in_the_readers_time_zone(
        client: httpx.AsyncClient, world: World):
    """QA: the widget shows local times, the download printed UTC. With ``tz`` (the widget
    sends the browser's zone) every time is in that zone, and the header names it."""
    a = world.headers["customer_a"]
    number = await open_ticket(client, a, body="My deposit has not arrived")
    replied = await client.post(f"/api/v1/tickets/{number}/replies",
                                headers=world.headers["agent"], json={"body": "Checking."})
    assert replied.status_code == 201, replied.text
    stamp = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\]", re.M)

    async def transcript(**params: str) -> str:
        got = await client.get(f"/api/v1/tickets/{number}/transcript",
                               params={"lang": "en", **params}, headers=a)
        assert got.status_code == 200, got.text
        return got.text

    in_utc, in_shanghai = await transcript(), await transcript(tz="Asia/Shanghai")
    assert "Time zone: UTC\n" in in_utc
    assert "Time zone: Asia/Shanghai (UTC+08:00)\n" in in_shanghai
    def times(text: str) -> list[datetime]:  # as the wall clock reads them, compared alike
        return [datetime.strptime(t + " +0000", "%Y-%m-%d %H:%M:%S %z")
                for t in stamp.findall(text)]

    utc_times, local_times = times(in_utc), times(in_shanghai)
    assert len(utc_times) == 2
    assert [t - u for t, u in zip(local_times, utc_times, strict=True)] == [timedelta(hours=8)] * 2
    html = (await client.get(f"/api/v1/tickets/{number}/transcript", headers=a,
                             params={"format": "html", "lang": "zh-CN", "tz": "Asia/Shanghai"}))
    assert "时区：Asia/Shanghai (UTC+08:00)" in html.text
    assert (local_times[1].strftime("%Y-%m-%d %H:%M:%S") in html.text)

    for bad in ("Mars/Olympus_Mons", "../../etc/passwd", "Asia", "x" * 65):
        refused = await client.get(f"/api/v1/tickets/{number}/transcript", params={"tz": bad},
                                   headers=a)
        assert refused.status_code == 422, bad
        assert refused.json()["error"]["code"] in ("invalid_time_zone", "invalid_input"), bad
        assert refused.json()["error"]["message"]


async def test_a_download_link_asking_for_fallback_gets_utc_for_an_unknown_zone(
        client: httpx.AsyncClient, world: World):
    """QA: the portal's transcript link sent a zone the server's database lacks, got 422, and
    the browser saved the JSON error as the transcript. A link that cannot look at the answer
    asks ``tz_fallback=utc``: the file in UTC, its header naming the zone it could not use.
    API clients that do not ask still get the 422."""
    a = world.headers["customer_a"]
    number = await open_ticket(client, a, body="My deposit has not arrived")
    url = f"/api/v1/tickets/{number}/transcript"
    unknown = {"tz": "Mars/Olympus_Mons", "tz_fallback": "utc"}

    txt = await client.get(url, params={"lang": "en", **unknown}, headers=a)
    assert txt.status_code == 200, txt.text
    assert txt.headers["content-disposition"] == f'attachment; filename="{number}.txt"'
    assert ("Time zone: UTC (your browser's time zone Mars/Olympus_Mons is not known to "
            "this server)\n") in txt.text
    in_utc = await client.get(url, params={"lang": "en"}, headers=a)
    assert txt.text.split("\n", 4)[4] == in_utc.text.split("\n", 4)[4]  # the same UTC times
    html = await client.get(url, params={"lang": "zh-CN", "format": "html", **unknown},
                            headers=a)
    assert html.status_code == 200, html.text
    assert "时区：UTC（本服务器不识别您浏览器的时区 Mars/Olympus_Mons）" in html.text
    tricky = await client.get(url, params={"tz": "<b>x\n", "tz_fallback": "utc",
                                           "format": "html"}, headers=a)
    assert tricky.status_code == 200
    assert "<b>x" not in tricky.text
    assert "&lt;b&gt;x" in tricky.text

    known = await client.get(url, params={"tz": "Asia/Shanghai", "tz_fallback": "utc"},
                             headers=a)
    assert "Asia/Shanghai (UTC+08:00)" in known.text
    refused = await client.get(url, params={"tz": "Mars/Olympus_Mons"}, headers=a)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "invalid_time_zone"
    other = await client.get(url, params={"tz": "Mars/Olympus_Mons", "tz_fallback": "paris"},
                             headers=a)
    assert other.status_code == 422
    assert other.json()["error"]["code"]


def test_a_transcript_across_a_clock_change_names_both_offsets() -> None:
    """Times are converted one by one, so a conversation across daylight saving shows each
    time as the clock on the wall said it; the header gives both offsets."""
    from kefu.tickets.schemas import MessageRead
    from kefu.tickets.transcript import reader_zone, transcript_text

    ticket = _read().model_copy(update={"created_at": datetime(2026, 3, 29, 0, 30, tzinfo=UTC)})
    messages = [MessageRead(id=uuid.uuid4(), ticket_number="KF-AAAA22", seq=seq,
                            author_kind="customer", author_name="Customer", body="hi",
                            internal=False, created_at=moment)
                for seq, moment in ((1, datetime(2026, 3, 29, 0, 30, tzinfo=UTC)),
                                    (2, datetime(2026, 3, 29, 1, 30, tzinfo=UTC)))]
    text = transcript_text(ticket, messages, "en", reader_zone("Europe/Berlin"))
    assert "Opened: 2026-03-29 01:30\n" in text
    assert "Time zone: Europe/Berlin (UTC+01:00, UTC+02:00)" in text
    assert "[2026-03-29 01:30:00] Customer:" in text
    assert "[2026-03-29 03:30:00] Customer:" in text


async def test_client_msg_id_makes_replies_idempotent(client: httpx.AsyncClient, world: World):
    a = world.headers["customer_a"]
    number = await open_ticket(client, a)
    body = {"body": "Any update?", "client_msg_id": "c-123"}
    first = await client.post(f"/api/v1/tickets/{number}/replies", headers=a, json=body)
    second = await client.post(f"/api/v1/tickets/{number}/replies", headers=a, json=body)
    assert first.json()["id"] == second.json()["id"]
    assert first.json()["seq"] == 2
    messages = (await client.get(f"/api/v1/tickets/{number}", headers=a)).json()["messages"]
    assert [m["seq"] for m in messages] == [1, 2]


async def test_listing_filters_and_cursor_pagination(client: httpx.AsyncClient, world: World):
    a = world.headers["customer_a"]
    asks = ("My BTC withdrawal is pending for 3 hours.", "How do I reset my 2FA?",
            "Why is my account frozen?", "What is the fee for USDT on TRC20?",
            "Can I change my email address?")  # different questions: no repeat is merged
    numbers = [await open_ticket(client, a, subject=f"Question {i}", body=ask)
               for i, ask in enumerate(asks)]
    await client.post(f"/api/v1/tickets/{numbers[0]}/tags", headers=world.headers["agent"],
                      json={"add": ["KYC", "vip"]})
    await client.post(f"/api/v1/tickets/{numbers[1]}/assign", headers=world.headers["agent"],
                      json={"agent_id": str(world.agent.id)})
    seen: list[str] = []
    cursor = None
    while True:
        url = "/api/v1/tickets?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (await client.get(url, headers=world.headers["agent"])).json()
        seen += [t["number"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(numbers)
    assert len(seen) == len(set(seen))

    async def numbers_for(query: str) -> list[str]:
        response = await client.get(f"/api/v1/tickets?{query}", headers=world.headers["agent"])
        assert response.status_code == 200, response.text
        return [t["number"] for t in response.json()["items"]]

    assert await numbers_for("tag=kyc") == [numbers[0]]
    assert await numbers_for("assignee=me") == [numbers[1]]
    assert await numbers_for("q=Question 3") == [numbers[3]]
    assert await numbers_for(f"q={numbers[4].lower()}") == [numbers[4]]
    assert set(await numbers_for("status=open")) == {numbers[1]}
    bad = await client.get("/api/v1/tickets?cursor=garbage", headers=world.headers["agent"])
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_cursor"
    bad_status = await client.get("/api/v1/tickets?status=lost", headers=world.headers["agent"])
    assert bad_status.status_code == 422


def test_transcript_names_people_by_name_and_role_and_the_rest_by_role() -> None:
    from kefu.tickets.schemas import MessageRead
    from kefu.tickets.transcript import transcript_text

    def message(seq: int, kind: str, name: str) -> MessageRead:
        return MessageRead(id=uuid.uuid4(), ticket_number="KF-AAAA22", seq=seq, author_kind=kind,
                           author_name=name, body=f"m{seq}", internal=False,
                           created_at=clock.now())

    messages = [message(1, "customer", "Customer"), message(2, "customer", "王芳"),
                message(3, "agent", "Li Na"), message(4, "assistant", "assistant"),
                message(5, "system", "system")]
    text = transcript_text(_read(), messages, "zh-CN")
    authors = [line.split("] ", 1)[1] for line in text.splitlines() if line.startswith("[")]
    assert authors == ["客户:", "王芳（客户）:", "Li Na（客服）:", "智能助手:", "系统:"]


def test_the_transcript_names_what_the_guard_hid_as_the_widget_did() -> None:
    """QA: the widget showed "[已隐藏：密码]" and a withheld file as not kept; the downloaded
    transcript said "[REDACTED password]" and listed the file as if it had been kept."""
    from kefu.tickets.schemas import AttachmentRead, MessageRead
    from kefu.tickets.transcript import transcript_html, transcript_text

    def file(name: str, withheld: str | None) -> AttachmentRead:
        fields = {name: None for name in AttachmentRead.model_fields}
        return AttachmentRead.model_construct(**{
            **fields, "id": uuid.uuid4(), "filename": name, "content_type": "application/pdf",
            "size": 2048, "withheld_reason": withheld})

    messages = [MessageRead(
        id=uuid.uuid4(), ticket_number="KF-AAAA22", seq=1, author_kind="customer",
        author_name="Customer", body="my password is [REDACTED password] and [REDACTED xyz]",
        internal=False, created_at=clock.now(),
        attachments=[file("backup.pdf", "contained seed phrase"), file("kyc.pdf", None)])]
    zh = transcript_text(_read(), messages, "zh-CN")
    assert "my password is [已隐藏：密码] and [REDACTED xyz]" in zh
    assert "[附件：backup.pdf, 2 KB；未保存：文件含有敏感信息]" in zh
    assert "[附件：kyc.pdf, 2 KB]" in zh
    en = transcript_text(_read(), messages, "en")
    assert "my password is [hidden: password]" in en
    assert "[Attachment: backup.pdf, 2 KB; not kept: it contained a secret]" in en
    html = transcript_html(_read(), messages, "en")
    assert "my password is [hidden: password]" in html
    assert "backup.pdf (2 KB; not kept: it contained a secret)" in html
    assert "kyc.pdf (2 KB)</div>" in html


def _read():  # type: ignore[no-untyped-def]
    from kefu.tickets.schemas import TicketRead

    fields = {name: None for name in TicketRead.model_fields}
    return TicketRead.model_construct(**{**fields, "number": "KF-AAAA22", "subject": "s",
                                         "status": "open", "created_at": clock.now()})


async def test_a_language_filter_takes_the_language_with_its_regions(
        client: httpx.AsyncClient, world: World):
    """"zh" lists zh, zh-CN and zh-TW tickets (as the supervisor's queues count them); a
    region, in any case, lists that one."""
    numbers = {}
    for language, body in (("zh", "提币一直在处理中"), ("zh-CN", "充值没有到账怎么办"),
                           ("en", "Where is my deposit?")):
        created = await client.post("/api/v1/tickets", headers=world.headers["customer_a"],
                                    json={"subject": body, "body": body, "language": language})
        assert created.status_code == 201, created.text
        numbers[language] = created.json()["number"]

    async def listed(language: str) -> set[str]:
        response = await client.get("/api/v1/tickets", params={"language": language},
                                    headers=world.headers["admin"])
        assert response.status_code == 200, response.text
        return {t["number"] for t in response.json()["items"]}

    assert await listed("zh") == {numbers["zh"], numbers["zh-CN"]}
    assert await listed("zh-cn") == {numbers["zh-CN"]}
    assert await listed("zh-CN") == {numbers["zh-CN"]}
    assert await listed("en") == {numbers["en"]}


async def test_a_ticket_can_be_read_without_its_messages_with_the_same_access(
        client: httpx.AsyncClient, world: World):
    number = await open_ticket(client, world.headers["customer_a"])
    await client.post(f"/api/v1/tickets/{number}/notes", headers=world.headers["agent"],
                      json={"body": "INTERNAL: checking the wallet"})
    whole = await client.get(f"/api/v1/tickets/{number}", headers=world.headers["agent"])
    bare = await client.get(f"/api/v1/tickets/{number}?messages=false",
                            headers=world.headers["agent"])
    assert bare.status_code == 200, bare.text
    assert "messages" not in bare.json()
    assert len(whole.json()["messages"]) == 2
    assert bare.json() == {k: v for k, v in whole.json().items() if k != "messages"}
    customer = await client.get(f"/api/v1/tickets/{number}?messages=false",
                                headers=world.headers["customer_a"])
    customer_whole = await client.get(f"/api/v1/tickets/{number}",
                                      headers=world.headers["customer_a"])
    assert customer.status_code == 200
    assert customer.json() == {k: v for k, v in customer_whole.json().items() if k != "messages"}
    for who in ("customer_b", "other_agent", "anonymous"):  # refused as the whole read is
        refused = await client.get(f"/api/v1/tickets/{number}?messages=false",
                                   headers=world.headers[who])
        plain = await client.get(f"/api/v1/tickets/{number}", headers=world.headers[who])
        assert refused.status_code == plain.status_code == 404, (who, refused.text)
        assert refused.json() == plain.json()
    assert (await client.get(f"/api/v1/tickets/{number}?messages=maybe",
                             headers=world.headers["agent"])).status_code == 422


async def test_a_new_ticket_goes_to_a_team_of_its_language_however_the_team_writes_it(
        app: FastAPI, client: httpx.AsyncClient):
    """A team of "zh-CN" (as the UI names Chinese) serves Chinese tickets; it got none: they
    went to the English team, which only matched a team written "zh". The exact tag wins
    (zh-TW for a zh-TW ticket), then the base language, then English."""
    english = await make_team(app, "English", "en")
    mainland = await make_team(app, "中文组", "zh-CN")
    taiwan = await make_team(app, "繁體中文", "zh-TW")
    settings = app.state.settings
    for language, team in (("zh-CN", mainland), ("zh", mainland), ("zh-TW", taiwan),
                           ("ja", english), ("en", english)):
        headers = bearer(customer_token(settings, f"cust-{language}", lang=language))
        created = await client.post("/api/v1/tickets", headers=headers, json={
            "subject": "提币一直在审核中", "body": "我的提币已经三天了还没有到账",
            "language": language})
        assert created.status_code == 201, created.text
        assert created.json()["team_id"] == str(team.id), language
