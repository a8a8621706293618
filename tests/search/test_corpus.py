"""Article files, sections and anchors (shared with the help center's renderer)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kefu.search.corpus import anchor_for, load_articles, plain_text, split_sections
from tests.search.conftest import FIXTURE_KB


def test_anchor_for_headings() -> None:
    assert anchor_for("Check the confirmations") == "check-the-confirmations"
    assert anchor_for("Still missing?") == "still-missing"
    assert anchor_for("为什么提币需要审核？") == "为什么提币需要审核"
    assert anchor_for("Fees (VIP 1–3): maker/taker") == "fees-vip-13-makertaker"
    assert anchor_for("ＵＳＤＴ　Ｆｅｅｓ") == "usdt-fees"


def test_split_sections_intro_headings_and_duplicates() -> None:
    body = ("Intro text.\n\n## Steps\nOne.\n\n```\n## not a heading\n```\n\n## Steps\nTwo.\n\n"
            "### Detail\nStill in the second section.")
    sections = split_sections(body, "Title")
    assert [(s.heading, s.anchor) for s in sections] == [
        ("Title", ""), ("Steps", "steps"), ("Steps", "steps-1")]
    assert "## not a heading" in sections[1].text
    assert "### Detail" in sections[2].text


def test_split_sections_without_intro() -> None:
    sections = split_sections("## Only\nText", "Title")
    assert [s.anchor for s in sections] == ["only"]


def test_plain_text_drops_markup_and_link_targets() -> None:
    text = plain_text("**Bold** and [a link](https://example.com/x) and `code`.\n\n- item")
    assert text == "Bold and a link and code.\nitem"


def test_load_articles_reads_the_fixture() -> None:
    articles = load_articles(FIXTURE_KB)
    assert len(articles) == 14
    memo = next(a for a in articles if a.slug == "deposit-missing-memo-tag")
    assert memo.lang == "en"
    assert memo.tags == ("deposit", "memo", "tag", "xrp")
    assert memo.order == 100
    assert memo.category == "deposits"


@pytest.mark.parametrize(("text", "message"), [
    ("no front matter\n", "no YAML front matter"),
    ("---\nlang: en\ntitle: T\n---\nBody\n", "needs 'slug'"),
    ("---\nslug: a\ntitle: T\n---\nBody\n", "needs 'lang'"),
    ("---\nslug: a\nlang: en\n---\nBody\n", "needs 'title'"),
    ("---\nslug: a\nlang: en\ntitle: T\n---\n\n", "body is empty"),
    ("---\nslug: Not OK\nlang: en\ntitle: T\n---\nBody\n", "lowercase letters"),
    ("---\n[unclosed\n---\nBody\n", "not valid YAML"),
])
def test_bad_article_files_name_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.en.md"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message) as info:
        load_articles(tmp_path)
    assert str(path) in str(info.value)


def test_duplicate_slug_and_lang_is_an_error(tmp_path: Path) -> None:
    article = "---\nslug: a\nlang: en\ntitle: T\n---\nBody\n"
    (tmp_path / "one.md").write_text(article, encoding="utf-8")
    (tmp_path / "two.md").write_text(article, encoding="utf-8")
    with pytest.raises(ValueError, match="already defined"):
        load_articles(tmp_path)
