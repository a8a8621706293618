"""The email channel end to end: mail sent with smtplib/aiosmtplib to the listener that
``kefu serve`` starts, tickets and replies filed as the customer, the auto-reply and support's
replies sent through a real (capturing) SMTP relay; on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from fastapi import FastAPI
from mnemonic import Mnemonic
from sqlalchemy import func, select

from kefu.accounts.models import Customer
from kefu.channels.models import ChannelIdentity, ChannelMessage
from kefu.jobs.models import Job
from kefu.tickets.models import DELIVER_JOB, Attachment, Message, Ticket, TicketEvent
from tests.channels.email_support import (  # noqa: F401  (fixtures)
    MAX_BYTES,
    SUPPORT,
    Relay,
    compose,
    deliver,
    deliver_with_smtplib,
    email_settings,
    email_tickets,
    fixture,
    make_settings,
    relay_server,
)
from tests.factories import bearer, customer_token, make_world, run_jobs
from tests.tickets.test_attachment_guard import everything_stored

SEED = Mnemonic("english").generate(strength=128)


async def events(app: FastAPI, ticket: Ticket) -> list[TicketEvent]:
    async with app.state.db.transaction() as session:
        return list(await session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
            .order_by(TicketEvent.at)))


async def agent_reply(app: FastAPI, client: httpx.AsyncClient, number: str, body: str,
                      headers: dict[str, str]) -> None:
    response = await client.post(f"/api/v1/tickets/{number}/replies", headers=headers,
                                 json={"body": body})
    assert response.status_code == 201, response.text


# ---------------------------------------------------------------- new tickets


async def test_new_ticket_gets_an_auto_reply_with_number_and_anti_phishing_code(
    app: FastAPI, client: httpx.AsyncClient, relay: Relay,
) -> None:
    settings = app.state.settings
    # A customer of the exchange who set an anti-phishing code; their email is on file.
    token = customer_token(settings, "cust-maria", name="Maria", email="Maria@Mail.example")
    set_code = await client.put("/api/v1/me/anti-phishing-code", headers=bearer(token),
                                json={"code": "Blue7Tiger"})
    assert set_code.status_code == 200, set_code.text

    mail = compose(sender="Maria Lopez <maria@mail.example>", message_id="first-1@mail.example")
    code, _ = await deliver(app, mail)
    assert code == 250
    [(ticket, messages)] = await email_tickets(app)
    assert ticket.channel == "email"
    assert ticket.subject == "Deposit not credited"
    assert messages[0].author_kind == "customer"
    assert messages[0].body == "My USDT deposit has not arrived after two hours."
    async with app.state.db.transaction() as session:
        customer = await session.get(Customer, ticket.customer_id)
        assert customer is not None
        assert customer.external_id == "cust-maria"  # bound to the exchange's customer
        identity = await session.scalar(select(ChannelIdentity))
        assert identity is not None
        assert (identity.channel, identity.address) == ("email", "maria@mail.example")

    await run_jobs(app)
    [auto] = relay.received
    assert auto.rcpt_tos == ["maria@mail.example"]
    assert auto.message["Auto-Submitted"] == "auto-replied"
    assert auto.message["In-Reply-To"] == "<first-1@mail.example>"
    assert auto.message["Subject"] == f"Re: [{ticket.number}] Deposit not credited"
    assert SUPPORT in str(auto.message["From"])
    text, html = auto.text(), auto.html()
    assert text.startswith("Anti-phishing code: Blue7Tiger")
    assert "Anti-phishing code: Blue7Tiger" in html
    assert ticket.number in text
    assert ticket.number in html
    assert "never ask for your password" in text

    # A second request within the hour opens a ticket but gets no second auto-reply.
    code, _ = await deliver(app, compose(sender="maria@mail.example", subject="Another thing",
                                         body="Also, how do I change my phone number?"))
    assert code == 250
    assert len(await email_tickets(app)) == 2
    await run_jobs(app)
    assert len(relay.received) == 1


async def test_new_sender_becomes_a_customer_and_smtplib_delivers(
    app: FastAPI, relay: Relay,
) -> None:
    refused = await deliver_with_smtplib(app, compose(sender='"Zhou, Bo" <Bo.Zhou@Mail.Example>'))
    assert refused == {}
    [(ticket, _)] = await email_tickets(app)
    async with app.state.db.transaction() as session:
        customer = await session.get(Customer, ticket.customer_id)
        assert customer is not None
        assert customer.external_id == "email:bo.zhou@mail.example"
        assert customer.display_name == "Zhou, Bo"
        assert customer.email == "bo.zhou@mail.example"
    await run_jobs(app)
    assert [r.rcpt_tos for r in relay.received] == [["bo.zhou@mail.example"]]
    assert "Tip: set an anti-phishing code" in relay.received[0].text()


async def test_chinese_gbk_mail(app: FastAPI, relay: Relay) -> None:
    code, _ = await deliver(app, fixture("foxmail_gbk.eml"), mail_from="wang.kun@qq.example")
    assert code == 250
    [(ticket, messages)] = await email_tickets(app)
    assert ticket.subject == "提币一直在审核中，请帮忙查看"
    assert ticket.language.startswith("zh")
    body = messages[0].body
    assert "一直显示“审核中”" in body
    assert "王堃 / 镕基" in body
    assert "写道" not in body
    assert "请问有什么可以帮您" not in body
    async with app.state.db.transaction() as session:
        customer = await session.get(Customer, ticket.customer_id)
        assert customer is not None
        assert customer.display_name == "王堃"
    await run_jobs(app)
    [auto] = relay.received
    assert f"我们已收到您的请求，您的工单号为 {ticket.number}。" in auto.text()
    assert "绝不会索要您的密码" in auto.html()


async def test_big5_mail(app: FastAPI) -> None:
    code, _ = await deliver(app, fixture("big5.eml"), mail_from="tw.chan@mail.example")
    assert code == 250
    [(ticket, messages)] = await email_tickets(app)
    assert ticket.subject == "帳戶被凍結"
    assert "請問要如何解凍" in messages[0].body


async def test_html_only_mail_is_stored_as_text(app: FastAPI) -> None:
    code, _ = await deliver(app, fixture("html_only_script.eml"),
                            mail_from="sam.carter@mail.example")
    assert code == 250
    [(ticket, messages)] = await email_tickets(app)
    body = messages[0].body
    assert "Hello, my withdrawal is stuck & I need help." in body
    for markup in ("<", "script", "document.cookie", "alert", "onload", "color:red"):
        assert markup not in body
    async with app.state.db.transaction() as session:
        [image] = list(await session.scalars(select(Attachment)))
        assert (image.filename, image.content_type) == ("screenshot.png", "image/png")
        assert image.message_id == messages[0].id  # the inline image, on the message


# ---------------------------------------------------------------- threading


async def test_replies_thread_by_in_reply_to_and_by_number_and_agents_reply_by_email(
    app: FastAPI, client: httpx.AsyncClient, relay: Relay,
) -> None:
    world = await make_world(app)
    await deliver(app, compose(sender="maria.lopez@outlook.example",
                               message_id="m1@outlook.example"))
    await run_jobs(app)
    [(ticket, _)] = await email_tickets(app)
    [auto] = relay.received
    auto_id = str(auto.message["Message-ID"]).strip("<>")

    # Outlook's reply to the auto-reply: In-Reply-To names it; quoted history cut.
    code, _ = await deliver(app, fixture("outlook_reply.eml", in_reply_to=auto_id),
                            mail_from="maria.lopez@outlook.example")
    assert code == 250
    [(same, messages)] = await email_tickets(app)
    assert same.id == ticket.id
    assert messages[-1].body.endswith("Thanks,\nMaria")
    assert "could you send us the TxID" not in messages[-1].body

    # An agent answers; the mail threads under the customer's last one.
    await agent_reply(app, client, ticket.number, "We found it: it is being credited now.",
                      world.headers["supervisor"])
    await run_jobs(app)
    sent = relay.received[-1]
    outlook_id = "DM6PR11MB4691A1B2C3D4E5F6@DM6PR11MB4691.namprd11.prod.outlook.example"
    assert str(sent.message["In-Reply-To"]).strip() == f"<{outlook_id}>"
    assert str(sent.message["References"]).split() == [
        "<m1@outlook.example>", f"<{auto_id}>", f"<{outlook_id}>"]
    assert sent.message["Subject"] == f"Re: [{ticket.number}] Deposit not credited"
    assert sent.message["Auto-Submitted"] is None  # a person wrote it
    assert sent.message.get_content_type() == "multipart/alternative"
    assert "We found it: it is being credited now." in sent.text()
    assert "never ask for your password" in sent.html()
    async with app.state.db.transaction() as session:
        out = await session.scalar(select(ChannelMessage).where(
            ChannelMessage.external_id == str(sent.message["Message-ID"]).strip("<>")))
        assert out is not None
        assert (out.direction, out.ticket_id) == ("out", ticket.id)

    # A new mail (no In-Reply-To) naming the ticket in its subject joins it too.
    code, _ = await deliver(app, compose(sender="maria.lopez@outlook.example",
                                         subject=f"Re: [{ticket.number.lower()}] thanks",
                                         body="Received, thank you!"))
    assert code == 250
    [(same, messages)] = await email_tickets(app)
    assert messages[-1].body == "Received, thank you!"


async def test_a_stranger_knowing_a_number_or_message_id_opens_their_own_ticket(
    app: FastAPI, relay: Relay,
) -> None:
    await deliver(app, compose(sender="victim@mail.example", message_id="v1@mail.example"))
    [(victim_ticket, _)] = await email_tickets(app)
    for mail in (compose(sender="mallory@evil.example", subject=f"Re: [{victim_ticket.number}] x",
                         body="Please send the funds to my new address."),
                 compose(sender="mallory@evil.example", subject="Re: Deposit not credited",
                         body="Please send the funds to my other address.",
                         in_reply_to="v1@mail.example")):
        code, _ = await deliver(app, mail, mail_from="mallory@evil.example")
        assert code == 250
    tickets = await email_tickets(app)
    assert len(tickets) == 3
    (first, first_messages), *others = tickets
    assert first.id == victim_ticket.id
    assert len(first_messages) == 1
    assert {t.customer_id for t, _ in others} != {victim_ticket.customer_id}
    assert all(t.subject in ("x", "Deposit not credited") for t, _ in others)


async def test_resolved_reopens_and_closed_opens_a_new_ticket(
    app: FastAPI, client: httpx.AsyncClient,
) -> None:
    world = await make_world(app)
    await deliver(app, compose(sender="ann@mail.example", message_id="a1@mail.example"))
    [(ticket, _)] = await email_tickets(app)
    headers = world.headers["supervisor"]
    resolved = await client.post(f"/api/v1/tickets/{ticket.number}/status", headers=headers,
                                 json={"status": "resolved"})
    assert resolved.status_code == 200, resolved.text
    await deliver(app, compose(sender="ann@mail.example", in_reply_to="a1@mail.example",
                               message_id="a2@mail.example", body="It happened again."))
    [(reopened, _)] = await email_tickets(app)
    assert reopened.status == "open"
    for status in ("resolved", "closed"):
        changed = await client.post(f"/api/v1/tickets/{ticket.number}/status",
                                    headers=headers, json={"status": status})
        assert changed.status_code == 200, changed.text
    await deliver(app, compose(sender="ann@mail.example", in_reply_to="a2@mail.example",
                               body="And once more, sorry."))
    tickets = await email_tickets(app)
    assert len(tickets) == 2
    new_ticket, new_messages = tickets[1]
    assert new_ticket.status == "new"
    assert new_ticket.channel == "email"
    assert any(m.internal and ticket.number in m.body for m in new_messages)


# ---------------------------------------------------------------- the secret guard


async def test_secrets_in_the_body_and_in_a_file_are_masked_and_the_customer_told(
    app: FastAPI, relay: Relay,
) -> None:
    password = "Tr0ub4dor&3xyz!"
    mail = compose(
        sender="carol@mail.example",
        body=f"My wallet seed is {SEED}\nand my password: {password}\nplease help",
        files=[("backup.txt", f"recovery words:\n{SEED}\n".encode(), "text/plain"),
               ("notes.txt", b"TxID 0xabc, nothing secret here", "text/plain")])
    code, _ = await deliver(app, mail)
    assert code == 250
    stored = await everything_stored(app)
    for word in (SEED, password, " ".join(SEED.split()[:4])):
        assert word not in stored
    [(ticket, messages)] = await email_tickets(app)
    assert "password" in messages[0].body  # the words around the secret stay
    notices = [m for m in messages if m.author_kind == "system" and not m.internal]
    assert notices  # the customer is told, in the ticket …
    async with app.state.db.transaction() as session:
        files = {a.filename: a for a in await session.scalars(select(Attachment))}
    assert files["backup.txt"].withheld_reason is not None
    assert files["notes.txt"].withheld_reason is None
    await run_jobs(app)
    told = [r for r in relay.received if r.message["Auto-Submitted"] == "auto-generated"]
    assert told  # … and by email
    assert all(SEED not in r.text() for r in relay.received)


# ---------------------------------------------------------------- machines


async def test_auto_submitted_mail_gets_no_auto_reply(app: FastAPI, relay: Relay) -> None:
    for headers in ({"Auto-Submitted": "auto-generated"}, {"Precedence": "bulk"},
                    {"X-Auto-Response-Suppress": "All"}):
        code, _ = await deliver(app, compose(sender="robot@mail.example", headers=headers,
                                             body=f"Report {headers}"))
        assert code == 250
    code, _ = await deliver(app, compose(sender="vacation@mail.example", body="Away"),
                            mail_from="")  # the null sender <>
    assert code == 250
    assert len(await email_tickets(app)) == 4
    await run_jobs(app)
    assert relay.received == []


async def test_bounces_create_no_ticket_and_land_on_the_ticket_they_are_about(
    app: FastAPI, client: httpx.AsyncClient, relay: Relay,
) -> None:
    world = await make_world(app)
    await deliver(app, compose(sender="gone@mail.example"))
    [(ticket, _)] = await email_tickets(app)
    await agent_reply(app, client, ticket.number, "Could you send the TxID?",
                      world.headers["supervisor"])
    await run_jobs(app)
    ours = str(relay.received[-1].message["Message-ID"]).strip("<>")

    bounce = fixture("postfix_bounce.eml", original=ours, recipient="gone@mail.example")
    code, _ = await deliver(app, bounce, mail_from="")
    assert code == 250
    code, _ = await deliver(app, bounce, mail_from="")  # delivered twice: recorded once
    assert code == 250
    unknown = fixture("postfix_bounce.eml", original="not-ours@elsewhere.example",
                      recipient="x@mail.example").replace(b"9C1E4C0A44", b"9C1E4C0A45")
    code, _ = await deliver(app, unknown, mail_from="")
    assert code == 250

    [(same, messages)] = await email_tickets(app)  # no ticket for any bounce
    notes = [m for m in messages if m.internal and "did not get our email" in m.body]
    assert len(notes) == 1
    assert "User unknown" in notes[0].body
    assert "email_bounced" in [e.kind for e in await events(app, same)]
    sent_before = len(relay.received)
    await run_jobs(app)
    assert len(relay.received) == sent_before  # nothing answers a bounce


async def test_out_of_office_reply_threads_without_an_answer(app: FastAPI, relay: Relay) -> None:
    await deliver(app, compose(sender="maria.lopez@outlook.example", message_id="q1@x.example"))
    await run_jobs(app)
    received = len(relay.received)
    code, _ = await deliver(app, fixture("out_of_office.eml", in_reply_to="q1@x.example"),
                            mail_from="")
    assert code == 250
    [(ticket, messages)] = await email_tickets(app)
    assert "out of the office" in messages[-1].body
    assert "email_automatic" in [e.kind for e in await events(app, ticket)]
    await run_jobs(app)
    assert len(relay.received) == received


async def test_the_same_message_id_twice_stores_one_message(app: FastAPI) -> None:
    mail = compose(message_id="twice@mail.example")
    assert (await deliver(app, mail))[0] == 250
    assert (await deliver(app, mail))[0] == 250
    [(_, messages)] = await email_tickets(app)
    assert len([m for m in messages if m.author_kind == "customer"]) == 1


# ---------------------------------------------------------------- refusals


async def test_listener_refusals_are_smtp_errors_never_crashes(app: FastAPI) -> None:
    code, text = await deliver(app, compose(), rcpt="someone@elsewhere.example")
    assert code == 550
    assert "mailbox unavailable" in text
    big = compose(files=[("video.mp4", b"\x00" * (MAX_BYTES + 1000), "video/mp4")])
    code, _ = await deliver(app, big)
    assert code == 552
    code, text = await deliver(app, b"this is not an email at all\r\n")
    assert code == 550
    assert "5.6.0" in text
    code, _ = await deliver(app, b"Subject: no sender\r\n\r\nhello\r\n", mail_from="")
    assert code == 550
    assert await email_tickets(app) == []
    assert (await deliver(app, compose()))[0] == 250  # still serving


async def test_files_refused_by_the_pipeline_are_noted_and_the_mail_lands(app: FastAPI) -> None:
    mail = compose(files=[("installer.exe", b"MZ\x90\x00" + bytes(200), "application/octet-stream"),
                          ("huge.pdf", b"%PDF-1.4\n" + b"0" * 120_000, "application/pdf"),
                          ("ok.txt", b"fine", "text/plain")])
    assert (await deliver(app, mail))[0] == 250
    [(_, messages)] = await email_tickets(app)
    [note] = [m for m in messages if m.internal]
    assert "installer.exe" in note.body
    assert "huge.pdf" in note.body
    assert "ok.txt" not in note.body
    async with app.state.db.transaction() as session:
        assert [a.filename for a in await session.scalars(select(Attachment))] == ["ok.txt"]


async def test_a_flood_is_deferred_and_cannot_open_many_tickets(
    database_url: str, tmp_path: Path, relay: Relay,
) -> None:
    from kefu.app import create_app

    settings = make_settings(database_url, tmp_path, relay.port, email_rate_limit=4,
                             email_new_tickets_per_hour=2)
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        codes = [(await deliver(application, compose(subject=f"Loop {i}", body=f"Mail {i}")))[0]
                 for i in range(6)]
        assert codes == [250, 250, 250, 250, 451, 451]
        tickets = await email_tickets(application)
        assert len(tickets) == 2  # two new tickets; the next mails joined the newest
        assert sum(len(m) for _, m in tickets) == 4


# ---------------------------------------------------------------- outbound delivery


async def test_relay_down_then_delivered_once(
    app: FastAPI, client: httpx.AsyncClient, relay: Relay,
) -> None:
    world = await make_world(app)
    await deliver(app, compose(sender="dan@mail.example"))
    [(ticket, _)] = await email_tickets(app)
    await run_jobs(app)  # the auto-reply
    port = relay.port
    await relay.stop()  # the relay goes away
    await agent_reply(app, client, ticket.number, "We are on it.", world.headers["supervisor"])
    await run_jobs(app)
    async with app.state.db.transaction() as session:
        job = await session.scalar(select(Job).where(Job.name == DELIVER_JOB))
        assert job is not None
        assert (job.status, job.attempts) == ("queued", 1)
        assert job.last_error
    await relay.start(port)  # back
    await asyncio.sleep(0.05)  # past the (test-sized) backoff
    await run_jobs(app)
    delivered = [r for r in relay.received if "We are on it." in r.text()]
    assert len(delivered) == 1
    async with app.state.db.transaction() as session:
        job = await session.scalar(select(Job).where(Job.name == DELIVER_JOB))
        assert job is not None
        assert job.status == "done"
        message = await session.scalar(select(Message).where(Message.body == "We are on it."))
        assert message is not None
        payload = {"message_id": str(message.id)}

    # The job runs again (a retry after a lost commit, an operator's re-run): nothing is sent.
    handler = app.state.job_registry.get(DELIVER_JOB)
    from kefu.jobs.runner import JobContext

    async with app.state.db.transaction() as session:
        ctx = JobContext(settings=app.state.settings, db=app.state.db, http=None,  # type: ignore[arg-type]
                         attempt=3, job_id=job.id, max_attempts=8)
        await handler(session, payload, ctx)
    assert len([r for r in relay.received if "We are on it." in r.text()]) == 1


async def test_relay_refusal_is_noted_on_the_ticket(
    app: FastAPI, client: httpx.AsyncClient, relay: Relay,
) -> None:
    world = await make_world(app)
    await deliver(app, compose(sender="erin@mail.example"))
    [(ticket, _)] = await email_tickets(app)
    relay.refuse = "554 5.7.1 message rejected as spam"
    await agent_reply(app, client, ticket.number, "Hello!", world.headers["supervisor"])
    await run_jobs(app)
    [(_, messages)] = await email_tickets(app)
    [note] = [m for m in messages if m.internal]
    assert "Not delivered by email" in note.body
    assert "554" in note.body
    assert "delivery_failed" in [e.kind for e in await events(app, ticket)]
    async with app.state.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Job).where(
            Job.status != "done")) == 0


# ---------------------------------------------------------------- kefu email ingest


def test_cli_ingest_files_refuses_and_defers(
    database_url: str, tmp_path: Path,
) -> None:
    from typer.testing import CliRunner

    from kefu.cli import app as cli

    env = {"KEFU_DATABASE_URL": database_url, "KEFU_DATA_DIR": str(tmp_path),
           "KEFU_ENV": "test", "KEFU_SUPPORT_EMAIL": SUPPORT, "KEFU_LOG_LEVEL": "WARNING",
           "KEFU_EMAIL_RATE_LIMIT": "2"}
    runner = CliRunner()
    raw = fixture("foxmail_gbk.eml")

    def ingest(data: bytes) -> tuple[int, str, str]:
        result = runner.invoke(cli, ["email", "ingest"], input=data, env=env)
        return result.exit_code, result.stdout.strip(), result.stderr.strip()

    code, out, err = ingest(raw)
    assert (code, err) == (0, "")
    assert out.startswith("created KF-")
    assert ingest(raw)[:2] == (0, "duplicate")
    code, out, err = ingest(b"hello, this is not an email\n")
    assert (code, out) == (2, "")
    assert err == "kefu: refused: not an RFC 5322 message (no header at the start)"
    assert ingest(b"")[0] == 2
    reply = raw.replace(b"202611250912400121345@qq.example", b"second@qq.example")
    assert ingest(reply)[0] == 0
    third = raw.replace(b"202611250912400121345@qq.example", b"third@qq.example")
    code, _, err = ingest(third)  # over KEFU_EMAIL_RATE_LIMIT: the MTA should try later
    assert code == 75
    assert err.startswith("kefu: deferred:")


async def test_subject_name_and_long_body_are_guarded_and_bounded(app: FastAPI) -> None:
    password = "Sup3rS3cret!pass"
    mail = compose(sender=f'"password: {password}" <frank@mail.example>',
                   subject=f"login fails, password: {password}",
                   body="\n".join(f"line {i} of a very long log file" for i in range(1500)))
    assert (await deliver(app, mail))[0] == 250
    assert password not in await everything_stored(app)
    [(ticket, messages)] = await email_tickets(app)
    assert "login fails" in ticket.subject
    body = messages[0].body
    assert len(body) <= 20_000
    assert body.startswith("line 0 of")
    assert body.endswith("more characters not kept]")


async def test_mail_from_our_own_address_is_dropped(app: FastAPI, relay: Relay) -> None:
    code, text = await deliver(app, compose(sender=f"Support <{SUPPORT}>"), mail_from=SUPPORT)
    assert code == 250
    assert "ignored" in text
    assert await email_tickets(app) == []
    await run_jobs(app)
    assert relay.received == []
