"""Article Markdown → sanitized HTML.

CommonMark (with tables and strikethrough) through markdown-it-py, then nh3 keeps only an
allow-list of tags and attributes: no scripts, no event handlers, no ``javascript:`` URLs.
``##`` headings get the ids that search cites (``kefu.search.corpus.anchor_for``), so a search
hit's anchor lands on its section. Video: an image whose URL is a YouTube or Vimeo page becomes a
privacy-friendly iframe; one that points at an uploaded ``.mp4``/``.webm`` becomes a ``<video>``.
Raw ``<iframe>``/``<video>`` HTML is kept only with those same sources. An image on plain
``http://`` would be blocked by the help pages' CSP (``img-src 'self' data: https:``) and show
as a broken picture: it becomes a link to the image instead (raw ``<img>`` HTML loses its
``src``), and the editor warns about it (``http_images``)."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import nh3
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

from kefu.search.corpus import anchor_for

# Stored with each translation's HTML (``ArticleTranslation.renderer_version``). Bump it in the
# change that alters what ``render_markdown`` produces for some input (an allowed tag, an embed,
# a link rule): translations rendered by an older version are rendered again when the app starts
# (``kefu.kb.rerender``), so articles saved before an upgrade follow the new rules without
# anyone saving them. History: 1, the first stamped (images on plain http:// became links).
RENDERER_VERSION = 1

MEDIA_PREFIX = "/help/media/"
YOUTUBE_EMBED = "https://www.youtube-nocookie.com/embed/"
VIMEO_EMBED = "https://player.vimeo.com/video/"
# Where embedded players may come from (the help pages' CSP names the same hosts).
VIDEO_FRAME_HOSTS = ("https://www.youtube-nocookie.com", "https://www.youtube.com",
                     "https://player.vimeo.com")
_EMBED_SRC = re.compile(
    r"^https://(?:www\.youtube-nocookie\.com/embed/|www\.youtube\.com/embed/"
    r"|player\.vimeo\.com/video/)[A-Za-z0-9_-]{1,64}(?:\?[A-Za-z0-9_=&;.-]{0,200})?$")
_MEDIA_SRC = re.compile(r"^/help/media/[0-9a-f]{32}\.(?:mp4|webm|png|jpe?g|gif|webp)$")
_VIDEO_FILE = re.compile(r"^/help/media/[0-9a-f]{32}\.(?:mp4|webm)$")
_YOUTUBE_ID = re.compile(r"^[A-Za-z0-9_-]{6,64}$")
_HTML_IMAGE_SRC = re.compile(r"""<img\b[^>]*?\ssrc\s*=\s*["']?\s*([^"'\s>]+)""", re.IGNORECASE)
_EMPTY_FRAME = re.compile(r"<iframe(?![^>]*\ssrc=)[^>]*>\s*</iframe>")
_EMPTY_IMAGE = re.compile(r"<img(?![^>]*\ssrc=)[^>]*>")
_EMPTY_VIDEO = re.compile(r"<video(?![^>]*\ssrc=)(?:(?!<source)[^>])*>(?:(?!<source).)*?</video>",
                          re.DOTALL)

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "details", "div", "em", "figcaption",
    "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "iframe", "img", "kbd", "li",
    "ol", "p", "pre", "s", "source", "span", "strong", "sub", "summary", "sup", "table",
    "tbody", "td", "th", "thead", "tr", "ul", "video",
}
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "h2": {"id"},
    "h3": {"id"},
    "img": {"src", "alt", "title", "width", "height", "loading"},
    "iframe": {"src", "title", "width", "height", "allow", "allowfullscreen", "loading",
               "referrerpolicy"},
    "video": {"src", "controls", "poster", "width", "height", "preload", "muted", "playsinline"},
    "source": {"src", "type"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align", "scope"},
    "code": {"class"},
    "div": {"class"},
    "span": {"class"},
    "ol": {"start"},
}


@dataclass(frozen=True)
class Video:
    """An embed the renderer produces for an image-syntax link to a video."""

    kind: str  # "frame" | "file"
    src: str


def video_for(url: str) -> Video | None:
    """The embed for a YouTube/Vimeo page URL or an uploaded video file, else None."""
    if _VIDEO_FILE.match(url):
        return Video("file", url)
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme != "https":
        return None
    video_id = ""
    if host in ("www.youtube.com", "youtube.com", "m.youtube.com"):
        if parts.path == "/watch":
            video_id = (parse_qs(parts.query).get("v") or [""])[0]
        elif parts.path.startswith(("/embed/", "/shorts/")):
            video_id = parts.path.split("/")[2]
    elif host == "youtu.be":
        video_id = parts.path.strip("/")
    elif host in ("www.youtube-nocookie.com",) and parts.path.startswith("/embed/"):
        video_id = parts.path.split("/")[2]
    if video_id:
        return Video("frame", YOUTUBE_EMBED + video_id) if _YOUTUBE_ID.match(video_id) else None
    if host in ("vimeo.com", "www.vimeo.com", "player.vimeo.com"):
        number = parts.path.rstrip("/").rsplit("/", 1)[-1]
        if number.isdigit():
            return Video("frame", VIMEO_EMBED + number)
    return None


def is_http(url: str) -> bool:
    """Plain ``http://``, which the help pages' CSP does not let an image load from."""
    return urlsplit(url.strip()).scheme.lower() == "http"


def http_images(markdown: str) -> list[str]:
    """The images in ``markdown`` on plain ``http://`` (Markdown or raw ``<img>``), in order,
    once each: readers would not see them, so the editor names them."""
    found: list[str] = []
    for token in _MD.parse(markdown):
        if token.type == "html_block":
            found.extend(_HTML_IMAGE_SRC.findall(token.content))
        for child in token.children or ():
            if child.type == "image":
                found.append(str(child.attrGet("src") or ""))
            elif child.type == "html_inline":
                found.extend(_HTML_IMAGE_SRC.findall(child.content))
    return [url for url in dict.fromkeys(found) if is_http(html.unescape(url))]


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    """Embeds only from the allow-list; classes only the ones our stylesheet knows; no image
    from plain http (the CSP would block it)."""
    if tag == "img" and attribute == "src" and is_http(value):
        return None
    if tag == "iframe" and attribute == "src":
        return value if _EMBED_SRC.match(value) else None
    if tag in ("video", "source") and attribute in ("src", "poster"):
        return value if _MEDIA_SRC.match(value) else None
    if attribute == "class":
        if tag == "code":
            return value if re.fullmatch(r"language-[A-Za-z0-9_+-]{1,32}", value) else None
        return value if value == "video" else None
    return value


def _render_image(self: RendererHTML, tokens: Sequence[Token], idx: int,
                  options: OptionsDict, env: EnvType) -> str:
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    title = html.escape(token.content or "video")
    if is_http(src):
        # The CSP would block it: a link to the image, named by its text (or its address);
        # inside a link already, the text alone (a link cannot hold another).
        text = html.escape(self.renderInlineAsText(token.children or [], options, env) or src)
        depth = sum((t.type == "link_open") - (t.type == "link_close") for t in tokens[:idx])
        return text if depth > 0 else f'<a href="{html.escape(src)}">{text}</a>'
    video = video_for(src)
    if video is None:
        token.attrSet("loading", "lazy")
        return str(self.image(tokens, idx, options, env))
    if video.kind == "file":
        return (f'<span class="video"><video controls preload="metadata" '
                f'src="{html.escape(video.src)}">{title}</video></span>')
    # A <span>: the image syntax sits inside a paragraph, where a <div> is not allowed.
    return (f'<span class="video"><iframe src="{html.escape(video.src)}" title="{title}" '
            'loading="lazy" allow="encrypted-media; picture-in-picture; fullscreen" '
            'allowfullscreen referrerpolicy="strict-origin-when-cross-origin"></iframe></span>')


def _heading_ids(state: Any) -> None:
    """``id`` on h2 headings exactly as search numbers its sections (a repeated heading gets
    ``-1``, ``-2``, …); h3 headings get theirs when it is not taken."""
    counts: dict[str, int] = {}
    taken: set[str] = set()
    tokens: list[Token] = state.tokens
    headings = [(i, t) for i, t in enumerate(tokens)
                if t.type == "heading_open" and t.tag in ("h2", "h3")]
    for index, token in headings:
        if token.tag == "h2":
            anchor = anchor_for(tokens[index + 1].content)
            count = counts.get(anchor, 0)
            counts[anchor] = count + 1
            anchor = anchor if count == 0 else f"{anchor}-{count}"
            if anchor:
                token.attrSet("id", anchor)
                taken.add(anchor)
    for index, token in headings:
        if token.tag == "h3":
            anchor = anchor_for(tokens[index + 1].content)
            if anchor and anchor not in taken:
                token.attrSet("id", anchor)
                taken.add(anchor)


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    md.core.ruler.push("kefu_heading_ids", _heading_ids)
    md.add_render_rule("image", _render_image)
    return md


_MD = _parser()


def render_markdown(markdown: str) -> str:
    """Sanitized HTML for an article body; safe to insert into a page as is."""
    raw = _MD.render(markdown)
    clean = nh3.clean(
        raw,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_filter_attribute,
        url_schemes={"http", "https", "mailto"},
        clean_content_tags={"script", "style"},
        strip_comments=True,
    )
    # An embed or image whose source was refused is left empty: drop it rather than show a
    # blank box or a broken picture.
    return _EMPTY_IMAGE.sub("", _EMPTY_VIDEO.sub("", _EMPTY_FRAME.sub("", clean)))


_MARKUP = re.compile(r"[`*_>#\[\]()!|~]+")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")


def plain_excerpt(markdown: str, limit: int = 160) -> str:
    """The first paragraph as plain text, cut at a word (meta descriptions, listings)."""
    for block in re.split(r"\n\s*\n", markdown.strip()):
        text = block.strip()
        if not text or text.startswith(("#", "<", "|", "```")):
            continue
        text = _MARKUP.sub("", _LINK.sub(r"\1", text))
        text = " ".join(text.split())
        if len(text) <= limit:
            return text
        cut = text[:limit]
        if " " in cut[limit // 2:]:
            cut = cut[:cut.rindex(" ")]
        return cut.rstrip(",.;:，。；：") + "…"
    return ""
