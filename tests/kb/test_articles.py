"""Articles through ``/api/v1/kb``: agents draft and translate, publishers publish, the public
reads only what is published; every change of words is a version with a diff; votes count once
per voter; the search index follows publication."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from kefu.kb.indexing import ArticleIndex
from kefu.kb.models import ArticleVersion, SearchLog
from tests.factories import World, make_world
from tests.kb.support import DEPOSIT_EN, DEPOSIT_ZH, DEPOSITS, make_article, make_category

API = "/api/v1/kb"


async def _world_with_category(app: FastAPI, client: httpx.AsyncClient) -> World:
    world = await make_world(app)
    body = DEPOSITS.model_dump()
    refused = await client.put(f"{API}/categories/deposits", json=body,
                               headers=world.headers["agent"])
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "publisher_required"
    created = await client.put(f"{API}/categories/deposits", json=body,
                               headers=world.headers["supervisor"])
    assert created.status_code == 200, created.text
    assert [s["slug"] for s in created.json()["sections"]] == ["troubleshooting"]
    return world


async def test_draft_translate_publish_and_edit(app: FastAPI, client: httpx.AsyncClient) -> None:
    world = await _world_with_category(app, client)
    agent, supervisor = world.headers["agent"], world.headers["supervisor"]
    created = await client.post(f"{API}/articles", headers=agent, json={
        "slug": "deposit-not-credited", "category": "deposits", "section": "troubleshooting",
        "tags": ["deposit", "txid"], "lang": "en", "title": "My deposit has not arrived",
        "summary": "Why a deposit can take longer.", "body_md": DEPOSIT_EN})
    assert created.status_code == 201, created.text
    article = created.json()
    assert article["status"] == "draft"
    assert article["translations"][0]["status"] == "draft"
    assert '<h2 id="check-the-confirmations">' in article["translations"][0]["body_html"]

    # A draft does not exist for the public, neither alone nor in lists.
    assert (await client.get(f"{API}/articles/deposit-not-credited")).status_code == 404
    listed = await client.get(f"{API}/articles")
    assert listed.json()["items"] == []
    # Agents may not publish.
    refused = await client.post(f"{API}/articles/deposit-not-credited/publish", json={},
                                headers=agent)
    assert refused.status_code == 403
    # The article alone cannot go live: no language of it is published yet.
    nothing = await client.post(f"{API}/articles/deposit-not-credited/publish", json={},
                                headers=supervisor)
    assert nothing.status_code == 409, nothing.text
    assert nothing.json()["error"]["code"] == "nothing_to_publish"
    published = await client.post(f"{API}/articles/deposit-not-credited/publish",
                                  json={"lang": "en"}, headers=supervisor)
    assert published.json()["status"] == "published"
    assert published.json()["translations"][0]["status"] == "published"

    # A translation starts as a draft: agents see it, the public does not.
    translated = await client.put(f"{API}/articles/deposit-not-credited/translations/zh-cn",
                                  headers=agent, json={"title": "充值未到账",
                                                       "body_md": DEPOSIT_ZH})
    assert translated.status_code == 200, translated.text
    langs = {t["lang"]: t["status"] for t in translated.json()["translations"]}
    assert langs == {"en": "published", "zh-CN": "draft"}
    public = (await client.get(f"{API}/articles/deposit-not-credited")).json()
    assert [t["lang"] for t in public["translations"]] == ["en"]
    missing = await client.get(f"{API}/articles", params={"missing": "zh-CN"}, headers=agent)
    assert missing.json()["items"] == []
    no_ja = await client.get(f"{API}/articles", params={"missing": "ja"}, headers=agent)
    assert [a["slug"] for a in no_ja.json()["items"]] == ["deposit-not-credited"]

    # What is live is changed by publishers only; a change of words is a new version.
    live_edit = {"title": "My deposit has not been credited", "summary": "Why and what to do.",
                 "body_md": DEPOSIT_EN.replace("within minutes", "within 30 minutes")}
    refused = await client.put(f"{API}/articles/deposit-not-credited/translations/en",
                               headers=agent, json=live_edit)
    assert refused.status_code == 403
    for _ in range(2):  # the second, identical save is not a version
        saved = await client.put(f"{API}/articles/deposit-not-credited/translations/en",
                                 headers=supervisor, json=live_edit)
        assert saved.status_code == 200
    versions = await client.get(f"{API}/articles/deposit-not-credited/translations/en/versions",
                                headers=agent)
    assert [v["number"] for v in versions.json()["items"]] == [2, 1]
    assert versions.json()["items"][0]["author"] == "sup"
    detail = (await client.get(
        f"{API}/articles/deposit-not-credited/translations/en/versions/2", headers=agent)).json()
    assert "-title: My deposit has not arrived" in detail["diff"]
    assert "+title: My deposit has not been credited" in detail["diff"]
    assert "+Most deposits arrive within 30 minutes once the network confirms them." in \
        detail["diff"]
    first = (await client.get(
        f"{API}/articles/deposit-not-credited/translations/en/versions/1", headers=agent)).json()
    assert first["diff"] == ""
    assert (await client.get(f"{API}/articles/deposit-not-credited/translations/en/versions",
                             headers=world.headers["customer_a"])).status_code == 404

    # Unpublishing the only public translation takes the article off the site.
    off = await client.post(f"{API}/articles/deposit-not-credited/unpublish",
                            json={"lang": "en"}, headers=supervisor)
    assert off.json()["status"] == "draft"
    assert (await client.get(f"{API}/articles/deposit-not-credited")).status_code == 404
    async with app.state.db.transaction() as session:
        count = await session.scalar(select(func.count()).select_from(ArticleVersion))
    assert count == 3  # en v1, en v2, zh-CN v1


async def test_article_switch_keeps_each_translation_state(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Unpublishing the article hides every language; publishing it again shows the ones that
    were published and leaves a draft translation a draft."""
    world = await make_world(app)
    await make_category(app, world.admin)
    await make_article(app, world.admin, translations={"zh-CN": ("充值未到账", DEPOSIT_ZH)})
    supervisor = world.headers["supervisor"]
    url = f"{API}/articles/deposit-not-credited"
    draft_ja = await client.put(f"{url}/translations/ja", headers=world.headers["agent"],
                                json={"title": "入金が反映されない", "body_md": "下書き"})
    assert draft_ja.status_code == 200, draft_ja.text

    off = await client.post(f"{url}/unpublish", json={}, headers=supervisor)
    assert off.json()["status"] == "draft"
    assert {t["lang"]: t["status"] for t in off.json()["translations"]} == \
        {"en": "published", "ja": "draft", "zh-CN": "published"}
    assert (await client.get(url)).status_code == 404
    assert (await client.get("/help/en/articles/deposit-not-credited")).status_code == 404

    on = await client.post(f"{url}/publish", json={}, headers=supervisor)
    assert on.status_code == 200, on.text
    assert on.json()["status"] == "published"
    assert {t["lang"]: t["status"] for t in on.json()["translations"]} == \
        {"en": "published", "ja": "draft", "zh-CN": "published"}
    public = (await client.get(url)).json()
    assert [t["lang"] for t in public["translations"]] == ["en", "zh-CN"]
    ja_page = await client.get("/help/ja/articles/deposit-not-credited")
    assert ja_page.status_code == 404  # no public Japanese article: not a help language


async def test_hidden_published_translation_is_for_publishers(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """A published translation of an unpublished article comes back as it is when the article
    is published again, so only a publisher may change it meanwhile."""
    world = await make_world(app)
    await make_category(app, world.admin)
    await make_article(app, world.admin)
    url = f"{API}/articles/deposit-not-credited"
    assert (await client.post(f"{url}/unpublish", json={},
                              headers=world.headers["supervisor"])).status_code == 200
    edit = {"title": "Changed while hidden", "body_md": "Unreviewed words."}
    refused = await client.put(f"{url}/translations/en", headers=world.headers["agent"],
                               json=edit)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "publisher_required"


async def test_votes_count_once_per_voter(app: FastAPI, client: httpx.AsyncClient) -> None:
    world = await make_world(app)
    await make_category(app, world.admin)
    await make_article(app, world.admin)
    await make_article(app, world.admin, slug="draft-article", publish=False)
    votes = f"{API}/articles/deposit-not-credited/votes"
    customer = world.headers["customer_a"]

    first = await client.post(votes, headers=customer, json={"lang": "en", "helpful": True})
    assert first.status_code == 201, first.text
    assert (first.json()["helpful_count"], first.json()["unhelpful_count"]) == (1, 0)
    again = await client.post(votes, headers=customer,
                              json={"lang": "en", "helpful": False, "comment": "Still missing"})
    assert again.status_code == 200
    assert again.json()["changed"] is True
    assert (again.json()["helpful_count"], again.json()["unhelpful_count"]) == (0, 1)

    # Anonymous readers are told apart by the cookie the first vote sets.
    anonymous = await client.post(votes, json={"lang": "en", "helpful": True})
    assert anonymous.status_code == 201
    assert "kefu_voter=" in anonymous.headers["set-cookie"]
    same = await client.post(votes, json={"lang": "en", "helpful": True})
    assert same.status_code == 200
    client.cookies.clear()
    stranger = await client.post(votes, json={"lang": "en", "helpful": True})
    assert stranger.status_code == 201
    assert (stranger.json()["helpful_count"], stranger.json()["unhelpful_count"]) == (2, 1)

    assert (await client.post(f"{API}/articles/draft-article/votes",
                              json={"lang": "en", "helpful": True})).status_code == 404
    french = await client.post(votes, json={"lang": "fr", "helpful": True})  # not published in
    assert french.status_code == 422
    assert french.json()["error"]["code"] == "invalid_language"
    feedback = await client.get(f"{API}/feedback", params={"commented": "true"},
                                headers=world.headers["agent"])
    assert [(f["comment"], f["voter_kind"]) for f in feedback.json()["items"]] == [
        ("Still missing", "customer")]
    assert (await client.get(f"{API}/feedback", headers=customer)).status_code == 404


async def test_search_follows_publication_and_is_logged(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    world = await make_world(app)
    await make_category(app, world.admin)
    await make_article(app, world.admin, translations={"zh-CN": ("充值未到账", DEPOSIT_ZH)})
    found = await client.get(f"{API}/search", params={"q": "confirmations", "lang": "en"})
    assert found.status_code == 200
    hit = found.json()["items"][0]
    assert (hit["slug"], hit["lang"]) == ("deposit-not-credited", "en")
    assert hit["url"] == "/help/en/articles/deposit-not-credited#check-the-confirmations"
    assert hit["section"] == "Check the confirmations"
    # The reader's language wins when the article has it.
    zh = (await client.get(f"{API}/search", params={"q": "confirmations", "lang": "zh-CN"})
          ).json()["items"]
    assert [(h["slug"], h["lang"]) for h in zh] == [("deposit-not-credited", "zh-CN")]

    off = await client.post(f"{API}/articles/deposit-not-credited/unpublish", json={},
                            headers=world.headers["admin"])
    assert off.status_code == 200
    again = await client.get(f"{API}/search", params={"q": "confirmations", "lang": "en"})
    assert again.json()["items"] == []
    hits = await ArticleIndex.for_settings(app.state.settings).search("confirmations", lang="en")
    assert hits == []  # gone from the index, not only filtered out
    async with app.state.db.transaction() as session:
        logged = list(await session.scalars(select(SearchLog).order_by(SearchLog.created_at)))
    assert [(row.query, row.results, row.source) for row in logged] == [
        ("confirmations", 1, "api"), ("confirmations", 1, "api"), ("confirmations", 0, "api")]


async def test_publishing_through_the_api_refuses_words_saved_after_the_review(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    world = await _world_with_category(app, client)
    agent, supervisor = world.headers["agent"], world.headers["supervisor"]
    created = await client.post(f"{API}/articles", headers=agent, json={
        "slug": "deposit-not-credited", "category": "deposits", "section": "troubleshooting",
        "lang": "en", "title": "My deposit has not arrived", "body_md": DEPOSIT_EN})
    assert created.status_code == 201, created.text
    # The supervisor reviews version 1; meanwhile the agent saves version 2.
    changed = await client.put(f"{API}/articles/deposit-not-credited/translations/en",
                               headers=agent, json={"title": "My deposit has not arrived",
                                                    "body_md": DEPOSIT_EN + "\n\nUnreviewed."})
    assert changed.status_code == 200, changed.text
    stale = await client.post(f"{API}/articles/deposit-not-credited/publish",
                              json={"lang": "en", "version": 1}, headers=supervisor)
    assert stale.status_code == 409, stale.text
    assert stale.json()["error"]["code"] == "edit_conflict"
    assert (await client.get(f"{API}/articles/deposit-not-credited")).status_code == 404
    reviewed = await client.post(f"{API}/articles/deposit-not-credited/publish",
                                 json={"lang": "en", "version": 2}, headers=supervisor)
    assert reviewed.status_code == 200, reviewed.text
    assert "Unreviewed." in reviewed.json()["translations"][0]["body_md"]


async def test_a_save_through_the_api_names_images_readers_would_not_see(
        app: FastAPI, client: httpx.AsyncClient) -> None:
    """The editor warns about ``http://`` images (the help pages show them as links); the API
    says the same, per translation, so an integration that writes articles can too."""
    world = await _world_with_category(app, client)
    created = await client.post(f"{API}/articles", headers=world.headers["agent"], json={
        "slug": "deposit-not-credited", "category": "deposits", "lang": "en",
        "title": "My deposit has not arrived", "summary": "Why a deposit can take longer.",
        "body_md": DEPOSIT_EN + "\n\n![Deposit screen](http://cdn.example.com/a.png)"})
    assert created.status_code == 201, created.text
    [english] = created.json()["translations"]
    assert english["http_images"] == ["http://cdn.example.com/a.png"]
    fixed = await client.put(f"{API}/articles/deposit-not-credited/translations/en",
                             headers=world.headers["agent"], json={
                                 "title": "My deposit has not arrived",
                                 "summary": "Why a deposit can take longer.",
                                 "body_md": DEPOSIT_EN + "\n\n![Deposit screen]"
                                            "(https://cdn.example.com/a.png)"})
    assert fixed.status_code == 200, fixed.text
    assert [t["http_images"] for t in fixed.json()["translations"]] == [[]]
