"""The editor in the agent console, as a browser uses it: forms with CSRF, a live preview,
side-by-side translation, publishing by supervisors, versions with diffs, media uploads."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from kefu.kb.models import ArticleTranslation
from tests.factories import World, make_world
from tests.kb.support import DEPOSIT_EN, DEPOSIT_ZH, make_article, make_category
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
    assert created.headers["location"] == f"/agent/kb/articles/{SLUG}?translation=en&ok=created"
    return world, csrf


async def test_write_translate_and_publish(app: FastAPI, client: httpx.AsyncClient) -> None:
    world, csrf = await _draft(app, client)
    edit = await client.get(f"/agent/kb/articles/{SLUG}", params={"translation": "en"})
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
    assert saved.headers["location"] == f"/agent/kb/articles/{SLUG}?translation=zh-CN&ok=saved"
    empty = await client.post(f"/agent/kb/articles/{SLUG}/translations/ja", data={
        "csrf_token": csrf, "title": "", "body_md": "x", "back": "translate", "source": "en"})
    assert empty.status_code == 422
    assert 'data-testid="kb-translate-form"' in empty.text  # the form again, with the reason
    typo = await client.post(f"/agent/kb/articles/{SLUG}/translations/cn", data={
        "csrf_token": csrf, "title": "充值", "body_md": "x", "back": "translate", "source": "en"})
    assert typo.status_code == 422  # "cn" is no language: it would be served at /help/cn
    assert "is not a language" in typo.text
    api = await client.put(f"/api/v1/kb/articles/{SLUG}/translations/xx",
                           headers={"X-CSRF-Token": csrf},
                           json={"title": "x", "summary": "", "body_md": "x"})
    assert api.status_code == 422
    assert api.json()["error"]["code"] == "unknown_language"

    refused = await client.post(f"/agent/kb/articles/{SLUG}/publish",
                                data={"csrf_token": csrf, "lang": "en", "scope": "article"})
    assert refused.status_code == 403
    assert "Only supervisors and admins publish or change live articles and translations" \
        in refused.text

    supervisor_csrf = await _signed_in(client, world.supervisor.email)
    before = await client.get(f"/agent/kb/articles/{SLUG}", params={"translation": "en"})
    assert 'data-testid="publish-article"' not in before.text  # no language is published
    assert 'data-testid="publish-article-hint"' in before.text
    nothing = await client.post(f"/agent/kb/articles/{SLUG}/publish", data={
        "csrf_token": supervisor_csrf, "lang": "en", "scope": "article"})
    assert nothing.status_code == 409
    missing = await client.post(f"/agent/kb/articles/{SLUG}/publish", data={
        "csrf_token": supervisor_csrf, "lang": "ja", "scope": "translation"})
    assert missing.status_code == 404  # not "page or ticket not found": the article is there
    assert "This article has no version in that language yet" in missing.text
    published = await client.post(f"/agent/kb/articles/{SLUG}/publish", data={
        "csrf_token": supervisor_csrf, "lang": "en", "scope": "translation"})
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
    page = await client.get(f"/agent/kb/articles/{SLUG}/versions", params={"translation": "en"})
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


def _sets_language_cookie(response: httpx.Response) -> bool:
    return any(c.startswith("kefu_lang=") for c in response.headers.get_list("set-cookie"))


async def test_editing_a_translation_keeps_the_interface_language(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """``?translation=`` picks the language being edited; the console stays in its own
    language, and ``?lang=`` is still the interface switch."""
    world = await make_world(app)
    await make_category(app, world.admin)
    await make_article(app, world.admin, translations={"zh-CN": ("充值未到账", DEPOSIT_ZH)})
    await _signed_in(client, world.agent.email)

    chinese = await client.get(f"/agent/kb/articles/{SLUG}", params={"translation": "zh-CN"})
    assert chinese.status_code == 200
    assert '<html lang="en">' in chinese.text
    assert "Editing: 简体中文" in chinese.text  # the Chinese translation, in an English console
    assert "大多数充值在网络确认后几分钟内到账。" in chinese.text
    assert not _sets_language_cookie(chinese)

    # Links from before ?translation= still open the translation, and switch nothing.
    for path in (f"/agent/kb/articles/{SLUG}", f"/agent/kb/articles/{SLUG}/versions"):
        old = await client.get(path, params={"lang": "zh-CN", "ok": "saved"})
        assert old.status_code == 301
        assert old.headers["location"] == f"{path}?ok=saved&translation=zh-CN"
        assert not _sets_language_cookie(old)
        assert (await client.get(old.headers["location"])).status_code == 200
    assert '<html lang="en">' in (await client.get("/agent/kb")).text
    # Nor does looking at the translation on the help center ("view on site").
    on_site = await client.get(f"/help/zh-CN/articles/{SLUG}")
    assert '<html lang="zh-CN">' in on_site.text
    assert not _sets_language_cookie(on_site)
    assert '<html lang="en">' in (await client.get("/agent/kb")).text

    # The interface switch on the editor changes the interface, not the translation.
    switch = re.search(r'href="([^"]*translation=en[^"]*lang=zh-CN)"', (await client.get(
        f"/agent/kb/articles/{SLUG}", params={"translation": "en"})).text)
    assert switch is not None
    switched = await client.get(switch.group(1).replace("&amp;", "&"))
    assert '<html lang="zh-CN">' in switched.text
    assert "Most deposits arrive within minutes" in switched.text
    assert _sets_language_cookie(switched)
    assert '<html lang="zh-CN">' in (await client.get("/agent/kb")).text


async def test_editor_pages_allow_what_the_help_center_shows(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """The preview is what the help center shows, so the pages that preview an article send the
    help center's CSP (https images, video players); the rest of the console keeps its own."""
    world = await make_world(app)
    await make_category(app, world.admin)
    await make_article(app, world.admin, translations={"zh-CN": ("充值未到账", DEPOSIT_ZH)})
    help_csp = (await client.get(f"/help/en/articles/{SLUG}")).headers["content-security-policy"]
    assert "img-src 'self' data: https:" in help_csp
    assert "frame-src https://www.youtube-nocookie.com" in help_csp

    csrf = await _signed_in(client, world.agent.email)
    preview = await client.post("/agent/kb/preview", headers={"X-CSRF-Token": csrf}, data={
        "body_md": "![shot](https://example.com/a.png)\n\n"
                   "![video](https://www.youtube.com/watch?v=dQw4w9WgXcQ)"})
    assert preview.status_code == 200
    assert '<img src="https://example.com/a.png"' in preview.text
    assert 'src="https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ' in preview.text
    pages = [f"/agent/kb/articles/{SLUG}?translation=zh-CN", "/agent/kb/new",
             f"/agent/kb/articles/{SLUG}/translate?source=en&target=ja"]
    for url in pages:
        answer = await client.get(url)
        assert answer.status_code == 200, url
        assert answer.headers["content-security-policy"] == help_csp, url
    assert preview.headers["content-security-policy"] == help_csp
    for url in ("/agent/kb", "/agent"):
        console = (await client.get(url)).headers["content-security-policy"]
        assert "img-src 'self' data:;" in console, url
        assert "frame-src" not in console, url


async def test_the_editor_warns_about_images_readers_would_not_see(
        app: FastAPI, client: httpx.AsyncClient) -> None:
    """QA: an ``http://`` image saved without a word, and readers saw it broken (the help
    pages' CSP loads https images only). The preview and the page after saving warn, naming
    it; https images and uploads get no warning."""
    _, csrf = await _draft(app, client)
    body = DEPOSIT_EN + "\n\n![Deposit screen](http://cdn.example.com/a.png)"
    preview = await client.post("/agent/kb/preview", headers={"X-CSRF-Token": csrf},
                                data={"body_md": body})
    assert preview.status_code == 200
    warning = ('<p class="alert alert-warn" role="alert" data-testid="kb-http-images">Images '
               "must use https:// or be uploaded (Images and videos): the help center cannot "
               "show images on http://, so readers get a link instead of "
               "http://cdn.example.com/a.png.</p>")
    assert preview.text.startswith(warning)
    assert '<a href="http://cdn.example.com/a.png" rel="noopener noreferrer">Deposit screen</a>' \
        in preview.text
    fine = await client.post("/agent/kb/preview", headers={"X-CSRF-Token": csrf},
                             data={"body_md": "![chart](https://cdn.example.com/c.png)"})
    assert "kb-http-images" not in fine.text
    chinese = await client.post("/agent/kb/preview?lang=zh-CN", headers={"X-CSRF-Token": csrf},
                                data={"body_md": body})
    assert "图片须使用 https://" in chinese.text

    saved = await client.post(f"/agent/kb/articles/{SLUG}/translations/en", data={
        "csrf_token": csrf, "title": "My deposit has not arrived", "summary": "",
        "body_md": body})
    assert saved.status_code == 303
    page = await client.get(saved.headers["location"])
    assert 'data-testid="kb-http-images"' in page.text
    assert "readers get a link instead of http://cdn.example.com/a.png." in page.text
    saved = await client.post(f"/agent/kb/articles/{SLUG}/translations/en", data={
        "csrf_token": csrf, "title": "My deposit has not arrived", "summary": "",
        "body_md": DEPOSIT_EN})
    assert saved.status_code == 303
    assert "kb-http-images" not in (await client.get(saved.headers["location"])).text


async def test_media_takes_screenshots_and_recordings_over_a_megabyte(
        app: FastAPI, client: httpx.AsyncClient) -> None:
    """The media page is an upload route: the attachment limit (25 MB), not the 1 MB of other
    requests; over it, the browser gets a page saying so, not JSON."""
    world = await make_world(app)
    csrf = await _signed_in(client, world.agent.email)
    big = png_bytes() + b"\0" * 1_900_000  # a full-screen screenshot's size
    uploaded = await client.post("/agent/kb/media", data={"csrf_token": csrf},
                                 files={"file": ("screen.png", big, "image/png")})
    assert uploaded.status_code == 200, uploaded.text[:300]
    assert 'data-testid="media-markdown"' in uploaded.text
    limit = app.state.settings.max_attachment_bytes
    film = b"\0" * (limit + 300 * 1024)
    huge = await client.post("/agent/kb/media", data={"csrf_token": csrf},
                             files={"file": ("film.mp4", film, "video/mp4")})
    empty = await client.post("/agent/kb/media", data={"csrf_token": csrf},
                              files={"file": ("shot.png", b"", "image/png")})
    assert empty.status_code == 422
    assert "The file is empty" in empty.text
    assert huge.status_code == 413
    assert huge.headers["content-type"].startswith("text/html")
    assert "one upload may carry 25 MB in all" in huge.text
    chinese = await client.post("/agent/kb/media?lang=zh-CN", data={"csrf_token": csrf},
                                files={"file": ("film.mp4", film, "video/mp4")})
    assert "一次上传的文件合计不能超过 25 MB" in chinese.text
    assert "one upload" not in chinese.text
    api = await client.post("/api/v1/tickets", content=b"{" + b" " * 1_100_000 + b"}",
                            headers={"content-type": "application/json"})
    assert api.status_code == 413
    assert api.json()["error"]["code"] == "payload_too_large"  # the API keeps its JSON


async def test_media_refusal_names_what_articles_accept(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """A PDF is a fine ticket attachment but not article media: the refusal lists the types
    articles take, in the console's language."""
    world = await make_world(app)
    csrf = await _signed_in(client, world.agent.email)
    pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    refused = await client.post("/agent/kb/media", data={"csrf_token": csrf},
                                files={"file": ("guide.pdf", pdf, "application/pdf")})
    assert refused.status_code == 415, re.findall(r'role="alert">.*?</div>', refused.text, re.S)
    (alert,) = re.findall(r'role="alert">(.*?)</div>', refused.text, re.S)
    assert "Use PNG, JPEG, GIF or WebP images, or MP4 or WebM videos." in alert
    assert "PDF or plain text" not in alert  # the ticket attachments' rule, not articles'
    chinese = await client.post("/agent/kb/media?lang=zh-CN", data={"csrf_token": csrf},
                                files={"file": ("guide.pdf", pdf, "application/pdf")})
    assert chinese.status_code == 415
    assert "请上传 PNG、JPEG、GIF、WebP 图片或 MP4、WebM 视频。" in chinese.text


async def test_list_names_categories_in_the_console_language(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    world = await make_world(app)
    await make_category(app, world.admin)
    await make_article(app, world.admin)
    await _signed_in(client, world.agent.email)
    chinese = await client.get("/agent/kb", params={"lang": "zh-CN"})
    row = re.search(rf'<tr data-testid="kb-row" data-slug="{SLUG}">.*?</tr>', chinese.text,
                    re.DOTALL)
    assert row is not None
    assert "<td>充值 › 问题排查</td>" in row.group(0)
    english = await client.get("/agent/kb", params={"lang": "en"})
    assert "<td>Deposits › Troubleshooting</td>" in english.text


async def test_two_editors_saving_at_once_do_not_lose_words(
        app: FastAPI, client: httpx.AsyncClient) -> None:
    """Each form carries the version it started from: the second save is refused with the
    typed text kept, and saving again after that replaces the first one knowingly."""
    _, csrf = await _draft(app, client)
    page = (await client.get(f"/agent/kb/articles/{SLUG}", params={"translation": "en"})).text
    base = re.search(r'name="base_version" value="(\d+)"', page)
    assert base is not None
    assert base.group(1) == "1"
    form = {"csrf_token": csrf, "title": "My deposit has not arrived", "summary": "",
            "base_version": "1"}
    first = await client.post(f"/agent/kb/articles/{SLUG}/translations/en",
                              data={**form, "body_md": DEPOSIT_EN + "\n\nFirst editor's words."})
    assert first.status_code == 303
    second = await client.post(f"/agent/kb/articles/{SLUG}/translations/en",
                               data={**form, "body_md": DEPOSIT_EN + "\n\nSecond editor's words."})
    assert second.status_code == 409
    assert "Someone saved this translation while you were editing it." in second.text
    assert "Second editor&#39;s words." in second.text  # kept in the form
    assert 'name="base_version" value="2"' in second.text  # now starting from theirs
    kept = await client.get(f"/agent/kb/articles/{SLUG}", params={"translation": "en"})
    assert "First editor&#39;s words." in kept.text
    again = await client.post(f"/agent/kb/articles/{SLUG}/translations/en", data={
        **form, "base_version": "2", "body_md": DEPOSIT_EN + "\n\nSecond editor's words."})
    assert again.status_code == 303


async def test_a_save_refused_for_another_reason_keeps_the_version_it_started_from(
        app: FastAPI, client: httpx.AsyncClient) -> None:
    """An empty title is refused; a colleague saves meanwhile; the form still starts from the
    version it was loaded with, so the next save is refused as a conflict instead of replacing
    the colleague's words unseen."""
    _, csrf = await _draft(app, client)
    form = {"csrf_token": csrf, "summary": "", "base_version": "1"}
    refused = await client.post(f"/agent/kb/articles/{SLUG}/translations/en", data={
        **form, "title": "", "body_md": DEPOSIT_EN + "\n\nMy words."})
    assert refused.status_code == 422
    colleague = await client.post(f"/agent/kb/articles/{SLUG}/translations/en", data={
        **form, "title": "My deposit has not arrived",
        "body_md": DEPOSIT_EN + "\n\nA colleague's words."})
    assert colleague.status_code == 303
    again = (await client.post(f"/agent/kb/articles/{SLUG}/translations/en", data={
        **form, "title": "", "body_md": DEPOSIT_EN + "\n\nMy words."})).text
    assert 'name="base_version" value="1"' in again  # not 2: the colleague's save is unseen
    resaved = await client.post(f"/agent/kb/articles/{SLUG}/translations/en", data={
        **form, "title": "Deposit", "body_md": DEPOSIT_EN + "\n\nMy words."})
    assert resaved.status_code == 409
    translate = await client.post(f"/agent/kb/articles/{SLUG}/translations/en", data={
        **form, "title": "", "body_md": "x", "back": "translate", "source": "en"})
    assert 'name="base_version" value="1"' in translate.text


async def test_saving_unchanged_words_from_a_browser_is_no_new_version(
        app: FastAPI, client: httpx.AsyncClient) -> None:
    """Browsers send a textarea's lines as CRLF; the words are the same."""
    _, csrf = await _draft(app, client)
    saved = await client.post(f"/agent/kb/articles/{SLUG}/translations/en", data={
        "csrf_token": csrf, "title": "My deposit has not arrived",
        "summary": "Why a deposit can take longer.", "body_md": DEPOSIT_EN.replace("\n", "\r\n")})
    assert saved.status_code == 303
    page = await client.get(f"/agent/kb/articles/{SLUG}/versions", params={"translation": "en"})
    assert re.findall(r"version=(\d+)\"", page.text) == ["1"]


async def test_an_agent_sees_why_a_live_articles_placement_cannot_be_saved(
        app: FastAPI, client: httpx.AsyncClient) -> None:
    world = await make_world(app)
    await make_category(app, world.admin)
    await make_article(app, world.admin)  # published
    await _signed_in(client, world.agent.email)
    agent_view = await client.get(f"/agent/kb/articles/{SLUG}", params={"translation": "en"})
    assert 'data-testid="meta-locked"' in agent_view.text
    await _signed_in(client, world.supervisor.email)
    supervisor_view = await client.get(f"/agent/kb/articles/{SLUG}",
                                       params={"translation": "en"})
    assert 'data-testid="meta-locked"' not in supervisor_view.text


async def test_two_editors_saving_metadata_at_once_do_not_overwrite_each_other(
        app: FastAPI, client: httpx.AsyncClient) -> None:
    """The metadata form carries the article's ``metadata_etag`` as loaded: a save after a
    colleague's is refused with the typed values kept and what is saved now shown; saving
    again replaces it knowingly, and a page saved once saves again."""
    _, csrf = await _draft(app, client)
    url = f"/agent/kb/articles/{SLUG}"

    def base_of(page: str) -> str:
        found = re.search(r'name="base_metadata" value="([0-9a-f]+)"', page)
        assert found is not None
        return found.group(1)

    loaded = base_of((await client.get(url, params={"translation": "en"})).text)
    form = {"csrf_token": csrf, "lang": "en", "placement": "deposits/troubleshooting",
            "position": "10", "base_metadata": loaded}
    first = await client.post(url, data={**form, "tags": "deposit txid trc20"})
    assert first.status_code == 303, first.text
    second = await client.post(url, data={**form, "placement": "deposits/",
                                          "tags": "deposit txid memo-tag"})
    assert second.status_code == 409
    assert 'data-testid="meta-conflict"' in second.text
    assert "Someone changed this article&#39;s placement, tags or position" in second.text
    assert "</strong> Someone saved this translation" not in second.text  # not the words'
    assert "<dd>deposit trc20 txid</dd>" in second.text  # what the first editor saved
    assert "<dd>Deposits › Troubleshooting</dd>" in second.text
    assert 'value="deposit txid memo-tag"' in second.text  # what this one typed, kept
    assert '<option value="deposits/" selected>' in second.text
    theirs = base_of(second.text)
    assert theirs != loaded  # the form now starts from the first editor's save
    kept = await client.get(url, params={"translation": "en"})
    assert 'value="deposit trc20 txid"' in kept.text

    chinese = await client.post(url, params={"lang": "zh-CN"}, data={
        **form, "placement": "deposits/", "tags": "deposit"})
    assert chinese.status_code == 409
    assert "您编辑期间，有人修改了这篇文章的分类、标签或排序。" in chinese.text

    again = await client.post(url, data={**form, "placement": "deposits/",
                                         "tags": "deposit txid memo-tag", "base_metadata": theirs})
    assert again.status_code == 303, again.text
    page = (await client.get(url, params={"translation": "en", "lang": "en"})).text
    assert 'value="deposit memo-tag txid"' in page
    once_more = await client.post(url, data={**form, "placement": "deposits/", "position": "3",
                                             "tags": "deposit", "base_metadata": base_of(page)})
    assert once_more.status_code == 303, once_more.text

    # A refusal for another reason keeps the base the form was loaded with.
    stale = base_of((await client.get(url, params={"translation": "en"})).text)
    invalid = await client.post(url, data={**form, "tags": "bad/tag", "base_metadata": stale})
    assert invalid.status_code == 422
    assert base_of(invalid.text) == stale


async def test_translating_into_a_live_language_says_who_may_save_before_anything_is_typed(
        app: FastAPI, client: httpx.AsyncClient) -> None:
    """The side-by-side page, like the editor: an agent sees that a published translation is
    for publishers to change (the button is off) instead of a refusal after typing it all; its
    headings and the fields' labels do not share ids."""
    world = await make_world(app)
    await make_category(app, world.admin)
    await make_article(app, world.admin, translations={"zh-CN": ("充值未到账", DEPOSIT_ZH)})
    url = f"/agent/kb/articles/{SLUG}/translate?source=zh-CN&target=en"
    await _signed_in(client, world.agent.email)
    page = (await client.get(url)).text
    assert 'data-testid="kb-live-locked"' in page
    assert re.search(r'<button class="btn btn-primary" type="submit" disabled>', page)
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    await _signed_in(client, world.supervisor.email)
    page = (await client.get(url)).text
    assert 'data-testid="kb-live-locked"' not in page
    gaps = (await client.get("/agent/kb/gaps", params={"week": 1})).text
    assert "In these 7 days: suggestions shown" in gaps
    assert "Last 7 days" not in gaps


async def test_publishing_refuses_words_saved_after_the_publisher_loaded_them(
        app: FastAPI, client: httpx.AsyncClient) -> None:
    """QA: a supervisor opened a draft to review it, an agent then saved new words, and the
    supervisor's "Publish" put the agent's unseen words live. The publish form carries the
    version shown; a later save is refused (409), the page shows the new words, and
    publishing from it goes through."""
    world, _ = await _draft(app, client)
    await _signed_in(client, world.supervisor.email)
    review = (await client.get(f"/agent/kb/articles/{SLUG}",
                               params={"translation": "en"})).text
    shown = re.search(r'name="version" value="(\d+)"', review)
    assert shown is not None
    assert shown.group(1) == "1"
    agent_csrf = await _signed_in(client, world.agent.email)
    saved = await client.post(f"/agent/kb/articles/{SLUG}/translations/en", data={
        "csrf_token": agent_csrf, "title": "My deposit has not arrived", "summary": "",
        "base_version": "1", "body_md": DEPOSIT_EN + "\n\nUnreviewed words."})
    assert saved.status_code == 303
    supervisor_csrf = await _signed_in(client, world.supervisor.email)
    form = {"csrf_token": supervisor_csrf, "lang": "en", "scope": "translation"}
    refused = await client.post(f"/agent/kb/articles/{SLUG}/publish",
                                data={**form, "version": "1"})
    assert refused.status_code == 409
    assert "Unreviewed words." in refused.text  # the page now shows what would go live
    async with app.state.db.transaction() as session:
        draft = await session.scalar(select(ArticleTranslation.status).where(
            ArticleTranslation.lang == "en"))
    assert draft == "draft"
    newer = re.search(r'name="version" value="(\d+)"', refused.text)
    assert newer is not None
    assert newer.group(1) == "2"
    published = await client.post(f"/agent/kb/articles/{SLUG}/publish",
                                  data={**form, "version": newer.group(1)})
    assert published.status_code == 303
    client.cookies.clear()
    assert "Unreviewed words." in (await client.get(f"/help/en/articles/{SLUG}")).text
