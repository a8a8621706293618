"""Reading emails: charsets, the quoted history of replies, HTML, machines and bounces, files;
and that no input crashes the parser."""

from __future__ import annotations

import base64
from email.message import EmailMessage

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kefu.channels.email_parse import (
    MalformedEmail,
    external_id,
    html_to_text,
    message_ids,
    parse_email,
    strip_quoted,
)
from tests.channels.email_support import fixture


def raw_mail(headers: str, body: bytes = b"hello\r\n") -> bytes:
    return headers.replace("\n", "\r\n").encode("latin-1") + b"\r\n" + body


# ---------------------------------------------------------------- quoted history


@pytest.mark.parametrize(("text", "kept"), [
    ("Still missing.\n\nOn Mon, Nov 23, 2026 at 4:02 PM Support <s@x.example> wrote:\n"
     "> Could you send the TxID?\n", "Still missing."),
    ("Still missing.\n\nOn Mon, Nov 23, 2026 at 4:02 PM Customer Support <\n"
     "support@demoex.example> wrote:\n> Could you send the TxID?\n", "Still missing."),
    ("还是没到账。\n\n在 2026年11月23日 周一 16:02，客服中心 <s@x.example> 写道：\n"
     "> 请提供交易哈希\n", "还是没到账。"),
    ("还是没到账。\n\n------------------ 原始邮件 ------------------\n"
     "发件人: \"客服中心\"<s@x.example>;\n发送时间: 2026年11月23日(星期一) 下午4:02\n"
     "收件人: \"我\";\n主题: 回复：充值\n\n请提供交易哈希\n", "还是没到账。"),
    ("Here it is.\n\n-----Original Message-----\nFrom: Support\nSent: Monday\n\nTxID?\n",
     "Here it is."),
    ("Here it is.\n\nFrom: Customer Support <s@x.example>\nSent: Monday, November 23, 2026\n"
     "To: Maria\nSubject: RE: x\n\nTxID?\n", "Here it is."),
    ("回复内容\n\n发件人: 客服中心 <s@x.example>\n发送时间: 2026年11月23日 16:02\n"
     "收件人: 我\n\n旧内容\n", "回复内容"),
    # Written below the quote: the new words stay, the quote goes.
    ("On Mon, Nov 23, 2026, Support <s@x.example> wrote:\n> TxID?\n\n0xabc is the TxID\n",
     "0xabc is the TxID"),
    # Nothing but quote: kept whole rather than lost.
    ("> only a quote\n> here\n", "> only a quote\n> here"),
    # "From:" in the customer's own words is not a header block.
    ("From: my Ledger\nTo: the exchange\nAmount: 2 ETH\n",
     "From: my Ledger\nTo: the exchange\nAmount: 2 ETH"),
])
def test_strip_quoted(text: str, kept: str) -> None:
    assert strip_quoted(text) == kept


def test_html_to_text_drops_markup_and_keeps_words() -> None:
    html = ("<html><head><title>t</title><style>p{}</style><script>evil()</script></head>"
            "<body><p>Line&nbsp;one &amp; <b>bold</b><br>line two</p>"
            "<ul><li>first</li><li>second</li></ul>"
            "<p><a href='https://help.example/x'>the article</a></p>"
            "<!-- hidden --><noscript>no</noscript></body></html>")
    text = html_to_text(html)
    assert text.splitlines() == ["Line one & bold", "line two", "- first", "- second",
                                 "the article (https://help.example/x)"]


def test_html_blockquote_is_quoted_history() -> None:
    mail = EmailMessage()
    mail["From"] = "a@mail.example"
    mail["Subject"] = "x"
    mail.set_content("<div>New words</div><blockquote>Old words</blockquote>", subtype="html")
    parsed = parse_email(mail.as_bytes())
    assert parsed.body == "New words"
    assert parsed.html_only


# ---------------------------------------------------------------- charsets


def test_gb2312_label_with_gbk_characters() -> None:
    body = "王堃说：镕币提现".encode("gbk")  # 堃 and 镕 are GBK, not GB2312
    raw = raw_mail("From: a@mail.example\nSubject: =?GB2312?B?"
                   + base64.b64encode("提现 堃".encode("gbk")).decode()
                   + "?=\nContent-Type: text/plain; charset=gb2312\n"
                   "Content-Transfer-Encoding: 8bit\n", body)
    parsed = parse_email(raw)
    assert parsed.subject == "提现 堃"
    assert parsed.body == "王堃说：镕币提现"


def test_raw_utf8_headers_and_unknown_charset() -> None:
    raw = ("From: 李娜 <li.na@mail.example>\r\nSubject: 充值没到账\r\n"
           "Content-Type: text/plain; charset=x-no-such-charset\r\n\r\n").encode() + \
        "余额不对".encode()
    parsed = parse_email(raw)
    assert (parsed.from_name, parsed.subject, parsed.body) == ("李娜", "充值没到账", "余额不对")


def test_encoded_name_with_a_comma_stays_one_name() -> None:
    name = "=?utf-8?b?" + base64.b64encode(b"Zhou, Bo <x@evil.example>").decode() + "?="
    parsed = parse_email(raw_mail(f"From: {name} <bo@mail.example>\n"))
    assert (parsed.from_name, parsed.from_address) == ("Zhou, Bo <x@evil.example>",
                                                       "bo@mail.example")


def test_fixtures_decode() -> None:
    foxmail = parse_email(fixture("foxmail_gbk.eml"))
    assert (foxmail.from_name, foxmail.from_address) == ("王堃", "wang.kun@qq.example")
    assert foxmail.message_id == "202611250912400121345@qq.example"
    assert foxmail.date is not None
    assert foxmail.date.utcoffset() is not None
    big5 = parse_email(fixture("big5.eml"))
    assert big5.from_name == "陳大文"
    assert "無法登入" in big5.body


def test_rfc2231_filename_in_gbk() -> None:
    mail = EmailMessage()
    mail["From"] = "a@mail.example"
    mail["Subject"] = "files"
    mail.set_content("see attached")
    mail.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf",
                        filename=("gbk", "", "充值凭证.pdf"))
    [file] = parse_email(mail.as_bytes()).attachments
    assert file.filename == "充值凭证.pdf"
    assert file.data == b"%PDF-1.4"


# ---------------------------------------------------------------- ids and threading


def test_message_ids() -> None:
    assert message_ids(" <a@b> <c@d>\r\n\t<e@f>") == ("a@b", "c@d", "e@f")
    assert message_ids("bare@id") == ("bare@id",)
    assert message_ids("") == ()
    long_id = "x" * 600 + "@y"
    assert external_id(long_id).startswith("sha256:")
    assert len(external_id(long_id)) < 80
    parsed = parse_email(raw_mail("From: a@mail.example\nIn-Reply-To: <p@x>\n"
                                  "References: <r1@x> <r2@x> <p@x>\n"))
    assert parsed.thread_ids == ("p@x", "r2@x", "r1@x")


def test_missing_message_id_is_made_from_the_bytes() -> None:
    raw = raw_mail("From: a@mail.example\nSubject: x\n")
    assert parse_email(raw).message_id == parse_email(raw).message_id
    assert parse_email(raw).message_id != parse_email(raw + b"more").message_id


# ---------------------------------------------------------------- machines


@pytest.mark.parametrize(("header", "reason"), [
    ("Auto-Submitted: auto-replied", "auto-submitted"),
    ("Auto-Submitted: auto-generated; owner-email=x@y", "auto-submitted"),
    ("Precedence: bulk", "precedence"),
    ("Precedence: junk", "precedence"),
    ("Precedence: list", "precedence"),
    ("X-Auto-Response-Suppress: OOF, AutoReply", "auto-response-suppress"),
    ("List-Id: <announce.lists.example>", "list"),
    ("Return-Path: <>", "null-sender"),
])
def test_automatic_mail(header: str, reason: str) -> None:
    assert parse_email(raw_mail(f"From: a@mail.example\n{header}\n")).auto == reason


def test_people_are_not_machines() -> None:
    assert parse_email(raw_mail("From: a@mail.example\nAuto-Submitted: no\n")).auto is None
    assert parse_email(raw_mail("From: a@mail.example\n")).auto is None
    assert parse_email(raw_mail("From: a@mail.example\n"), envelope_from="").auto == "null-sender"


def test_dsn_bounce() -> None:
    parsed = parse_email(fixture("postfix_bounce.eml", original="ours-1@demoex.example",
                                 recipient="gone@mail.example"), envelope_from="")
    assert parsed.bounce is not None
    assert parsed.bounce.original_ids == ("ours-1@demoex.example",)
    assert (parsed.bounce.action, parsed.bounce.status) == ("failed", "5.1.1")
    assert parsed.bounce.recipient == "gone@mail.example"
    assert "User unknown in virtual mailbox table" in parsed.bounce.diagnostic
    assert parsed.attachments == ()


def test_plain_text_bounce_from_a_mailer_daemon() -> None:
    raw = raw_mail("From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example>\n"
                   "Subject: Returned mail\nMessage-ID: <own@mx.example>\n",
                   b"The following message could not be delivered:\r\n\r\n"
                   b"   Message-ID: <ours-2@demoex.example>\r\n   Subject: Re: [KF-7Q4M2X]\r\n")
    parsed = parse_email(raw)
    assert parsed.bounce is not None
    assert parsed.bounce.original_ids == ("ours-2@demoex.example",)
    assert parsed.bounce.action == "failed"


def test_read_receipt_is_a_report_not_a_failure() -> None:
    raw = raw_mail("From: a@mail.example\nMessage-ID: <mdn@mail.example>\n"
                   "Content-Type: multipart/report; report-type=disposition-notification; "
                   "boundary=B\n",
                   b"--B\r\nContent-Type: text/plain\r\n\r\nRead.\r\n--B\r\n"
                   b"Content-Type: message/disposition-notification\r\n\r\n"
                   b"Original-Message-ID: <ours-3@demoex.example>\r\n"
                   b"Disposition: manual-action/MDN-sent-manually; displayed\r\n--B--\r\n")
    parsed = parse_email(raw)
    assert parsed.bounce is not None
    assert parsed.bounce.action == "report"


# ---------------------------------------------------------------- files


def test_attachments_inline_images_and_forwarded_mail() -> None:
    inner = EmailMessage()
    inner["From"] = "x@mail.example"
    inner["Subject"] = "forwarded"
    inner.set_content("inner text")
    mail = EmailMessage()
    mail["From"] = "a@mail.example"
    mail["Subject"] = "files"
    mail.set_content("text part")
    mail.add_alternative("<p>html part</p>", subtype="html")
    mail.add_attachment(b"\x89PNG\r\n\x1a\n", maintype="image", subtype="png",
                        filename="shot.png")
    mail.add_attachment(inner)
    parsed = parse_email(mail.as_bytes())
    assert parsed.body == "text part"
    assert [(f.filename, f.declared_type) for f in parsed.attachments] == [
        ("shot.png", "image/png"), ("message.eml", "message/rfc822")]
    assert b"inner text" in parsed.attachments[1].data


def test_too_many_files_are_listed_as_skipped() -> None:
    mail = EmailMessage()
    mail["From"] = "a@mail.example"
    mail.set_content("many")
    for i in range(23):
        mail.add_attachment(b"x", maintype="text", subtype="plain", filename=f"f{i}.txt")
    parsed = parse_email(mail.as_bytes())
    assert len(parsed.attachments) == 20
    assert len(parsed.skipped) == 3
    assert "f22.txt" in parsed.skipped[-1]


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("raw", [b"", b"\r\n\r\n", b"just some text", b"\x00\x01\x02",
                                 b"Subject: no sender\r\n\r\nhi"])
def test_malformed(raw: bytes) -> None:
    with pytest.raises(MalformedEmail):
        parse_email(raw)


_HEADERS = st.sampled_from([
    b"From: a@mail.example\r\n", b"From: =?gb2312?B?zfWI0g==?= <b@mail.example>\r\n",
    b"Subject: =?utf-8?q?=E4=BD=A0?=\r\n", b"Content-Type: multipart/mixed; boundary=X\r\n",
    b"Content-Type: multipart/report; report-type=delivery-status; boundary=X\r\n",
    b"Content-Type: text/html; charset=gbk\r\n", b"Content-Transfer-Encoding: base64\r\n",
    b"In-Reply-To: <<>>\r\n", b"References: <a@b\r\n", b"Message-ID: \r\n",
    b"From: \"unterminated <x@y\r\n", b"Date: 32 Foo 99999 99:99 +9999\r\n",
    b"Content-Disposition: attachment; filename*=gbk''%B3%E4\r\n",
])


@settings(max_examples=300, deadline=None)
@given(headers=st.lists(_HEADERS, max_size=8), body=st.binary(max_size=600),
       parts=st.lists(st.binary(max_size=80), max_size=4))
def test_no_input_crashes_the_parser(headers: list[bytes], body: bytes,
                                     parts: list[bytes]) -> None:
    raw = b"".join(headers) + b"\r\n" + body + b"".join(
        b"\r\n--X\r\n" + p for p in parts) + b"\r\n--X--\r\n"
    try:
        parsed = parse_email(raw)
    except MalformedEmail:
        return
    assert "\x00" not in parsed.body
    assert all(ch not in parsed.subject for ch in "\r\n")
