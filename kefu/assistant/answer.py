"""Composing the assistant's extractive answer: the best help-center section, in the customer's
language, with its link, a calibrated confidence, and the status-page lines that concern it.

The assistant answers in Chinese (zh-CN articles) or English; a customer writing any other
language gets English, the help center's fallback language (``kb.languages.preference``), and
search returns the nearest translation when an article has no version in the asked language.

Confidence (``answer_confidence``) is the probability that the chosen article is the one the
customer needs. Two signals are combined as independent evidence (naive Bayes on odds):

- the intent model's calibrated probability (temperature-scaled on held-out data by
  ``intent_calibration``): the prior that the intent's own article is right;
- where hybrid search ranks that article for the message: a likelihood ratio per rank,
  measured on labelled questions (``bench/assistant.py --calibrate``, figures in
  ``docs/assistant.md``). Ranks rather than raw scores, because BM25 and cosine scales depend on
  the corpus and the embedding model while ranks do not.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kefu.kb.status import StatusNotice
from kefu.search.index import Hit

REPLY_LANGUAGES = ("zh", "en")
_KB_LANGUAGES = {"zh": "zh-CN", "en": "en"}
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
# Kana or Hangul: Japanese or Korean, whose kanji / hanja are not Chinese
_KANA_HANGUL = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uac00-\ud7af]")
_LETTERS = re.compile(r"[A-Za-z\u00c0-\u024f]{2,}")
EXCERPT_CHARS = 520


def reply_language(detected: str, previous: str | None, text: str) -> str:
    """The language to answer in: Chinese for any Chinese (Traditional readers read zh-CN
    articles far better than English ones), English otherwise (Japanese and Korean too, though
    they may hold Chinese characters). A message without words of its own ("1", "ok", a txid)
    keeps the conversation's language."""
    if detected.startswith("zh") or (_HAN.search(text) and not _KANA_HANGUL.search(text)):
        return "zh"
    if previous in REPLY_LANGUAGES and len(_LETTERS.findall(text)) < 3:
        return previous
    return "en"


def kb_language(lang: str) -> str:
    """The help center's tag for a reply language: ``zh`` → ``zh-CN``."""
    return _KB_LANGUAGES.get(lang, "en")


def localized(texts: Mapping[str, str], lang: str, **fields: object) -> str:
    """``texts[lang]`` (``zh`` or ``en``, English otherwise), formatted with ``fields``."""
    return texts.get(lang, texts["en"]).format(**fields)


def help_url(lang: str, slug: str, anchor: str = "") -> str:
    """The help-center link of an article section: ``/help/{lang}/articles/{slug}#anchor``."""
    return f"/help/{lang}/articles/{slug}" + (f"#{anchor}" if anchor else "")


@dataclass(frozen=True, slots=True)
class Citation:
    """A help-center section the answer rests on."""

    slug: str
    lang: str
    anchor: str
    title: str
    heading: str

    @property
    def url(self) -> str:
        return help_url(self.lang, self.slug, self.anchor)

    @classmethod
    def of(cls, hit: Hit) -> Citation:
        section = hit.section
        anchor = section.anchor if section is not None else ""
        heading = section.heading if section is not None and anchor else ""
        return cls(hit.slug, hit.lang, anchor, hit.title, heading)

    def to_dict(self) -> dict[str, str]:
        return {"slug": self.slug, "lang": self.lang, "anchor": self.anchor,
                "title": self.title, "heading": self.heading, "url": self.url}


# ---------------------------------------------------------------- text

_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_EMPHASIS = re.compile(r"(\*\*|__|`)(.+?)\1")
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s*")


_FENCE = re.compile(r"^ {0,3}(?:`{3,}|~{3,}).*$", re.MULTILINE)
_TABLE_RULE = re.compile(r"^\|?\s*:?-{3,}")
_BLOCK_START = re.compile(r"(?:[-*+]|\d+\.)\s|\||#")


def chat_text(markdown: str) -> str:
    """Article Markdown as chat text: emphasis markers dropped, links as "text (url)", list
    markers and line breaks kept, table rows as "a — b — c" lines (the widget shows text, not
    Markdown)."""
    text = _FENCE.sub("", markdown)
    text = _LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})", text)
    text = _EMPHASIS.sub(r"\2", text)
    lines: list[str] = []
    for raw in text.strip().splitlines():
        line = raw.strip()
        if _TABLE_RULE.match(line):
            continue
        if line.startswith("|"):
            lines.append(" — ".join(cell.strip() for cell in line.strip("|").split("|")))
        elif line and lines and lines[-1] and not _BLOCK_START.match(line):
            # A hard-wrapped paragraph or list item continues: unwrap it.
            joiner = "" if _HAN.search(lines[-1][-1:]) and _HAN.search(line[:1]) else " "
            lines[-1] += joiner + line
        else:
            lines.append(line)
    return "\n".join(lines)


def excerpt(markdown: str, limit: int = EXCERPT_CHARS) -> str:
    """The first blocks of a section that fit in ``limit`` characters: whole list items and
    paragraphs, a long first block cut at a sentence end. Chat answers stay short; the link
    leads to the rest."""
    blocks = [block for block in re.split(r"\n\s*\n|\n(?=\s*(?:[-*+]|\d+\.)\s)",
                                          chat_text(markdown)) if block.strip()]
    kept: list[str] = []
    used = 0
    for block in blocks:
        if used + len(block) > limit:
            break
        kept.append(block.strip("\n"))
        used += len(block) + 1
    if kept:
        return "\n".join(kept)
    first = blocks[0] if blocks else ""
    rows = [line for line in first.splitlines() if line.strip()]
    if len(rows) > 1 and len(rows[0]) <= limit:  # a table or a run of lines: whole lines
        taken = [rows[0]]
        for row in rows[1:]:
            if sum(len(r) + 1 for r in taken) + len(row) > limit:
                break
            taken.append(row)
        return "\n".join(taken) + ("\n…" if len(taken) < len(rows) else "")
    cut = ""
    for piece in _SENTENCE_END.split(first):
        if len(cut) + len(piece) > limit:
            break
        cut += piece + ("" if _HAN.search(piece[-1:] or " ") else " ")
    return (cut.strip() or first[:limit].rstrip()) + "…"


_READ_MORE = {"en": "More: {title} — {url}", "zh": "详见：{title} — {url}"}
_STATUS_LINE = {"en": "Current status: {title}", "zh": "当前状态：{title}"}
_FROM_ARTICLE = {"en": "From “{title}”:", "zh": "摘自《{title}》："}


def compose_answer(hit: Hit, lang: str, *, notices: Sequence[StatusNotice] = (),
                   lead: str = "") -> str:
    """The extractive answer: optional lead sentence, the article's title, the excerpt of the
    best section, the relevant status lines, and the link to the section."""
    citation = Citation.of(hit)
    section_text = hit.section.text if hit.section is not None else hit.snippet
    title = citation.title + (f" › {citation.heading}" if citation.heading else "")
    parts = [lead] if lead else []
    parts.append(localized(_FROM_ARTICLE, lang, title=title))
    parts.append(excerpt(section_text))
    parts.extend(status_lines(notices, lang))
    parts.append(localized(_READ_MORE, lang, title=citation.title, url=citation.url))
    return "\n".join(parts)


_STATES = {"en": {"degraded": "degraded", "delayed": "delayed", "suspended": "suspended",
                  "operational": "operational"},
           "zh": {"degraded": "部分受影响", "delayed": "延迟", "suspended": "暂停",
                  "operational": "正常"}}
_DIRECTIONS = {"en": {"deposit": "deposits", "withdrawal": "withdrawals"},
               "zh": {"deposit": "充值", "withdrawal": "提币"}}


def status_lines(notices: Sequence[StatusNotice], lang: str) -> list[str]:
    """One line per notice. A network notice whose title does not name its network ("Ethereum
    upgrade") also says which coin, network and direction, and how they are."""
    lines = []
    for notice in notices:
        if not notice.title:
            continue
        title = notice.title
        if (notice.kind == "network" and notice.network and not re.search(
                rf"(?<![A-Za-z0-9]){re.escape(notice.network)}(?![A-Za-z0-9])", title,
                re.IGNORECASE)):  # a word of its own: "stopped" does not name OP
            words = _STATES["zh" if lang == "zh" else "en"]
            directions = _DIRECTIONS["zh" if lang == "zh" else "en"]
            what = " ".join(part for part in (
                notice.coin, notice.network, directions.get(notice.direction or "", "")) if part)
            state = words.get(notice.state, notice.state)
            title += f"（{what}：{state}）" if lang == "zh" else f" ({what}: {state})"
        lines.append(localized(_STATUS_LINE, lang, title=title))
    return lines


# ---------------------------------------------------------------- confidence


@dataclass(frozen=True, slots=True)
class RetrievalCalibration:
    """How much search's verdict moves the intent model's probability (module docstring).

    ``rank_ratios[r-1]``: likelihood ratio of search ranking the intent's article at rank r,
    right intent versus wrong; ``absent_ratio``: the same for "not in the hits";
    ``top1_precision``: how often search's top hit is the right article."""

    rank_ratios: tuple[float, ...]
    absent_ratio: float
    top1_precision: float


# Measured by `bench/assistant.py --calibrate --intent-embeddings`: 288 held-out questions of
# intents.csv against the demo help center (hybrid search, e5); docs/assistant.md has the run.
DEFAULT_CALIBRATION = RetrievalCalibration((1.924, 0.619, 0.619, 0.619, 0.619), 0.307, 0.219)


def answer_confidence(intent_probability: float, intent_article_rank: int | None,
                      calibration: RetrievalCalibration = DEFAULT_CALIBRATION) -> float:
    """Probability that the answer's article is the one the customer needs.

    When search returned the intent's article (at ``intent_article_rank``, 1-based) the answer
    uses it, and the intent model's calibrated probability is updated by the likelihood ratio
    of that rank: posterior odds = prior odds × ratio. When it did not, the answer is search's
    top hit, right only if the intent was wrong (posterior after "absent") and the top hit is
    right (its measured precision)."""
    p = min(max(intent_probability, 1e-4), 1 - 1e-4)
    odds = p / (1 - p)
    ranks = calibration.rank_ratios
    if intent_article_rank is not None and 1 <= intent_article_rank <= len(ranks):
        odds *= ranks[intent_article_rank - 1]
        return odds / (1 + odds)
    odds *= calibration.absent_ratio
    return (1 - odds / (1 + odds)) * calibration.top1_precision
