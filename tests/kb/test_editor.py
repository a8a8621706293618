"""The editor in the agent console, as a browser uses it: forms with CSRF, a live preview,
side-by-side translation, publishing by supervisors, versions with diffs, media uploads."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI

from tests.factories import World, make_world
from tests.kb.support import DEPOSIT_EN, make_category
from tests.web.browser import agent_sign_in, csrf_of, png_bytes

SLUG = "deposit-not-credited"


async def _signed_in(client: httpx.AsyncClient, email: str) -> str:
    """Signs in and returns the CSRF token of the editor's pages."""
    client.cookies.clear()
    assert (await agent_sign_in(client, email)).status_code == 303
    return csrf_of((await client.get("/agent/kb")).text)


async def _draft(app: FastAPI, client: httpx.AsyncClient) -> tuple[World, str]:
    world = await make_world(app)
    await make_category(app, world.admin)
    csrf = await _signed_in(client, world.agent.email)
    form = {"slug": SLUG, "placement": "deposits/troubleshooting", "tags": "deposit, TxID",
            "position": "10", "lang": "en", "title": "My deposit has not arrived",
            "summary": "Why a deposit can take longer.", "body_md": DEPOSIT_EN}
    assert (await client.post("/agent/kb/new", data=form)).status_code == 403  # no CSRF
    created = await client.post("/agent/kb/new", data={**form, "csrf_token": csrf})
    assert created.status_code == 303, created.text
    assert created.headers["location"] == f"/agent/kb/articles/{SLUG}?lang=en&ok=created"
    return world, csrf


async def test_write_translate_and_publish(app: FastAPI, client: httpx.AsyncClient) -> None:
    world, csrf = await _draft(app, client)
    edit = await client.get(f"/agent/kb/articles/{SLUG}", params={"lang": "en"})
    assert edit.status_code == 200
    assert 'data-testid="article-status">Draft' in edit.text
    assert 'data-testid="translate-zh-CN"' in edit.text  # the missing translation is offered
    assert 'data-testid="publish-article"' not in edit.text  # agents do not publish
    assert 'value="deposit txid"' in edit.text

    preview = await client.post("/agent/kb/preview", headers={"X-CSRF-Token": csrf},
                                data={"body_md": "## Steps\n\n<script>alert(1)</script>\n\n**ok**"})
    assert preview.status_code == 200
    assert '<h2 id="steps">Steps</h2>' in preview.text
    assert "<p><strong>ok</strong></p>" in preview.text
    assert "script" not in preview.text

    side = await client.get(f"/agent/kb/articles/{SLUG}/translate", params={"target": "zh-CN"})
    assert side.status_code == 200
    assert 'data-testid="translate-source"' in side.text
    assert '<h2 id="check-the-confirmations">' in side.text  # the source, rendered
    saved = await client.post(f"/agent/kb/articles/{SLUG}/translations/zh-CN", data={
        "csrf_token": csrf, "title": "充值未到账", "summary": "", "back": "translate",
        "source": "en", "body_md": "大多数充值几分钟内到账。\n\n## 检查确认数\n需要区块确认。"})
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/agent/kb/articles/{SLUG}?lang=zh-CN&ok=saved"
    empty = await client.post(f"/agent/kb/articles/{SLUG}/translations/ja", data={
        "csrf_token": csrf, "title": "", "body_md": "x", "back": "translate", "source": "en"})
    assert empty.status_code == 422
    assert 'data-testid="kb-translate-form"' in empty.text  # the form again, with the reason

    refused = await client.post(f"/agent/kb/articles/{SLUG}/publish",
                                data={"csrf_token": csrf, "lang": "en", "scope": "article"})
    assert refused.status_code == 403
    assert "only supervisors and admins publish" in refused.text

    supervisor_csrf = await _signed_in(client, world.supervisor.email)
    published = await client.post(f"/agent/kb/articles/{SLUG}/publish", data={
        "csrf_token": supervisor_csrf, "lang": "en", "scope": "article"})
    assert published.status_code == 303
    page = await client.get(published.headers["location"])
    assert 'data-testid="article-status">Published' in page.text
    listed = await client.get("/agent/kb", params={"missing": "ja"})
    assert f'data-slug="{SLUG}"' in listed.text
    assert f'data-slug="{SLUG}"' not in (await client.get(
        "/agent/kb", params={"missing": "zh-CN"})).text

    client.cookies.clear()
    assert (await client.get(f"/help/zh-CN/articles/{SLUG}")).status_code == 200


async def test_versions_show_diffs(app: FastAPI, client: httpx.AsyncClient) -> None:
    _, csrf = await _draft(app, client)
    changed = DEPOSIT_EN.replace("Contact support with the TxID.",
                                 "Contact support with the TxID and a screenshot.")
    saved = await client.post(f"/agent/kb/articles/{SLUG}/translations/en", data={
        "csrf_token": csrf, "title": "My deposit has not arrived", "summary": "",
        "body_md": changed})
    assert saved.status_code == 303
    page = await client.get(f"/agent/kb/articles/{SLUG}/versions", params={"lang": "en"})
    assert page.status_code == 200
    diff = re.search(r'<pre class="kb-diff" data-testid="kb-diff">(.*?)</pre>', page.text,
                     re.DOTALL)
    assert diff is not None
    assert ('<span class="diff-add">+Contact support with the TxID and a screenshot.</span>'
            in diff.group(1))
    assert '<span class="diff-remove">-Contact support with the TxID.</span>' in diff.group(1)
    assert '<span class="diff-remove">-summary: Why a deposit can take longer.</span>' in \
        diff.group(1)


async def test_media_upload(app: FastAPI, client: httpx.AsyncClient) -> None:
    world = await make_world(app)
    csrf = await _signed_in(client, world.agent.email)
    uploaded = await client.post("/agent/kb/media", data={"csrf_token": csrf, "alt": "Step 1"},
                                 files={"file": ("shot.png", png_bytes(), "image/png")})
    assert uploaded.status_code == 200, uploaded.text
    markdown = re.search(r'data-testid="media-markdown">!\[Step 1\]\((/help/media/[0-9a-f]{32}'
                         r'\.png)\)</pre>', uploaded.text)
    assert markdown is not None
    client.cookies.clear()
    served = await client.get(markdown.group(1))
    assert served.status_code == 200
    assert served.content == png_bytes()
    assert served.headers["content-type"] == "image/png"
    assert "immutable" in served.headers["cache-control"]
    csrf = await _signed_in(client, world.agent.email)
    text = await client.post("/agent/kb/media", data={"csrf_token": csrf},
                             files={"file": ("x.png", b"<script>alert(1)</script>", "image/png")})
    assert text.status_code == 415
    assert (await client.get("/help/media/" + "0" * 32 + ".png")).status_code == 404
