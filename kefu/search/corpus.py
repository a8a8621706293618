"""Article files (docs/kb-format.md) and their sections, as search and the help center see them.

`anchor_for` is the one definition of a heading's anchor: the help center's Markdown renderer
calls it too, so a search hit's `#anchor` always lands on the heading it names.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from markdown_it import MarkdownIt

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_H2 = re.compile(r"^ {0,3}##[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
DEFAULT_ORDER = 100


@dataclass(frozen=True)
class Section:
    """One `##` part of an article; the intro before the first heading has anchor ""."""

    heading: str
    anchor: str
    text: str


@dataclass(frozen=True)
class ArticleFile:
    slug: str
    lang: str
    title: str
    body: str
    category: str
    section: str
    tags: tuple[str, ...]
    summary: str
    order: int
    path: Path


def anchor_for(heading: str) -> str:
    """The URL fragment for a heading: NFKC, lowercase, whitespace -> '-', letters (CJK
    included), digits, '-' and '_' kept, other punctuation dropped, runs of '-' collapsed.
    "Check the confirmations" -> "check-the-confirmations"; "还没到账？" -> "还没到账"."""
    text = unicodedata.normalize("NFKC", heading).strip().lower()
    kept = []
    for ch in text:
        if ch.isspace():
            kept.append("-")
        elif ch.isalnum() or ch in "-_":
            kept.append(ch)
    return re.sub(r"-{2,}", "-", "".join(kept)).strip("-")


def split_sections(markdown: str, title: str = "") -> list[Section]:
    """Split a body at its `##` headings (not inside fenced code). The intro before the first
    heading becomes a section headed by the title with anchor "", when it has any text. A
    repeated anchor gets "-1", "-2", … so every anchor in an article is unique."""
    sections: list[Section] = []
    heading, anchor = title, ""
    lines: list[str] = []
    seen: dict[str, int] = {}
    fence: str | None = None
    for line in markdown.splitlines():
        fence_match = _FENCE.match(line)
        if fence_match:
            marker = fence_match.group(1)
            if fence is None:
                fence = marker[0] * 3
            elif marker.startswith(fence):
                fence = None
        heading_match = _H2.match(line) if fence is None else None
        if heading_match:
            _append_section(sections, heading, anchor, lines)
            heading = heading_match.group(1).strip()
            anchor = _unique(anchor_for(heading), seen)
            lines = []
        else:
            lines.append(line)
    _append_section(sections, heading, anchor, lines)
    return sections


def _unique(anchor: str, seen: dict[str, int]) -> str:
    count = seen.get(anchor, 0)
    seen[anchor] = count + 1
    return anchor if count == 0 else f"{anchor}-{count}"


def _append_section(sections: list[Section], heading: str, anchor: str,
                    lines: list[str]) -> None:
    text = "\n".join(lines).strip()
    if text or anchor:
        sections.append(Section(heading=heading, anchor=anchor, text=text))


_MARKDOWN = MarkdownIt("commonmark").enable("table")


def plain_text(markdown: str) -> str:
    """The words a reader sees in a Markdown fragment: markup, link targets and raw HTML
    dropped, one block per line. What is indexed and what snippets are cut from."""
    blocks: list[str] = []
    for token in _MARKDOWN.parse(markdown):
        if token.type != "inline" or not token.children:
            continue
        words: list[str] = []
        for child in token.children:
            if child.type in ("text", "code_inline"):
                words.append(child.content)
            elif child.type in ("softbreak", "hardbreak"):
                words.append(" ")
            elif child.type == "image":
                words.append(child.content)
        block = "".join(words).strip()
        if block:
            blocks.append(block)
    return "\n".join(blocks)


def parse_article(path: Path, text: str) -> ArticleFile:
    """One article file; ValueError naming the file when it breaks docs/kb-format.md."""
    match = _FRONT_MATTER.match(text.lstrip("\ufeff"))
    if not match:
        raise ValueError(f"{path}: no YAML front matter (a '---' block at the top)")
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: front matter is not valid YAML: "
                         f"{str(exc).splitlines()[0]}") from exc
    if not isinstance(meta, dict):
        raise ValueError(f"{path}: front matter must be a mapping of fields")
    body = text.lstrip("\ufeff")[match.end():].strip()
    for field in ("slug", "lang", "title"):
        if not _text_field(meta, field):
            raise ValueError(f"{path}: front matter needs '{field}'")
    if not body:
        raise ValueError(f"{path}: the article body is empty")
    slug = _text_field(meta, "slug")
    if not _SLUG.fullmatch(slug):
        raise ValueError(f"{path}: slug {slug!r} must be lowercase letters, digits and '-'")
    return ArticleFile(
        slug=slug, lang=_text_field(meta, "lang"), title=_text_field(meta, "title"), body=body,
        category=_text_field(meta, "category"), section=_text_field(meta, "section"),
        tags=_tags(path, meta.get("tags")), summary=_text_field(meta, "summary"),
        order=_order(path, meta.get("order")), path=path)


def _text_field(meta: dict[str, Any], field: str) -> str:
    value = meta.get(field)
    return "" if value is None else str(value).strip()


def _tags(path: Path, value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(tag.strip() for tag in value.split(",") if tag.strip())
    if isinstance(value, list):
        return tuple(str(tag).strip() for tag in value if str(tag).strip())
    raise ValueError(f"{path}: tags must be a list")


def _order(path: Path, value: object) -> int:
    if value is None:
        return DEFAULT_ORDER
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{path}: order must be an integer")
    return value


def load_articles(folder: Path) -> list[ArticleFile]:
    """Every `*.md` under folder (recursively, sorted by path), parsed. Two files with the same
    slug and lang are an error: one of them would silently hide the other."""
    articles: list[ArticleFile] = []
    seen: dict[tuple[str, str], Path] = {}
    for path in sorted(folder.rglob("*.md")):
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"{path}: not UTF-8 text ({exc.reason})") from exc
        article = parse_article(path, text)
        key = (article.slug, article.lang)
        if key in seen:
            raise ValueError(f"{path}: slug {article.slug!r} in {article.lang!r} is already "
                             f"defined by {seen[key]}")
        seen[key] = path
        articles.append(article)
    return articles
