"""Reading one email (RFC 5322 bytes) into what the email channel needs: who sent it, how it
threads, what the customer newly wrote, its files, and whether a machine sent it.

Pure functions over bytes, no database: ``parse_email`` is what ``kefu.channels.email_in`` calls
and what the unit tests feed real messages to. The stdlib ``email`` package does the MIME work
(``policy.default``); on top of it:

- **Charsets.** Chinese mail labelled ``gb2312`` or ``gbk`` is decoded as GB18030 (the superset
  that mailers really write), ``big5`` as Big5-HKSCS; a part in an unknown charset is read as
  UTF-8, else GB18030, never refused. Encoded-word headers (``=?GB2312?B?…?=``) get the same
  mapping, and so do raw 8-bit headers.
- **Text.** The ``text/plain`` body, else the HTML one turned into text (scripts, styles and
  tags dropped; no HTML is kept), with the quoted history of a reply cut off: ``>`` lines,
  "On … wrote:", "在 … 写道：", Outlook's "-----Original Message-----" and "From: … Sent: …"
  blocks. What is left is what the customer newly wrote (all of it when nothing is left).
- **Machines.** ``auto`` says why a message must get no automatic answer (``Auto-Submitted``,
  ``Precedence: bulk/junk/list``, ``X-Auto-Response-Suppress``, a null sender, a list); ``bounce``
  holds a delivery report (``multipart/report`` or a mailer-daemon's message) and the Message-IDs
  of the mail it reports on."""

from __future__ import annotations

import contextlib
import email
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.header import decode_header
from email.message import EmailMessage, Message
from email.parser import HeaderParser
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser
from typing import Final

MAX_ATTACHMENTS: Final = 20
MAX_EXTERNAL_ID: Final = 500
# Charsets that mailers label one way and write another: decode with the superset.
_CHARSET_ALIASES: Final = {
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "cp936": "gb18030",
    "gb_2312-80": "gb18030", "euc-cn": "gb18030", "x-euc-cn": "gb18030", "gb18030": "gb18030",
    "big5": "big5hkscs", "x-big5": "big5hkscs", "cp950": "big5hkscs",
    "ks_c_5601-1987": "cp949", "unknown-8bit": "utf-8", "x-unknown": "utf-8",
    "us-ascii": "utf-8", "ascii": "utf-8",  # ASCII-labelled mail often carries UTF-8 anyway
}
_HEADER_LINE: Final = re.compile(rb"^[!-9;-~]+[ \t]*:")
_MSG_ID: Final = re.compile(r"<([^<>\s]{1,998})>")
_AUTO_PRECEDENCE: Final = ("bulk", "junk", "list")
_DAEMON_LOCALS: Final = ("mailer-daemon", "postmaster", "mail-daemon", "maildaemon")


class MalformedEmail(ValueError):
    """Bytes that are not an email we can read (no headers, no sender)."""


@dataclass(frozen=True)
class MailFile:
    """An attached (or inline) file as it came: name and type as the sender claimed them."""

    filename: str | None
    declared_type: str
    data: bytes
    inline: bool = False


@dataclass(frozen=True)
class Bounce:
    """A delivery report: the Message-IDs it reports on (ours, if we sent them), whether
    delivery failed for good (``failed``) or was only ``delayed``, and what the remote server
    said."""

    original_ids: tuple[str, ...]
    action: str  # failed | delayed | delivered | relayed | expanded | unknown
    status: str = ""
    diagnostic: str = ""
    recipient: str = ""


@dataclass(frozen=True)
class ParsedEmail:
    from_address: str  # lower-cased; "" when there is none
    from_name: str
    subject: str
    message_id: str  # without angle brackets; made up from the bytes when missing
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    date: datetime | None
    body: str  # what the sender newly wrote (quoted history cut)
    attachments: tuple[MailFile, ...] = ()
    skipped: tuple[str, ...] = ()  # files not kept and why ("a.zip: more than 20 files")
    auto: str | None = None  # why no automatic reply may go back
    bounce: Bounce | None = None
    html_only: bool = False
    defects: tuple[str, ...] = field(default=(), repr=False)

    @property
    def thread_ids(self) -> tuple[str, ...]:
        """Message-IDs this mail answers, the most direct first."""
        seen: dict[str, None] = {}
        for ref in (*self.in_reply_to, *reversed(self.references)):
            seen.setdefault(ref, None)
        return tuple(seen)


# ---------------------------------------------------------------- entry point


def parse_email(raw: bytes, *, envelope_from: str | None = None) -> ParsedEmail:
    """Read ``raw``. ``envelope_from`` is SMTP's MAIL FROM ("" for the null sender ``<>``,
    None when unknown). Raises :class:`MalformedEmail` for bytes that are not a message or
    have no sender at all."""
    if not raw or not _HEADER_LINE.match(raw.lstrip(b"\r\n")[:1000]):
        raise MalformedEmail("not an RFC 5322 message (no header at the start)")
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    name, address = _sender(msg)
    if not address and envelope_from:
        address = envelope_from.strip().strip("<>").lower()
    bounce = _bounce(msg, address)
    if not address and bounce is None:
        raise MalformedEmail("the message has no sender address")
    body, html_only = _body_text(msg)
    files, skipped = _files(msg) if bounce is None else ((), ())
    return ParsedEmail(
        from_address=address, from_name=name,
        subject=_clean_line(_header_text(msg, "Subject")),
        message_id=_message_id(msg, raw),
        in_reply_to=message_ids(_header_text(msg, "In-Reply-To")),
        references=message_ids(_header_text(msg, "References")),
        date=_date(msg), body=strip_quoted(body), attachments=files, skipped=skipped,
        auto=_automatic(msg, address, envelope_from), bounce=bounce, html_only=html_only,
        defects=tuple(type(d).__name__ for d in msg.defects),
    )


# ---------------------------------------------------------------- headers


def decode_bytes(data: bytes, charset: str | None) -> str:
    """``data`` in ``charset`` (through the aliases above); undecodable or unknown: UTF-8,
    else GB18030, with replacement characters as the last resort. NUL bytes are dropped."""
    name = (charset or "utf-8").strip().strip('"').lower()
    name = _CHARSET_ALIASES.get(name, name)
    for candidate in (name, "utf-8", "gb18030"):
        try:
            return data.decode(candidate).replace("\x00", "")
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("utf-8", "replace").replace("\x00", "")


def _raw_header(msg: Message, name: str) -> str | None:
    for key, value in msg.raw_items():
        if key.lower() == name.lower():
            return str(value)
    return None


def _raw_text(msg: Message, name: str) -> str:
    """A header as it came, unfolded, with raw 8-bit bytes (UTF-8 or GB18030, where a mailer
    sent them) decoded; encoded words left as they are."""
    raw = _raw_header(msg, name)
    if raw is None:
        return ""
    if any("\udc80" <= ch <= "\udcff" for ch in raw):  # 8-bit bytes kept as surrogates
        raw = decode_bytes(raw.encode("ascii", "surrogateescape"), "utf-8")
    return re.sub(r"\r?\n[ \t]+", " ", raw).strip()


def _decode_words(text: str) -> str:
    """Encoded words (``=?GB2312?B?…?=``) decoded in the charsets mailers mislabel."""
    if "=?" not in text:
        return text
    try:
        parts = decode_header(text)
    except Exception:  # noqa: BLE001 - a broken encoded word: keep the text as it came
        return text
    # decode_header drops the whitespace between two encoded words, as RFC 2047 says.
    return "".join(decode_bytes(chunk, charset) if isinstance(chunk, bytes) else chunk
                   for chunk, charset in parts).strip()


def _header_text(msg: Message, name: str) -> str:
    """A header's text, decoded by hand from its raw form (see the two above)."""
    return _decode_words(_raw_text(msg, name))


def _clean_line(text: str) -> str:
    return re.sub(r"[\x00-\x1f\x7f]+", " ", text).strip()


def _sender(msg: Message) -> tuple[str, str]:
    """(display name, lower-cased address) of the first From address. The address is read
    before the name is decoded, so a decoded name with a comma or brackets stays a name."""
    pairs = [(n, a) for n, a in getaddresses([_raw_text(msg, "From")]) if "@" in a]
    if not pairs:
        return "", ""
    name, address = pairs[0]
    return _clean_line(_decode_words(name))[:100], address.strip().lower()


def message_ids(value: str) -> tuple[str, ...]:
    """The ``<id>``s in an In-Reply-To or References header, brackets removed, in order."""
    ids = tuple(external_id(m) for m in _MSG_ID.findall(value))
    if not ids and value.strip() and " " not in value.strip():
        return (external_id(value.strip()),)  # a bare id without its brackets
    return ids


def external_id(message_id: str) -> str:
    """How a Message-ID is stored (``channel_messages.external_id``): as it came, or its hash
    when it is longer than the column."""
    if len(message_id) <= MAX_EXTERNAL_ID:
        return message_id
    return "sha256:" + hashlib.sha256(message_id.encode("utf-8", "replace")).hexdigest()


def _message_id(msg: Message, raw: bytes) -> str:
    ids = message_ids(_header_text(msg, "Message-ID"))
    if ids:
        return ids[0]
    # No Message-ID: the same bytes delivered twice are still one message.
    return f"sha256.{hashlib.sha256(raw).hexdigest()}@kefu.invalid"


def _date(msg: Message) -> datetime | None:
    text = _header_text(msg, "Date")
    if not text:
        return None
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo is not None else None


# ---------------------------------------------------------------- machines


def _automatic(msg: Message, address: str, envelope_from: str | None) -> str | None:
    """Why this message must not be answered automatically, or None for a person's mail."""
    auto_submitted = _header_text(msg, "Auto-Submitted").lower()
    if auto_submitted and auto_submitted.split(";")[0].strip() != "no":
        return "auto-submitted"
    if _header_text(msg, "Precedence").lower().strip() in _AUTO_PRECEDENCE:
        return "precedence"
    if _raw_header(msg, "X-Auto-Response-Suppress") is not None:
        return "auto-response-suppress"
    if any(_raw_header(msg, h) is not None for h in ("X-Autoreply", "X-Autorespond")):
        return "auto-submitted"
    if _raw_header(msg, "List-Id") is not None or _raw_header(msg, "List-Unsubscribe"):
        return "list"
    return_path = _raw_header(msg, "Return-Path")
    if envelope_from == "" or (return_path is not None and return_path.strip() in ("<>", "")):
        return "null-sender"
    if _is_daemon(address):
        return "mailer-daemon"
    if msg.get_content_type() == "multipart/report":
        return "report"
    return None


def _is_daemon(address: str) -> bool:
    local = address.split("@")[0].lower()
    return local in _DAEMON_LOCALS or local.startswith(("mailer-daemon", "postmaster"))


def _bounce(msg: Message, address: str) -> Bounce | None:
    """A delivery report, as a DSN (``multipart/report``, RFC 3464) or, from a mailer daemon,
    as the plain text older servers send. Read receipts and other reports count too: none of
    them is a customer writing."""
    if msg.get_content_type() == "multipart/report":
        action, status, diagnostic, recipient = "unknown", "", "", ""
        for part in msg.walk():
            if part.get_content_type() == "message/delivery-status":
                fields = _delivery_fields(part)
                action = fields.get("action", "unknown").lower().split()[0] if fields.get(
                    "action") else "unknown"
                status = fields.get("status", "")
                diagnostic = fields.get("diagnostic-code", "")
                recipient = fields.get("final-recipient", "").split(";")[-1].strip()
        report_type = msg.get_param("report-type", "")
        if (not isinstance(report_type, str) or report_type.lower() != "delivery-status"
                ) and action == "unknown":
            action = "report"  # a read receipt, a feedback report: nothing failed
        return Bounce(_reported_ids(msg), action, status[:40], " ".join(diagnostic.split())[:300],
                      recipient.strip("<> ")[:320])
    if address and _is_daemon(address):
        return Bounce(_reported_ids(msg), "failed")
    return None


def _delivery_fields(part: Message) -> dict[str, str]:
    """The first recipient's fields of a ``message/delivery-status`` part (the first block is
    the message's, the next ones each recipient's)."""
    fields: dict[str, str] = {}
    payload = part.get_payload()
    blocks = payload if isinstance(payload, list) else []
    if not blocks:  # some parsers leave it as text
        text = part.get_payload(decode=True)
        if isinstance(text, bytes):
            blocks = [HeaderParser().parsestr(b) for b in
                      decode_bytes(text, "utf-8").replace("\r\n", "\n").split("\n\n") if b]
    for block in blocks:
        if not isinstance(block, Message):
            continue
        for key, value in block.items():
            fields.setdefault(key.lower(), _clean_line(str(value)))
    return fields


def _reported_ids(msg: Message) -> tuple[str, ...]:
    """Message-IDs of the mail a report is about: from its attached message or headers, else
    any ``Message-ID:`` line in its text, else what the report itself replies to."""
    own = set(message_ids(_header_text(msg, "Message-ID")))
    found: list[str] = []
    for part in msg.walk():
        kind = part.get_content_type()
        if kind in ("message/rfc822", "message/global"):
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, Message):
                found += message_ids(_header_text(inner, "Message-ID"))
        elif kind in ("text/rfc822-headers", "message/rfc822-headers", "text/plain"):
            data = part.get_payload(decode=True)
            if isinstance(data, bytes):
                text = decode_bytes(data, part.get_content_charset())
                for match in re.finditer(r"(?im)^[ \t]*message-id:\s*(<[^<>\s]+>)", text):
                    found += message_ids(match.group(1))
    found += message_ids(_header_text(msg, "In-Reply-To"))
    found += message_ids(_header_text(msg, "References"))
    return tuple(dict.fromkeys(i for i in found if i not in own))


# ---------------------------------------------------------------- text


def _body_text(msg: EmailMessage) -> tuple[str, bool]:
    """(text, from HTML only). The plain-text alternative when there is one."""
    if msg.get_content_type() == "multipart/report":
        return "", False
    try:
        part = msg.get_body(preferencelist=("plain", "html"))
    except Exception:  # noqa: BLE001 - a broken structure: no body rather than no mail
        part = None
    if part is None:
        return "", False
    text = _part_text(part)
    if part.get_content_type() == "text/html":
        return html_to_text(text), True
    return text, False


def _part_text(part: Message) -> str:
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return ""
    text = decode_bytes(data, part.get_content_charset())
    return text.replace("\r\n", "\n").replace("\r", "\n")


class _TextFromHtml(HTMLParser):
    """HTML to plain text: block elements break lines, ``<br>`` too; scripts, styles, the head
    and comments are dropped; links keep their address after the text when it differs;
    blockquotes become ``>`` lines (cut later as quoted history)."""

    BLOCKS: Final = frozenset({"p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6",
                               "table", "ul", "ol", "pre", "hr", "section", "article",
                               "header", "footer", "blockquote", "dl", "dt", "dd"})
    SKIPPED: Final = frozenset({"script", "style", "head", "title", "template", "noscript",
                                "svg", "object", "iframe"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = [""]
        self.skip_depth = 0
        self.quote_depth = 0
        self.href: str | None = None
        self.link_text = ""

    def _newline(self) -> None:
        if self.lines[-1].strip():
            self.lines.append("")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIPPED:
            self.skip_depth += 1
        elif tag == "br":
            self.lines.append("")
        elif tag in self.BLOCKS:
            self._newline()
            if tag == "blockquote":
                self.quote_depth += 1
            elif tag == "li":
                self._write("- ")
        elif tag == "a":
            self.href = dict(attrs).get("href") or None
            self.link_text = ""

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.lines.append("")
        elif tag in self.BLOCKS:
            self._newline()

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIPPED:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag in self.BLOCKS:
            if tag == "blockquote":
                self.quote_depth = max(0, self.quote_depth - 1)
            self._newline()
        elif tag == "a" and self.href:
            href = self.href
            if (href.startswith(("http://", "https://")) and href not in self.link_text
                    and self.skip_depth == 0):
                self._write(f" ({href})")
            self.href = None

    def _write(self, text: str) -> None:
        if not self.lines[-1] and self.quote_depth:
            self.lines[-1] = "> " * self.quote_depth
        self.lines[-1] += text

    def handle_data(self, data: str) -> None:
        if self.skip_depth:
            return
        text = re.sub(r"\s+", " ", data)
        if not self.lines[-1].strip():
            text = text.lstrip()
        if text:
            self._write(text)
            if self.href is not None:
                self.link_text += text

    def text(self) -> str:
        lines = [line.rstrip() for line in self.lines]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def html_to_text(html: str) -> str:
    """The text a reader sees in ``html``, without any markup."""
    parser = _TextFromHtml()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # noqa: BLE001 - HTMLParser is lenient; this is belt and braces
        return re.sub(r"<[^>]*>", " ", html)
    return parser.text()


_WROTE_EN: Final = re.compile(r"^\s*On\b.{0,300}\bwrote\s*:\s*$", re.IGNORECASE)
_WROTE_ZH: Final = re.compile(r"^\s*(在|於|于).{0,300}(写道|寫道)\s*[:：]?\s*$")
_ORIGINAL: Final = re.compile(
    r"^\s*-{2,}\s*(Original Message|原始邮件|原始郵件|Forwarded by .*|Reply message)\s*-{2,}\s*$",
    re.IGNORECASE)
_OUTLOOK_FROM: Final = re.compile(r"^\s*\**(From|发件人|寄件者)\**\s*[:：]", re.IGNORECASE)
_OUTLOOK_SENT: Final = re.compile(
    r"^\s*\**(Sent|Date|发送时间|发送日期|日期|寄件日期|時間)\**\s*[:：]", re.IGNORECASE)
_RULE: Final = re.compile(r"^\s*_{8,}\s*$")


def _history_start(lines: list[str]) -> int | None:
    """Index of the first line of the quoted history, if any."""
    for i, line in enumerate(lines):
        joined = f"{line} {lines[i + 1]}" if i + 1 < len(lines) else line
        if _WROTE_EN.match(line) or _WROTE_ZH.match(line) or _ORIGINAL.match(line):
            return i
        if line.strip().lower().startswith("on ") and _WROTE_EN.match(joined):
            return i  # "On …, Name <a@b>" wrapped before "wrote:"
        if _OUTLOOK_FROM.match(line) and any(
                _OUTLOOK_SENT.match(nxt) for nxt in lines[i + 1:i + 5]):
            above = i - 1
            while above >= 0 and not lines[above].strip():
                above -= 1
            return above if above >= 0 and _RULE.match(lines[above]) else i
    return None


def strip_quoted(text: str) -> str:
    """``text`` without the quoted history of a reply. A reply written below the quote keeps
    its words; a mail that is nothing but quote comes back whole, so nothing is lost."""
    lines = text.replace("\r\n", "\n").split("\n")
    start = _history_start(lines)
    if start is not None:
        before = lines[:start]
        if any(line.strip() and not line.lstrip().startswith(">") for line in before):
            lines = before
        else:  # written below the quote: drop the attribution line, keep the rest
            lines = [*before, *lines[start + 1:]]
    kept = [line.rstrip() for line in lines if not line.lstrip().startswith(">")]
    result = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
    return result or text.strip()


# ---------------------------------------------------------------- files


def _leaves(part: Message) -> Iterator[Message]:
    """Leaf parts in order; an attached message (``message/rfc822``) is one leaf."""
    if part.is_multipart() and not part.get_content_type().startswith("message/"):
        payload = part.get_payload()
        for sub in payload if isinstance(payload, list) else []:
            if isinstance(sub, Message):
                yield from _leaves(sub)
    else:
        yield part


def _files(msg: EmailMessage) -> tuple[tuple[MailFile, ...], tuple[str, ...]]:
    """Every attachment and inline file (an image in the HTML), the body parts excepted."""
    try:
        bodies = {id(p) for p in (msg.get_body(preferencelist=("plain",)),
                                  msg.get_body(preferencelist=("html",))) if p is not None}
    except Exception:  # noqa: BLE001
        bodies = set()
    files: list[MailFile] = []
    skipped: list[str] = []
    for part in _leaves(msg):
        if id(part) in bodies:
            continue
        kind = part.get_content_type()
        disposition = (part.get_content_disposition() or "").lower()
        filename = _filename(part)
        if kind in ("text/plain", "text/html") and disposition != "attachment" and not filename:
            continue  # another alternative of the body
        if kind.startswith("message/"):
            inner = part.get_payload()
            first = inner[0] if isinstance(inner, list) and inner else None
            data = first.as_bytes() if isinstance(first, Message) else b""
            filename = filename or "message.eml"
        else:
            raw = part.get_payload(decode=True)
            data = raw if isinstance(raw, bytes) else b""
        name = filename or f"file.{kind.split('/')[-1][:10]}"
        if len(files) >= MAX_ATTACHMENTS:
            skipped.append(f"{name}: more than {MAX_ATTACHMENTS} files in one email")
            continue
        files.append(MailFile(filename=name, declared_type=kind, data=data,
                              inline=disposition != "attachment"))
    return tuple(files), tuple(skipped)


def _filename(part: Message) -> str | None:
    raw = part.get_param("filename", header="content-disposition") or part.get_param("name")
    if raw is None:
        return None
    if isinstance(raw, tuple):  # RFC 2231: (charset, language, value)
        charset, _, value = raw
        text = decode_bytes(value.encode("latin-1", "replace"), charset) if charset else value
    else:
        text = str(raw)
        if "=?" in text:
            with contextlib.suppress(Exception):  # a broken encoded word: keep the name
                text = "".join(decode_bytes(c, cs) if isinstance(c, bytes) else c
                               for c, cs in decode_header(text))
        elif any("\udc80" <= ch <= "\udcff" for ch in text):
            text = decode_bytes(text.encode("ascii", "surrogateescape"), "utf-8")
    return _clean_line(text) or None
