"""Emails to customers, rendered from ``templates/email/message.txt`` and ``message.html`` in
the ticket's language (the UI catalogs, keys under ``email.``). ``kefu.app`` hands
:func:`render_mail` to the email channel (``kefu.channels.email_out``), which imports nothing
from here: what support wrote is text, escaped in the HTML part, never markup."""

from __future__ import annotations

from functools import lru_cache
from typing import Protocol

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from kefu.web.i18n import Translator, normalize_language
from kefu.web.render import TEMPLATES_DIR


class MailFields(Protocol):
    """What a mail says (``kefu.channels.email_out.MailContent``)."""

    @property
    def kind(self) -> str: ...
    @property
    def language(self) -> str: ...
    @property
    def ticket_number(self) -> str: ...
    @property
    def ticket_subject(self) -> str: ...
    @property
    def customer_name(self) -> str: ...
    @property
    def body(self) -> str: ...
    @property
    def author_name(self) -> str: ...
    @property
    def anti_phishing(self) -> str | None: ...


@lru_cache(maxsize=1)
def _environment() -> Environment:
    # .html escaped; .txt as written (plain text: nothing renders it as markup).
    return Environment(loader=FileSystemLoader(TEMPLATES_DIR),
                       autoescape=select_autoescape(["html"], default_for_string=False),
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                       keep_trailing_newline=True)


def render_mail(content: MailFields) -> tuple[str, str, str]:
    """(text, HTML, the From name) of a mail."""
    language = normalize_language(content.language) or "en"
    t = Translator(language)
    values = {"t": t, "mail": content, "lines": content.body.splitlines(),
              "language": language}
    env = _environment()
    return (env.get_template("email/message.txt").render(values),
            env.get_template("email/message.html").render(values),
            t("email.from_name"))
