"""Stored article HTML follows the renderer: translations an older renderer made are rendered
again when the app starts and by ``kefu kb rerender``, without becoming an edit (no version, same
author and date); current ones are left alone; Markdown that cannot be rendered is reported and
does not stop the others."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from kefu.accounts.models import Agent
from kefu.app import create_app
from kefu.cli import app as cli
from kefu.config import Settings
from kefu.kb import render
from kefu.kb.models import ArticleTranslation, ArticleVersion
from kefu.kb.rerender import rerender_translations
from kefu.migrations.runner import upgrade
from tests.factories import make_agent
from tests.kb.support import make_article, make_category

CHART = "http://cdn.example/chart.png"
BODY = f"Fees by tier.\n\n![Fee chart]({CHART})\n"
# What the renderer stored before http:// images became links (renderer version 0).
OLD_HTML = f'<p>Fees by tier.</p>\n<p><img src="{CHART}" alt="Fee chart"></p>\n'
LINK = f'<a href="{CHART}" rel="noopener noreferrer">Fee chart</a>'


async def _article(app: FastAPI, slug: str, body: str = BODY) -> uuid.UUID:
    """A published article saved by today's renderer; the first one brings its publisher."""
    async with app.state.db.transaction() as session:
        agent = await session.scalar(select(Agent).where(Agent.email == "pub@kefu.test"))
    if agent is None:
        agent = await make_agent(app, "pub@kefu.test", role="supervisor")
        await make_category(app, agent)
    article = await make_article(app, agent, slug=slug, title=f"About {slug}", body=body,
                                 summary="")
    return article.id


async def _store(app: FastAPI, article_id: uuid.UUID, *, html: str, version: int) -> None:
    """The row as an earlier release left it."""
    async with app.state.db.transaction() as session:
        await session.execute(update(ArticleTranslation)
                              .where(ArticleTranslation.article_id == article_id)
                              .values(body_html=html, renderer_version=version))


async def _row(app: FastAPI, article_id: uuid.UUID) -> tuple[str, int, datetime, int]:
    async with app.state.db.transaction() as session:
        translation = (await session.scalars(select(ArticleTranslation).where(
            ArticleTranslation.article_id == article_id))).one()
        versions = await session.scalar(select(func.count()).select_from(ArticleVersion).where(
            ArticleVersion.translation_id == translation.id))
        return (translation.body_html, translation.renderer_version, translation.updated_at,
                versions or 0)


def _rerender(settings: Settings, *args: str) -> tuple[int, str, str]:
    env = {"KEFU_DATA_DIR": str(settings.data_dir),
           "KEFU_DATABASE_URL": settings.resolved_database_url}
    result = CliRunner().invoke(cli, ["kb", "rerender", *args], env=env)
    return result.exit_code, result.stdout, result.stderr


async def test_saving_stamps_the_current_renderer(app: FastAPI) -> None:
    article_id = await _article(app, "fee-chart")
    html, version, _, versions = await _row(app, article_id)
    assert version == render.RENDERER_VERSION
    assert LINK in html
    assert "<img" not in html
    assert versions == 1


async def test_the_cli_rerenders_stale_rows_and_leaves_current_ones(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    stale = await _article(app, "fee-chart")
    current = await _article(app, "current-one")
    await _store(app, stale, html=OLD_HTML, version=0)
    # A current row is not rendered again, whatever it holds.
    await _store(app, current, html="<p>kept as stored</p>", version=render.RENDERER_VERSION)
    _, _, updated_at, _ = await _row(app, stale)

    code, out, err = await asyncio.to_thread(_rerender, settings)
    assert (code, out, err) == (0, "re-rendered 1 article translations (1 changed)\n", "")

    html, version, after, versions = await _row(app, stale)
    assert LINK in html
    assert "<img" not in html
    assert version == render.RENDERER_VERSION
    assert (after, versions) == (updated_at, 1)  # not an edit: no new version, same date
    assert (await _row(app, current))[0] == "<p>kept as stored</p>"
    page = await client.get("/help/en/articles/fee-chart")
    assert LINK in page.text

    # Nothing left to do; --all renders every translation again.
    assert await asyncio.to_thread(_rerender, settings) == (
        0, "re-rendered 0 article translations (0 changed)\n", "")
    code, out, _ = await asyncio.to_thread(_rerender, settings, "--all")
    assert (code, out) == (0, "re-rendered 2 article translations (1 changed)\n")
    assert (await _row(app, current))[0] != "<p>kept as stored</p>"


async def test_markdown_that_fails_to_render_does_not_stop_the_others(
    app: FastAPI, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = await _article(app, "broken", body="Fine until the renderer changed.\n")
    stale = await _article(app, "fee-chart")
    await _store(app, broken, html="<p>old</p>", version=0)
    await _store(app, stale, html=OLD_HTML, version=0)
    real = render.render_markdown

    def refusing(markdown: str) -> str:
        if "renderer changed" in markdown:
            raise RecursionError("maximum recursion depth exceeded\nmore detail")
        return real(markdown)

    monkeypatch.setattr(render, "render_markdown", refusing)
    code, out, err = await asyncio.to_thread(_rerender, settings)
    assert code == 1
    assert out == "re-rendered 1 article translations (1 changed)\n"
    assert err == ("kefu: cannot render broken (en): RecursionError: maximum recursion depth "
                   "exceeded\n")
    assert (await _row(app, broken))[:2] == ("<p>old</p>", 0)  # kept, tried again next time
    assert LINK in (await _row(app, stale))[0]


async def test_the_app_rerenders_stale_rows_when_it_starts(app: FastAPI,
                                                           settings: Settings) -> None:
    stale = await _article(app, "fee-chart")
    await _store(app, stale, html=OLD_HTML, version=0)
    second = create_app(settings)
    async with second.router.lifespan_context(second):
        task = next(t for t in asyncio.all_tasks() if t.get_name() == "kefu-kb-rerender")
        await asyncio.wait_for(task, 30)
    html, version, _, versions = await _row(app, stale)
    assert LINK in html
    assert (version, versions) == (render.RENDERER_VERSION, 1)


async def test_a_concurrent_save_is_not_overwritten(app: FastAPI,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The row is written only while its Markdown is the one that was rendered."""
    stale = await _article(app, "fee-chart")
    await _store(app, stale, html=OLD_HTML, version=0)
    loop, real = asyncio.get_running_loop(), render.render_markdown

    def save_meanwhile(markdown: str) -> str:  # runs in the worker thread
        asyncio.run_coroutine_threadsafe(_store_words(app, stale), loop).result(10)
        return real(markdown)

    monkeypatch.setattr(render, "render_markdown", save_meanwhile)
    report = await rerender_translations(app.state.db)
    assert (report.rendered, report.failures) == (0, [])
    assert (await _row(app, stale))[:2] == ("<p>Newer words.</p>\n", render.RENDERER_VERSION)


async def _store_words(app: FastAPI, article_id: uuid.UUID) -> None:
    async with app.state.db.transaction() as session:
        await session.execute(update(ArticleTranslation)
                              .where(ArticleTranslation.article_id == article_id)
                              .values(body_md="Newer words.", body_html="<p>Newer words.</p>\n",
                                      renderer_version=render.RENDERER_VERSION))


def test_rerender_without_a_database(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KEFU_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("KEFU_DATABASE_URL", raising=False)
    result = CliRunner().invoke(cli, ["kb", "rerender"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (f"kefu: no database at {(tmp_path / 'kefu.db').resolve()}: "
                             "run kefu migrate\n")
    assert not (tmp_path / "kefu.db").exists()


def test_rerender_a_database_not_migrated_to_0014(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    upgrade(f"sqlite+aiosqlite:///{tmp_path / 'kefu.db'}", "0013")
    monkeypatch.setenv("KEFU_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("KEFU_DATABASE_URL", raising=False)
    result = CliRunner().invoke(cli, ["kb", "rerender"])
    assert result.exit_code == 2
    assert result.stderr.startswith("kefu: cannot read the articles from the database (")
    assert result.stderr.strip().endswith("migrated (kefu migrate)?")
    assert len(result.stderr.strip().splitlines()) == 1


def test_rerender_refuses_an_unknown_option() -> None:
    result = CliRunner().invoke(cli, ["kb", "rerender", "--everything"])
    assert result.exit_code == 2


SAMPLE = """Intro with **bold**, `code` and [a link](https://kefu.example/a).

## Fees
![Chart](http://cdn.example/c.png) ![Logo](https://cdn.example/l.png)

| a | b |
|---|---|
| 1 | ~~2~~ |

<script>alert(1)</script><img src="http://x.example/y.png">
"""
# What each renderer version makes of SAMPLE.
SAMPLE_HTML = {1: (
    '<p>Intro with <strong>bold</strong>, <code>code</code> and <a href="https://kefu.example/a"'
    ' rel="noopener noreferrer">a link</a>.</p>\n<h2 id="fees">Fees</h2>\n<p><a'
    ' href="http://cdn.example/c.png" rel="noopener noreferrer">Chart</a> <img'
    ' src="https://cdn.example/l.png" alt="Logo" loading="lazy"></p>\n<table>\n<thead>\n<tr>\n'
    '<th>a</th>\n<th>b</th>\n</tr>\n</thead>\n<tbody>\n<tr>\n<td>1</td>\n<td><s>2</s></td>\n'
    '</tr>\n</tbody>\n</table>\n\n'
)}


def test_a_change_of_the_renderers_output_bumps_its_version() -> None:
    """Fails when the renderer's output changes and RENDERER_VERSION does not: bump it (stored
    articles are then rendered again) and add what the new version makes of SAMPLE."""
    assert render.render_markdown(SAMPLE) == SAMPLE_HTML.get(render.RENDERER_VERSION)
