"""The catalogs are complete in every language, the extraction finds what the UI uses, and
languages are chosen sensibly."""

from __future__ import annotations

import json
import re
import shutil
import string
from pathlib import Path
from typing import get_args, get_type_hints

import httpx
import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import write_po
from typer.testing import CliRunner

from kefu.assistant.pipeline import load_intent_catalog
from kefu.cli import app
from kefu.core.errors import Conflict, InvalidInput, KefuError
from kefu.exchange.schemas import DepositStatus, OrderStatus, WithdrawalStatus
from kefu.guard import abuse, lookalike, secrets
from kefu.guard.abuse import SCAM_CODES, AbuseSignal
from kefu.tickets.models import AUTHOR_KINDS, CHANNELS, PENDING_REASONS, PRIORITIES, STATUSES
from kefu.web import agent, i18n, i18n_cli, portal, widget
from kefu.web.render import error_message

runner = CliRunner()
SERVED_STRINGS = re.compile(r"^  var STRINGS = (\{.*\});$", re.M)
TREE_CONFIG = """
[extractors]
kefu_jinja = kefu.web.i18n_cli:extract_jinja
kefu_javascript = kefu.web.i18n_cli:extract_javascript

[kefu_jinja: templates/**.html]

[kefu_javascript: static/app.js]
prefix = app.
"""


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def write_catalog(locales: Path, language: str, entries: dict[str, str], *,
                  fuzzy: frozenset[str] = frozenset()) -> None:
    """A catalog as a translator's editor leaves it: no comments, no locations."""
    lines = ['msgid ""', 'msgstr ""', '"Content-Type: text/plain; charset=utf-8\\n"', ""]
    for key, text in entries.items():
        lines += ["#, fuzzy"] if key in fuzzy else []
        lines += [f'msgid "{key}"', f'msgstr "{text}"', ""]
    path = i18n.catalog_path(language, locales)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")


def make_tree(root: Path, template: str, script: str = "") -> None:
    (root / "babel.cfg").write_text(TREE_CONFIG, encoding="utf-8")
    (root / "templates").mkdir()
    (root / "templates" / "page.html").write_text(template, encoding="utf-8")
    (root / "static").mkdir()
    (root / "static" / "app.js").write_text(script, encoding="utf-8")


def i18n_command(command: str, root: Path | None = None) -> tuple[int, str, str]:
    """``kefu i18n <command>``, on a tree under ``root`` (default: this checkout)."""
    options = ["--root", str(root), "--locales", str(root / "locales")] if root else []
    result = runner.invoke(app, ["i18n", command, *options])
    return result.exit_code, result.stdout, result.stderr


# ---------------------------------------------------------------- the shipped catalogs


def test_the_shipped_catalogs_pass_the_check():
    """Every key the templates, Python and JavaScript use is in every catalog, translated, not
    fuzzy, with English's placeholders; messages.pot matches the source."""
    code, out, err = i18n_command("check")
    assert (code, err) == (0, ""), out
    assert "catalogs complete (en, zh-CN)" in out


def test_every_language_has_every_key_with_the_same_placeholders():
    catalogue = i18n.catalogue()
    english = catalogue["en"]
    assert len(english) > 700
    for language in i18n.SUPPORTED:
        messages = catalogue[language]
        assert set(messages) == set(english), language
        for key, text in messages.items():
            assert text.strip(), f"{language}:{key} is empty"
            assert _placeholders(text) == _placeholders(english[key]), f"{language}:{key}"


def test_the_extraction_finds_keys_and_families_in_every_kind_of_source():
    usage = i18n_cli.find_usage(i18n_cli.SOURCE_ROOT, i18n_cli.SOURCE_ROOT / "babel.cfg")
    assert {"agent.inbox_title", "help.no_results", "console.sending",
            "console.add_note", "console.connected"} <= set(usage.keys)
    # t("status." ~ s) in templates and console.js, f"error.{code}" and f"demo.quick.{n}" in
    # Python: every catalog key under them counts as used.
    assert {"status.", "priority.", "error.", "demo.quick."} <= set(usage.families)
    # "error." is also built apart from the call (render.error_message's f"error.{code}")
    assert {"status.", "demo.quick."} <= usage.called_families


def test_families_built_from_models_exist():
    """Keys the pages build from model values (which no extraction can list)."""
    english = i18n.catalogue()["en"]
    families = {
        "status": STATUSES, "priority": PRIORITIES, "channel": CHANNELS,
        "pending": PENDING_REASONS, "author": AUTHOR_KINDS, "status_help": STATUSES,
        "role": ("agent", "supervisor", "admin"), "section": ("help", "portal", "agent"),
        "category": portal.CATEGORIES, "notice": tuple(portal.NOTICES | agent.NOTICES),
        "tx": get_args(DepositStatus) + get_args(WithdrawalStatus),
        "order": get_args(OrderStatus), "order_type": ("limit", "market"),
        "side": ("buy", "sell", "long", "short"),
        # the ticket history's values (agent/ticket.html)
        "event_value.intent": tuple(load_intent_catalog()),
        "event_value.kinds": secrets.KINDS + get_args(get_type_hints(AbuseSignal)["kind"]),
        "event_value.codes": SCAM_CODES,
        "trust.verify.reason": tuple(lookalike.REASONS),  # verify/check.html
        # agent/trust_review.html
        "trust.review.reason": abuse.REASON_CODES,
        "trust.review.category": abuse.HARASSMENT_CATEGORIES,
        "trust.review.target": get_args(abuse.Target),
    }
    for family, members in families.items():
        for member in members:
            assert f"{family}.{member}" in english, f"{family}.{member}"


def test_the_catalog_files_carry_the_english_text_for_translators():
    chinese = i18n.read_catalog(i18n.catalog_path("zh-CN"))
    message = chinese.get("agent.inbox_title")
    assert message is not None
    assert (message.string, message.auto_comments) == ("工单列表", ["Inbox"])
    assert message.locations
    assert all(line is None for _, line in message.locations)
    template = i18n.read_catalog(i18n.LOCALES_DIR / "messages.pot")
    entry = template.get("agent.inbox_title")
    assert entry is not None
    assert (entry.string, entry.auto_comments) == ("", ["Inbox"])


# ---------------------------------------------------------------- finding keys


@pytest.mark.parametrize(("source", "keys", "families"), [
    ('t("a.b", n=1)\nlabel = t("x.y" if ok else "x.z")', {"a.b", "x.y", "x.z"}, set()),
    ('translate(f"demo.quick.{n}")\nkey = f"error.{code}"\nt("s." + v)\nt(name)',
     set(), {"demo.quick.", "error.", "s."}),
    ('url = f"/help/{lang}"\nself.t("not a key")', set(), set()),
])
def test_python_uses(source: str, keys: set[str], families: set[str]):
    uses = list(i18n_cli.python_uses(source, i18n_cli.KEYWORDS))
    assert {u.key for u in uses if not u.family} == keys
    assert {u.key for u in uses if u.family} == families


@pytest.mark.parametrize(("source", "keys", "families"), [
    ('{{ t("a.b", n=1) }} {{ t("p.x" if on else "p.y") }}', {"a.b", "p.x", "p.y"}, set()),
    ('{{ t("status." ~ s) }} {{ t("flag." + f + ".note") }} {% set k = "kb." + x %}',
     set(), {"status.", "flag.", "kb."}),
    ('{{ gettext("a.b") }} {{ t(key) }} {{ "x." }}', set(), set()),
])
def test_jinja_uses(source: str, keys: set[str], families: set[str]):
    uses = list(i18n_cli.jinja_uses(source, i18n_cli.KEYWORDS))
    assert {u.key for u in uses if not u.family} == keys
    assert {u.key for u in uses if u.family} == families


@pytest.mark.parametrize(("source", "keys", "families"), [
    ('t("send"); t("queue", {position: 1}); t(note ? "c.add" : "c.send");',
     {"send", "queue", "c.add", "c.send"}, set()),
    ('t({live: "c.live", "signed-out": "c.out"}[state]);', {"c.live", "c.out"}, set()),
    ('t("author." + (who.kind || "agent")); var k = "error." + code; t(k);',
     set(), {"author.", "error."}),
    ('function t(key, values) {} // t("in.comment")\nobj.t("method.call");', set(), set()),
])
def test_javascript_uses(source: str, keys: set[str], families: set[str]):
    uses = list(i18n_cli.javascript_uses(source, i18n_cli.KEYWORDS))
    assert {u.key for u in uses if not u.family} == keys
    assert {u.key for u in uses if u.family} == families


def test_babel_runs_the_extraction_methods(tmp_path: Path):
    """``pybabel extract -F babel.cfg`` reads the same keys (families are no messages)."""
    page = tmp_path / "page.html"
    page.write_text('{{ t("a.b") }}\n{{ t("status." ~ s) }}\n{{ t("c" if x else "d") }}')
    found = extract_from_file("kefu.web.i18n_cli:extract_jinja", str(page),
                              keywords={"t": None}, options={"prefix": "w."})
    assert [(line, key) for line, key, _, _ in found] == [(1, "w.a.b"), (3, "w.c"), (3, "w.d")]


# ---------------------------------------------------------------- check and extract


def test_check_reports_what_would_break_a_page(tmp_path: Path):
    make_tree(tmp_path, '{{ t("page.title") }} {{ t("status." ~ s) }}\n'
                        '{{ t("page.missing") }} {{ t("nothing." ~ x) }}',
              'el.textContent = t("send");')
    locales = tmp_path / "locales"
    write_catalog(locales, "en", {"page.title": "Title", "status.open": "Open",
                                  "app.send": "Send", "page.greeting": "Hello {name}",
                                  "old.key": "Old"})
    write_catalog(locales, "zh-CN", {"page.title": "标题", "status.open": "",
                                     "app.send": "发送", "page.greeting": "你好 {nom}",
                                     "old.key": "旧", "extra.key": "多余"},
                  fuzzy=frozenset({"page.title"}))
    code, out, err = i18n_command("check", tmp_path)
    assert code == 2
    assert err == "kefu: 10 translation problems\n", out
    assert set(out.splitlines()) == {
        "unused: extra.key", "unused: old.key", "unused: page.greeting",
        "en: missing page.missing (used at templates/page.html:2)",
        "zh-CN: missing page.missing (used at templates/page.html:2)",
        "no key starts with nothing. (used at templates/page.html:2)",
        "en: missing extra.key (in another language's catalog)",
        "zh-CN: page.title is marked fuzzy (check it, then drop the flag)",
        "zh-CN: status.open has no translation",
        "zh-CN: page.greeting has placeholders ['nom'], English has ['name']",
        "en: 3 English comments out of date (app.send, page.title, status.open): "
        "run `kefu i18n extract`",
        "zh-CN: 3 English comments out of date (app.send, page.title, status.open): "
        "run `kefu i18n extract`",
        f"{locales / 'messages.pot'} is out of date: run `kefu i18n extract`",
    }


def test_a_new_string_goes_extract_translate_check(tmp_path: Path):
    make_tree(tmp_path, '<h1>{{ t("page.title") }}</h1> {{ t("page.new", n=2) }}\n'
                        '{{ t("status." ~ ticket.status) }}')
    locales = tmp_path / "locales"
    write_catalog(locales, "en", {"page.title": "Title", "status.open": "Open"})
    write_catalog(locales, "zh-CN", {"page.title": "标题", "status.open": "处理中"})

    code, out, _ = i18n_command("extract", tmp_path)
    assert code == 0
    assert "en: added 1 keys to translate: page.new" in out
    template = i18n.read_catalog(locales / "messages.pot")
    assert sorted(m.id for m in template if m.id) == ["page.new", "page.title", "status.open"]
    assert template["status.open"].locations == [("templates/page.html", None)]
    code, out, _ = i18n_command("check", tmp_path)
    assert code == 2
    assert "en: page.new has no translation" in out
    assert "zh-CN: page.new has no translation" in out

    for language, text in (("en", "{n} new"), ("zh-CN", "{n} 条新消息")):
        path = i18n.catalog_path(language, locales)
        catalog = i18n.read_catalog(path)
        catalog["page.new"].string = text
        with path.open("wb") as po:
            write_po(po, catalog)
    assert "en: 1 English comments out of date (page.new)" in i18n_command("check", tmp_path)[1]
    assert i18n_command("extract", tmp_path)[0] == 0
    assert i18n_command("check", tmp_path)[:2] == (0, "catalogs complete (en, zh-CN); "
                                                      "0 entries unused\n")
    chinese = i18n.read_catalog(i18n.catalog_path("zh-CN", locales))
    assert (chinese["page.new"].string, chinese["page.new"].auto_comments) == (
        "{n} 条新消息", ["{n} new"])
    before = {p: p.read_bytes() for p in locales.rglob("*.po*")}
    code, out, _ = i18n_command("extract", tmp_path)
    assert (code, "wrote" in out) == (0, False)
    assert {p: p.read_bytes() for p in locales.rglob("*.po*")} == before


def test_a_missing_or_bad_mapping_is_one_line_and_exit_2(tmp_path: Path):
    code, out, err = i18n_command("check", tmp_path)
    assert (code, out) == (2, "")
    assert err == (f"kefu: no {tmp_path / 'babel.cfg'}: "
                   "run from a source checkout or pass --config\n")
    (tmp_path / "babel.cfg").write_text("[python: **.py]\n", encoding="utf-8")
    write_catalog(tmp_path / "locales", "en", {})
    write_catalog(tmp_path / "locales", "zh-CN", {})
    for command in ("check", "extract"):
        code, out, err = i18n_command(command, tmp_path)
        assert (code, out) == (2, "")
        assert err.startswith(f"kefu: {tmp_path / 'babel.cfg'}: unknown method 'python'; use ")
        assert err.count("\n") == 1


def test_a_new_language_starts_with_extract(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """docs/translations.md: add the tag, run extract, translate."""
    monkeypatch.setattr(i18n, "SUPPORTED", (*i18n.SUPPORTED, "pt-BR"))
    monkeypatch.setitem(i18n.LANGUAGE_NAMES, "pt-BR", "Português (Brasil)")
    make_tree(tmp_path, '{{ t("page.title") }}')
    locales = tmp_path / "locales"
    write_catalog(locales, "en", {"page.title": "Title", "kept.key": "Kept"})
    write_catalog(locales, "zh-CN", {"page.title": "标题", "kept.key": "保留"})
    assert i18n_command("extract", tmp_path)[0] == 0
    portuguese = i18n.read_catalog(locales / "pt_BR" / "LC_MESSAGES" / "messages.po")
    assert str(portuguese.locale) == "pt_BR"
    assert [(m.id, m.string, m.auto_comments) for m in portuguese if m.id] == [
        ("kept.key", "", ["Kept"]), ("page.title", "", ["Title"])]
    code, out, _ = i18n_command("check", tmp_path)
    assert code == 2
    assert "pt-BR: page.title has no translation" in out


def test_fuzzy_and_empty_entries_fall_back_to_english(tmp_path: Path):
    """At run time a draft (fuzzy) or untranslated entry is not shown; English is."""
    write_catalog(tmp_path, "en", {"a": "Apple", "b": "Banana", "c": "Cherry"})
    write_catalog(tmp_path, "zh-CN", {"a": "苹果", "b": "香蕉", "c": ""},
                  fuzzy=frozenset({"b"}))
    assert i18n.load_messages(tmp_path) == {"en": {"a": "Apple", "b": "Banana", "c": "Cherry"},
                                            "zh-CN": {"a": "苹果"}}


# ---------------------------------------------------------------- the widget's strings


def served_strings(script: str) -> dict[str, dict[str, str]]:
    match = SERVED_STRINGS.search(script)
    assert match, "no STRINGS table in the script"
    strings: dict[str, dict[str, str]] = json.loads(match.group(1))
    return strings


async def test_widget_js_carries_the_catalogs_widget_strings(client: httpx.AsyncClient):
    script = (await client.get("/widget.js")).text
    strings = served_strings(script)
    english = {key.removeprefix("widget."): text
               for key, text in i18n.catalogue()["en"].items() if key.startswith("widget.")}
    assert set(strings) == {"en", "zh-CN"}
    assert strings["en"] == english
    assert set(strings["zh-CN"]) == set(english)
    assert (strings["en"]["send"], strings["zh-CN"]["send"]) == ("Send", "发送")
    assert strings["zh-CN"]["quick.1"] == i18n.catalogue()["zh-CN"]["widget.quick.1"]
    assert widget.STRINGS_PLACEHOLDER not in script


def test_widget_js_keeps_no_strings_of_its_own():
    """The script as stored holds the placeholder, not a table: no Chinese text in it."""
    source = widget.WIDGET_SCRIPT.read_text(encoding="utf-8")
    assert source.count(widget.STRINGS_PLACEHOLDER) == 1
    chinese = [text for key, text in i18n.catalogue()["zh-CN"].items()
               if key.startswith("widget.") and not text.isascii()]
    assert len(chinese) > 50
    assert [text for text in chinese if f'"{text}"' in source] == []


def test_the_widget_etag_changes_with_the_catalogs(tmp_path: Path):
    shutil.copytree(i18n.LOCALES_DIR, tmp_path, dirs_exist_ok=True)
    path = i18n.catalog_path("zh-CN", tmp_path)
    catalog = i18n.read_catalog(path)
    catalog["widget.send"].string = "立即发送"
    catalog.delete("widget.copy")  # missing: English stands in
    with path.open("wb") as po:
        write_po(po, catalog)
    shipped = widget.widget_source()
    edited = widget.widget_source(strings=widget.widget_strings(i18n.load_messages(tmp_path)))
    assert edited.etag != shipped.etag
    strings = served_strings(edited.body.decode())
    assert (strings["zh-CN"]["send"], strings["zh-CN"]["copy"]) == ("立即发送", "Copy")
    assert widget.widget_source().etag == shipped.etag


@pytest.mark.parametrize(("raw", "expected"), [
    ("zh", "zh-CN"), ("zh-Hans-CN", "zh-CN"), ("ZH_tw", "zh-CN"), ("en-GB", "en"),
    ("fr", None), ("", None), (None, None),
])
def test_normalize_language(raw: str | None, expected: str | None):
    assert i18n.normalize_language(raw) == expected


@pytest.mark.parametrize(("header", "expected"), [
    ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"),
    ("en-US,en;q=0.9", "en"),
    ("fr-FR, de;q=0.9", None),
    ("fr, en;q=0.2, zh;q=0.7", "zh-CN"),
    ("zh;q=0, en", "en"),
    ("*", None),
    ("en;q=abc, zh", "zh-CN"),
    (None, None),
])
def test_accept_language(header: str | None, expected: str | None):
    assert i18n.parse_accept_language(header) == expected


def test_translator_formats_and_falls_back():
    translate = i18n.Translator("zh-CN")
    assert translate("help.no_results", query="USDT") == "暂无与“USDT”相关的文章"
    assert translate("no.such.key") == "no.such.key"
    assert not translate.has("no.such.key")


@pytest.mark.parametrize(("refusal", "chinese"), [
    (InvalidInput("pending_reason applies to 'pending' only", code="no_message_of_its_own"),
     "error.invalid_form"),
    (Conflict("the change conflicts with existing data", code="no_message_of_its_own"),
     "error.conflict"),
    (KefuError("something went wrong on our side", code="no_message_of_its_own", status=500),
     "error.internal_error"),
])
def test_a_refusal_without_a_message_of_its_own_is_not_english_on_a_chinese_page(
        refusal: KefuError, chinese: str):
    """QA: a code with no ``error.<code>`` message showed its English text on zh-CN pages
    (the demo exchange's "customer: use letters, digits and . _ : -"); it says what its status
    means there, and English pages keep the precise English text."""
    assert error_message(i18n.Translator("zh-CN"), refusal) == i18n.Translator("zh-CN")(chinese)
    assert error_message(i18n.Translator("en"), refusal) == refusal.message
