"""An article's metadata (category, section, tags, position) through ``PATCH /kb/articles/{slug}``:
with ``base_metadata_etag`` (the ``metadata_etag`` the editor loaded) a save made after someone
else changed them is refused with 409 ``edit_conflict`` and saves nothing; without it the save
replaces whatever is there, as before."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from kefu.accounts.models import AuditEntry
from kefu.core.errors import Conflict
from kefu.kb import schemas, service
from kefu.kb.indexing import ArticleIndex
from tests.factories import World, make_world
from tests.kb.support import DEPOSIT_EN, DEPOSIT_ZH, DEPOSITS, publisher

API = "/api/v1/kb"
SLUG = "deposit-not-credited"
ARTICLE = f"{API}/articles/{SLUG}"
WITHDRAWALS = schemas.CategoryWrite(names={"en": "Withdrawals", "zh-CN": "提现"}, position=20)


async def _draft(app: FastAPI, client: httpx.AsyncClient) -> tuple[World, dict[str, Any]]:
    """Two categories and a draft article (agents may change a draft's metadata)."""
    world = await make_world(app)
    for slug, category in (("deposits", DEPOSITS), ("withdrawals", WITHDRAWALS)):
        created = await client.put(f"{API}/categories/{slug}", json=category.model_dump(),
                                   headers=world.headers["supervisor"])
        assert created.status_code == 200, created.text
    article = await client.post(f"{API}/articles", headers=world.headers["agent"], json={
        "slug": SLUG, "category": "deposits", "section": "troubleshooting",
        "tags": ["deposit"], "position": 10, "lang": "en",
        "title": "My deposit has not arrived", "body_md": DEPOSIT_EN})
    assert article.status_code == 201, article.text
    return world, article.json()


async def _updates(app: FastAPI) -> int:
    async with app.state.db.transaction() as session:
        return await session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "kb.article_updated")) or 0


def _metadata(article: dict[str, Any]) -> tuple[Any, ...]:
    return (article["category"], article["section"], article["tags"], article["position"],
            article["metadata_etag"], article["updated_at"])


async def test_a_stale_save_is_refused_and_changes_nothing(
        app: FastAPI, client: httpx.AsyncClient) -> None:
    world, loaded = await _draft(app, client)
    agent = world.headers["agent"]
    first = await client.patch(ARTICLE, headers=agent, json={
        "tags": ["deposit", "trc20"], "base_metadata_etag": loaded["metadata_etag"]})
    assert first.status_code == 200, first.text
    assert first.json()["metadata_etag"] != loaded["metadata_etag"]
    updates = await _updates(app)

    refused = await client.patch(ARTICLE, headers=agent, json={
        "category": "withdrawals", "section": None, "tags": ["deposit"], "position": 5,
        "base_metadata_etag": loaded["metadata_etag"]})
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "edit_conflict"
    assert "category, section, tags or position changed" in error["message"]

    now = (await client.get(ARTICLE, headers=agent)).json()
    assert _metadata(now) == _metadata(first.json())  # nothing saved, not even the time
    assert await _updates(app) == updates  # and nothing audited


async def test_a_second_editor_with_the_page_open_does_not_overwrite_the_first(
        app: FastAPI, client: httpx.AsyncClient) -> None:
    """The issue's story: A changes the tags; B, whose page still shows the old tags, moves
    the article to another category and would have saved the old tags back over A's."""
    world, loaded = await _draft(app, client)
    a, b = world.headers["agent"], world.headers["other_agent"]
    base = loaded["metadata_etag"]
    saved = await client.patch(ARTICLE, headers=a, json={
        "category": "deposits", "section": "troubleshooting", "tags": ["deposit", "trc20"],
        "position": 10, "base_metadata_etag": base})
    assert saved.status_code == 200, saved.text

    stale = {"category": "withdrawals", "section": None, "tags": ["deposit"], "position": 10,
             "base_metadata_etag": base}
    refused = await client.patch(ARTICLE, headers=b, json=stale)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "edit_conflict"
    kept = (await client.get(ARTICLE, headers=b)).json()
    assert (kept["category"], kept["tags"]) == ("deposits", ["deposit", "trc20"])

    # A save that leaves the metadata as it now is has nothing to overwrite: not refused.
    same = await client.patch(ARTICLE, headers=b, json={
        "tags": ["trc20", "deposit"], "base_metadata_etag": base})
    assert same.status_code == 200, same.text
    assert same.json()["metadata_etag"] == kept["metadata_etag"]

    # B starts from what is there now (A's tags) and moves the article.
    moved = await client.patch(ARTICLE, headers=b, json={
        **stale, "tags": kept["tags"], "base_metadata_etag": kept["metadata_etag"]})
    assert moved.status_code == 200, moved.text
    assert (moved.json()["category"], moved.json()["section"], moved.json()["tags"]) == (
        "withdrawals", None, ["deposit", "trc20"])


async def test_without_a_precondition_the_save_replaces_as_before(
        app: FastAPI, client: httpx.AsyncClient) -> None:
    world, loaded = await _draft(app, client)
    agent = world.headers["agent"]
    first = await client.patch(ARTICLE, headers=agent, json={
        "tags": ["deposit", "trc20"], "base_metadata_etag": loaded["metadata_etag"]})
    assert first.status_code == 200, first.text
    last = await client.patch(ARTICLE, headers=world.headers["other_agent"],
                              json={"tags": ["txid"], "position": 3})
    assert last.status_code == 200, last.text
    assert (last.json()["tags"], last.json()["position"]) == (["txid"], 3)
    assert last.json()["section"] == "troubleshooting"  # fields left out stay as they are


async def test_a_second_save_starts_from_the_first_ones_etag(
        app: FastAPI, client: httpx.AsyncClient) -> None:
    world, loaded = await _draft(app, client)
    agent = world.headers["agent"]
    first = await client.patch(ARTICLE, headers=agent, json={
        "position": 20, "base_metadata_etag": loaded["metadata_etag"]})
    assert first.status_code == 200, first.text
    second = await client.patch(ARTICLE, headers=agent, json={
        "tags": ["deposit", "memo"], "base_metadata_etag": first.json()["metadata_etag"]})
    assert second.status_code == 200, second.text
    assert (second.json()["position"], second.json()["tags"]) == (20, ["deposit", "memo"])
    # the first response's etag is now stale in turn
    again = await client.patch(ARTICLE, headers=agent, json={
        "position": 30, "base_metadata_etag": first.json()["metadata_etag"]})
    assert again.status_code == 409, again.text


async def test_translations_and_publishing_leave_the_metadata_etag_alone(
        app: FastAPI, client: httpx.AsyncClient) -> None:
    """Saving a language or publishing moves ``updated_at`` but not the metadata: a colleague
    translating the article does not refuse a metadata save from a page opened before."""
    world, loaded = await _draft(app, client)
    translated = await client.put(f"{ARTICLE}/translations/zh-CN", headers=world.headers["agent"],
                                  json={"title": "充值未到账", "body_md": DEPOSIT_ZH})
    assert translated.status_code == 200, translated.text
    published = await client.post(f"{ARTICLE}/publish", json={"lang": "en"},
                                  headers=world.headers["supervisor"])
    assert published.status_code == 200, published.text
    assert published.json()["updated_at"] != loaded["updated_at"]
    assert published.json()["metadata_etag"] == loaded["metadata_etag"]
    saved = await client.patch(ARTICLE, headers=world.headers["supervisor"], json={
        "tags": ["deposit", "trc20"], "base_metadata_etag": loaded["metadata_etag"]})
    assert saved.status_code == 200, saved.text


async def test_two_saves_at_the_same_moment_from_the_same_base(
        app: FastAPI, client: httpx.AsyncClient) -> None:
    """The check and the write are one step: a save that read the article while another one
    was being written waits for it, then sees the change (PostgreSQL: FOR UPDATE; SQLite:
    the write lock is taken before the read)."""
    world, loaded = await _draft(app, client)
    index = ArticleIndex.for_settings(app.state.settings)
    base = loaded["metadata_etag"]
    written, release = asyncio.Event(), asyncio.Event()

    async def save(agent: Any, data: schemas.ArticleUpdate, *, hold: bool) -> None:
        async with app.state.db.transaction() as session:
            article = await service.get_article(session, SLUG)
            if not hold:
                await written.wait()  # read before the first save commits
            await service.update_article(session, publisher(agent), article, data,
                                         index=index)
            if hold:
                written.set()
                await release.wait()

    first = asyncio.create_task(save(world.agent, schemas.ArticleUpdate(
        tags=["deposit", "trc20"], base_metadata_etag=base), hold=True))
    second = asyncio.create_task(save(world.other_agent, schemas.ArticleUpdate(
        category="withdrawals", section=None, tags=["deposit"], base_metadata_etag=base),
        hold=False))
    await written.wait()
    await asyncio.sleep(0.3)
    assert not second.done()  # waiting for the first save's transaction
    release.set()
    await first
    with pytest.raises(Conflict):
        await second
    now = (await client.get(ARTICLE, headers=world.headers["agent"])).json()
    assert (now["category"], now["tags"]) == ("deposits", ["deposit", "trc20"])


async def test_a_malformed_precondition_is_invalid_input(
        app: FastAPI, client: httpx.AsyncClient) -> None:
    world, _ = await _draft(app, client)
    bad = await client.patch(ARTICLE, headers=world.headers["agent"],
                             json={"tags": ["x"], "base_metadata_etag": "2026-01-01T00:00:00Z"})
    assert bad.status_code == 422, bad.text
