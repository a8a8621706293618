"""A ticket's conversation as plain text or a self-contained HTML page, for the customer."""

from __future__ import annotations

from jinja2 import Environment, select_autoescape

from kefu.tickets import schemas

_env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
_HTML = _env.from_string("""<!doctype html>
<html lang="{{ ticket.language }}"><head><meta charset="utf-8">
<title>{{ ticket.number }} — {{ ticket.subject }}</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:760px;margin:2em auto;color:#1b1f24}
.m{border-left:3px solid #ccd;padding:.4em .8em;margin:1em 0}.agent{border-color:#2f6feb}
.system{border-color:#999;color:#555}.meta{font-size:12px;color:#666}p{white-space:pre-wrap;margin:.2em 0}
</style></head><body>
<h1>{{ ticket.number }}: {{ ticket.subject }}</h1>
<p class="meta">Status: {{ ticket.status }} · Opened {{ ticket.created_at.strftime('%Y-%m-%d %H:%M UTC') }}</p>
{% for m in messages %}<div class="m {{ m.author_kind }}">
<div class="meta">{{ m.author_name }} · {{ m.created_at.strftime('%Y-%m-%d %H:%M:%S UTC') }}</div>
<p>{{ m.body }}</p>{% for a in m.attachments %}<div class="meta">📎 {{ a.filename }} ({{ a.size }} bytes)</div>{% endfor %}
</div>{% endfor %}
</body></html>
""")


def transcript_text(ticket: schemas.TicketRead, messages: list[schemas.MessageRead]) -> str:
    lines = [
        f"{ticket.number}: {ticket.subject}",
        f"Status: {ticket.status}",
        f"Opened: {ticket.created_at:%Y-%m-%d %H:%M UTC}",
        "",
    ]
    for m in messages:
        lines.append(f"[{m.created_at:%Y-%m-%d %H:%M:%S UTC}] {m.author_name} ({m.author_kind}):")
        lines.extend("  " + line for line in m.body.splitlines() or [""])
        lines.extend(f"  [attachment: {a.filename}, {a.size} bytes]" for a in m.attachments)
        lines.append("")
    return "\n".join(lines)


def transcript_html(ticket: schemas.TicketRead, messages: list[schemas.MessageRead]) -> str:
    return _HTML.render(ticket=ticket, messages=messages)
