"""A ticket's conversation as plain text or a self-contained HTML page, for the customer, in
English or Chinese (the reader's language: the portal and the widget say which) and with times
in the reader's time zone (the widget and the portal send the browser's; UTC otherwise), named in
the header.
What the secret guard hid and the files it did not keep are named as the widget names them (its
catalog strings), so the transcript says what the conversation showed."""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Literal

from jinja2 import Environment, select_autoescape

from kefu.core.errors import InvalidInput
from kefu.core.i18n import Translator
from kefu.guard.secret_mask import MARKER_PREFIX
from kefu.tickets import schemas

Language = Literal["en", "zh-CN"]

_LABELS: dict[Language, dict[str, str]] = {
    "en": {"status": "Status", "opened": "Opened", "attachment": "Attachment", "zone": "Time zone",
           "zone_unknown": "your browser's time zone {name} is not known to this server",
           "new": "New", "open": "Open", "pending": "Pending", "escalated": "Escalated",
           "resolved": "Resolved", "closed": "Closed", "customer": "Customer",
           "agent": "Support", "system": "System", "assistant": "Assistant"},
    "zh-CN": {"status": "状态", "opened": "创建时间", "attachment": "附件", "zone": "时区",
              "zone_unknown": "本服务器不识别您浏览器的时区 {name}",
              "new": "新建", "open": "处理中", "pending": "等待中", "escalated": "已升级",
              "resolved": "已解决", "closed": "已关闭", "customer": "客户", "agent": "客服",
              "system": "系统", "assistant": "智能助手"},
}
_SEPARATOR: dict[Language, str] = {"en": ": ", "zh-CN": "："}
_UNNAMED = {"customer": schemas.UNNAMED_CUSTOMER}
_HIDDEN = re.compile(re.escape(MARKER_PREFIX) + r"([a-z_]+)\]")
# An IANA zone name ("Asia/Shanghai", "America/Argentina/Buenos_Aires", "UTC", "Etc/GMT-8"):
# never a path, so zoneinfo is asked only for names inside its database.
_ZONE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+){0,2}")

_env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
_HTML = _env.from_string("""<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8">
<title>{{ ticket.number }} — {{ ticket.subject }}</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:760px;margin:2em auto;color:#1b1f24}
h1{overflow-wrap:anywhere}.m{border-left:3px solid #ccd;padding:.4em .8em;margin:1em 0}
.agent{border-color:#2f6feb}.system{border-color:#999;color:#555}.meta{font-size:12px;color:#666}
p{white-space:pre-wrap;overflow-wrap:anywhere;margin:.2em 0}
</style></head><body>
<h1>{{ ticket.number }}: {{ ticket.subject }}</h1>
<p class="meta">{{ label.status }}{{ sep }}{{ label[ticket.status] or ticket.status }} ·
{{ label.opened }}{{ sep }}{{ when(ticket.created_at, '%Y-%m-%d %H:%M') }} ·
{{ label.zone }}{{ sep }}{{ zone }}</p>
{% for m in messages %}<div class="m {{ m.author_kind }}">
<div class="meta">{{ author(m) }} · {{ when(m.created_at, '%Y-%m-%d %H:%M:%S') }}</div>
<p>{{ body(m) }}</p>{% for a in m.attachments %}<div class="meta">📎 {{ a.filename }} ({{ size(a.size) }}{% if a.withheld_reason %}{{ withheld }}{% endif %})</div>{% endfor %}
</div>{% endfor %}
</body></html>
""")


class ReaderZone(tzinfo):
    """UTC standing in for a zone the reader asked for and this server does not know
    (``reader_zone(..., fallback=True)``): the header says so, naming the zone asked for."""

    def __init__(self, requested: str) -> None:
        self.requested = "".join(c for c in requested if c.isprintable())

    def utcoffset(self, dt: datetime | None) -> timedelta:
        return timedelta(0)

    def dst(self, dt: datetime | None) -> timedelta:
        return timedelta(0)

    def tzname(self, dt: datetime | None) -> str:
        return "UTC"

    def __str__(self) -> str:
        return "UTC"


def reader_zone(name: str | None, *, fallback: bool = False) -> tzinfo:
    """The time zone named ``name`` (an IANA name, as ``Intl.DateTimeFormat`` gives it), UTC
    when none is named. A name this server does not know is refused (422
    ``invalid_time_zone``), as an unknown ``lang`` is, rather than answered in another zone;
    with ``fallback`` (a browser's download link, whose error body would be saved as the
    file) it is answered in UTC instead, and the header says why (``ReaderZone``)."""
    if not name:
        return UTC
    if _ZONE_NAME.fullmatch(name):
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            pass
    if fallback:
        return ReaderZone(name)
    raise InvalidInput(f"tz: unknown time zone {name[:64]!r}; use an IANA name such as "
                       "'Asia/Shanghai'", code="invalid_time_zone")


def _zone_label(zone: tzinfo, moments: Iterable[datetime], lang: Language) -> str:
    """The zone's name with its UTC offsets over the conversation ("Asia/Shanghai
    (UTC+08:00)"; both offsets across a daylight-saving change); "UTC" alone for UTC, and
    for UTC standing in for an unknown zone, why ("UTC (your browser's time zone … is not
    known to this server)")."""
    if isinstance(zone, ReaderZone):
        why = _LABELS[lang]["zone_unknown"].format(name=zone.requested)
        return f"UTC ({why})" if lang == "en" else f"UTC（{why}）"
    name = str(zone)
    if name == "UTC":
        return name
    offsets: list[str] = []
    for moment in moments:
        offset = moment.astimezone(zone).strftime("%z")
        label = f"UTC{offset[:3]}:{offset[3:5]}"
        if label not in offsets:
            offsets.append(label)
    return f"{name} ({', '.join(offsets)})" if offsets else name


def reader_language(requested: str | None, ticket_language: str) -> Language:
    """``requested`` when given, else the ticket's: Chinese for any Chinese, English
    otherwise."""
    chosen = requested or ticket_language
    return "zh-CN" if chosen.lower().startswith("zh") else "en"


def _author(message: schemas.MessageRead, lang: Language) -> str:
    """The role alone for the system and the assistant; a person's name with their role."""
    role = _LABELS[lang].get(message.author_kind, message.author_kind)
    unnamed = not message.author_name or message.author_name == _UNNAMED.get(
        message.author_kind)
    if message.author_kind in ("system", "assistant") or unnamed:
        return role
    return f"{message.author_name} ({role})" if lang == "en" else f"{message.author_name}（{role}）"


def _body(text: str, translate: Translator) -> str:
    """``[REDACTED password]`` as the widget shows it ("[hidden: password]", "[已隐藏：密码]")."""
    def label(match: re.Match[str]) -> str:
        key = f"widget.hidden.{match.group(1)}"
        return translate(key) if translate.has(key) else match.group(0)

    return _HIDDEN.sub(label, text)


def _withheld(translate: Translator, lang: Language) -> str:
    """After a withheld file's size: "; not kept: it contained a secret"."""
    return ("；" if lang == "zh-CN" else "; ") + translate("widget.fileWithheld")


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def _moments(ticket: schemas.TicketRead,
             messages: list[schemas.MessageRead]) -> list[datetime]:
    return [ticket.created_at, *(m.created_at for m in messages)]


def transcript_text(ticket: schemas.TicketRead, messages: list[schemas.MessageRead],
                    lang: Language = "en", zone: tzinfo = UTC) -> str:
    label, sep, translate = _LABELS[lang], _SEPARATOR[lang], Translator(lang)
    lines = [
        f"{ticket.number}: {ticket.subject}",
        f"{label['status']}{sep}{label.get(ticket.status, ticket.status)}",
        f"{label['opened']}{sep}{ticket.created_at.astimezone(zone):%Y-%m-%d %H:%M}",
        f"{label['zone']}{sep}{_zone_label(zone, _moments(ticket, messages), lang)}",
        "",
    ]
    for m in messages:
        lines.append(f"[{m.created_at.astimezone(zone):%Y-%m-%d %H:%M:%S}] {_author(m, lang)}:")
        lines.extend("  " + line for line in _body(m.body, translate).splitlines() or [""])
        lines.extend(f"  [{label['attachment']}{sep}{a.filename}, {_size(a.size)}"
                     f"{_withheld(translate, lang) if a.withheld_reason else ''}]"
                     for a in m.attachments)
        lines.append("")
    return "\n".join(lines)


def transcript_html(ticket: schemas.TicketRead, messages: list[schemas.MessageRead],
                    lang: Language = "en", zone: tzinfo = UTC) -> str:
    translate = Translator(lang)
    return _HTML.render(ticket=ticket, messages=messages, lang=lang, label=_LABELS[lang],
                        when=lambda moment, pattern: moment.astimezone(zone).strftime(pattern),
                        zone=_zone_label(zone, _moments(ticket, messages), lang),
                        sep=_SEPARATOR[lang], author=lambda m: _author(m, lang), size=_size,
                        body=lambda m: _body(m.body, translate),
                        withheld=_withheld(translate, lang))
