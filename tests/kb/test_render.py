"""Article Markdown is rendered to HTML that is safe to show to anyone: no scripts, no event
handlers, no javascript: links, embeds only from the allow-list; images, video and the heading
anchors that search cites survive."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kefu.kb.render import http_images, plain_excerpt, render_markdown, video_for
from kefu.search.corpus import split_sections

MEDIA = "/help/media/0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize("hostile", [
    "<script>alert(1)</script>",
    '<img src="x.png" onerror="alert(1)">',
    "[click](javascript:alert(1))",
    '<a href="javascript:alert(1)">click</a>',
    '<a href="JaVaScRiPt:alert(1)">click</a>',
    '<div onclick="alert(1)">x</div>',
    '<iframe src="https://evil.example/embed/x"></iframe>',
    '<iframe src="javascript:alert(1)"></iframe>',
    '<video src="https://evil.example/x.mp4" autoplay></video>',
    '<style>body{display:none}</style>',
    '<object data="x.swf"></object>',
    '<svg onload="alert(1)"><circle/></svg>',
    '<form action="https://evil.example"><input name="seed"></form>',
])
def test_hostile_html_is_removed(hostile: str) -> None:
    html = render_markdown(f"Before\n\n{hostile}\n\nAfter")
    lowered = html.lower()
    assert "<script" not in lowered
    assert not re.search(r"""(href|src)=["']?\s*javascript:""", lowered)
    assert not re.search(r"\son\w+=", lowered)
    for tag in ("<style", "<object", "<svg", "<form", "<input", "evil.example"):
        assert tag not in lowered
    assert "Before" in html
    assert "After" in html


def test_images_links_tables_and_code_survive() -> None:
    html = render_markdown(
        f"![Deposit screen]({MEDIA}.png) and ![chart](https://cdn.example.com/c.png)\n\n"
        "[fees](/help/en/articles/trading-fees) · [site](https://example.com)\n\n"
        "| Network | Confirmations |\n|---|---|\n| TRC20 | 19 |\n\n```\nGET /api/v3/order\n```")
    assert f'<img src="{MEDIA}.png" alt="Deposit screen" loading="lazy">' in html
    assert 'src="https://cdn.example.com/c.png"' in html
    assert '<a href="/help/en/articles/trading-fees"' in html
    assert "<td>TRC20</td>" in html
    assert "<code>GET /api/v3/order\n</code>" in html


def test_images_on_plain_http_become_links_not_broken_pictures() -> None:
    """QA: ``![x](http://…)`` passed the sanitizer, but the help pages' CSP only loads https
    images, so readers saw a broken picture. Such an image is a link to it instead (named by its
    text, or its address); raw ``<img>`` HTML on http is dropped; https and uploads stay."""
    body = ("![Deposit screen](http://cdn.example.com/a.png) and ![](HTTP://cdn.example.com/b.png)"
            " and ![chart](https://cdn.example.com/c.png) and ![up](" + MEDIA + ".png)\n\n"
            "[![in a link](http://cdn.example.com/d.png)](https://example.com/page)\n\n"
            '<img src="http://cdn.example.com/e.png" alt="raw"> after\n')
    html = render_markdown(body)
    assert '<a href="http://cdn.example.com/a.png" rel="noopener noreferrer">Deposit screen</a>' \
        in html
    assert ('<a href="HTTP://cdn.example.com/b.png" rel="noopener noreferrer">'
            "HTTP://cdn.example.com/b.png</a>") in html
    assert '<a href="https://example.com/page" rel="noopener noreferrer">in a link</a>' in html
    assert not re.search(r"<img[^>]*http:", html, re.IGNORECASE)
    assert "<img>" not in html
    assert 'alt="raw"' not in html
    assert "after" in html
    assert '<img src="https://cdn.example.com/c.png" alt="chart" loading="lazy">' in html
    assert f'<img src="{MEDIA}.png" alt="up" loading="lazy">' in html
    assert http_images(body) == ["http://cdn.example.com/a.png", "HTTP://cdn.example.com/b.png",
                                 "http://cdn.example.com/d.png", "http://cdn.example.com/e.png"]
    assert http_images("![ok](https://cdn.example.com/c.png) [page](http://example.com)") == []


@given(st.text(alphabet="![]()<>\"'=/:. imgsrchtpa\n", max_size=80))
def test_no_image_on_plain_http_is_ever_rendered(text: str) -> None:
    assert not re.search(r"""<img[^>]*src=["']?\s*http:""", render_markdown(text),
                         re.IGNORECASE)


@pytest.mark.parametrize(("url", "embed"), [
    ("https://www.youtube.com/watch?v=dQw4w9WgXcQ",
     "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"),
    ("https://youtu.be/dQw4w9WgXcQ", "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"),
    ("https://vimeo.com/76979871", "https://player.vimeo.com/video/76979871"),
])
def test_video_links_become_players(url: str, embed: str) -> None:
    html = render_markdown(f"![How to deposit]({url})")
    assert f'<iframe src="{embed}" title="How to deposit"' in html
    assert "allowfullscreen" in html


def test_uploaded_video_and_allowed_raw_embeds() -> None:
    html = render_markdown(
        f"![Screen recording]({MEDIA}.mp4)\n\n"
        '<iframe src="https://player.vimeo.com/video/123" onload="x()"></iframe>')
    assert f'<video controls="" preload="metadata" src="{MEDIA}.mp4">' in html
    assert '<iframe src="https://player.vimeo.com/video/123"></iframe>' in html
    assert "onload" not in html


@pytest.mark.parametrize(("url", "kind"), [
    ("http://www.youtube.com/watch?v=dQw4w9WgXcQ", None),  # not https
    ("https://www.youtube.com/watch?v=<script>", None),
    ("https://example.com/video.mp4", None),
    (f"{MEDIA}.webm", "file"),
])
def test_video_allow_list(url: str, kind: str | None) -> None:
    video = video_for(url)
    assert (video.kind if video else None) == kind


def test_heading_ids_are_the_anchors_search_cites() -> None:
    body = ("Intro.\n\n## Check the confirmations\nText.\n\n## Check the confirmations\nMore.\n\n"
            "### Details\nx\n\n## 为什么还没到账？\n中文")
    html = render_markdown(body)
    anchors = [s.anchor for s in split_sections(body, "Title") if s.anchor]
    assert anchors == ["check-the-confirmations", "check-the-confirmations-1", "为什么还没到账"]
    for anchor in anchors:
        assert f'<h2 id="{anchor}">' in html
    assert '<h3 id="details">' in html


def test_plain_excerpt() -> None:
    body = "## Heading first\n\n" + "Most **deposits** arrive within [minutes](/x). " * 5
    excerpt = plain_excerpt(body, 60)
    assert excerpt.startswith("Most deposits arrive within minutes.")
    assert excerpt.endswith("…")
    assert len(excerpt) <= 61
    assert plain_excerpt("Short.") == "Short."


@given(st.text(alphabet=st.sampled_from(list("<>\"'=/ ajvscriptonerlodimgfuhx:()[]!#")),
               max_size=120))
def test_no_script_or_handler_survives_any_input(text: str) -> None:
    html = render_markdown(text).lower()
    assert "<script" not in html
    assert not re.search(r"""(href|src)=["']?\s*javascript:""", html)
    assert not re.search(r"<[a-z][^>]*\son[a-z]+=", html)
