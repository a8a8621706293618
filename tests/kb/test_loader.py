"""Loading a knowledge base from files (``kefu demo``): the demo set is complete and valid, and
loading is idempotent — the second time nothing changes."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from kefu.accounts.models import AuditEntry
from kefu.demo import seed
from kefu.kb import finder
from kefu.kb.indexing import ArticleIndex
from kefu.kb.loader import load_folder, read_categories
from kefu.kb.models import Article, ArticleTranslation, ArticleVersion, StatusEntry
from kefu.search.corpus import load_articles
from tests.factories import make_world
from tests.kb.support import publisher

CATEGORIES = """categories:
  - slug: deposits
    ticket_category: deposit
    name: {en: Deposits, zh-CN: 充值}
    description: {en: "Crediting.", zh-CN: "到账。"}
    sections:
      - {slug: troubleshooting, name: {en: Troubleshooting, zh-CN: 问题排查}}
"""


def _article(slug: str, lang: str, title: str, body: str) -> str:
    return (f"---\nslug: {slug}\nlang: {lang}\ntitle: {title}\ncategory: deposits\n"
            f"section: troubleshooting\ntags: [deposit]\nsummary: {title}.\norder: 10\n---\n"
            f"{body}\n")


def test_the_demo_knowledge_base_is_complete() -> None:
    categories = dict(read_categories(seed.KB_DIR / "categories.yaml"))
    languages: dict[str, set[str]] = defaultdict(set)
    for article in load_articles(seed.KB_DIR):
        languages[article.slug].add(article.lang)
        assert article.category in categories, article.path
        assert article.section in {s.slug for s in categories[article.category].sections}, \
            article.path
    assert len(languages) >= 60
    assert {slug for slug, langs in languages.items() if langs != {"en", "zh-CN"}} == set()


def test_bad_categories_file(tmp_path: Path) -> None:
    path = tmp_path / "categories.yaml"
    path.write_text("categories:\n  - slug: x\n    name: {}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="category 'x': names"):
        read_categories(path)
    path.write_text("nothing: here\n", encoding="utf-8")
    with pytest.raises(ValueError, match="needs a 'categories' list"):
        read_categories(path)


async def test_loading_twice_changes_nothing(app: FastAPI, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    world = await make_world(app)
    folder = tmp_path / "kb"
    (folder / "deposits").mkdir(parents=True)
    (folder / "categories.yaml").write_text(CATEGORIES, encoding="utf-8")
    for lang, title, body in (("en", "Deposit not credited", "Check the confirmations."),
                              ("zh-CN", "充值未到账", "请检查确认数。")):
        (folder / "deposits" / f"deposit-not-credited.{lang}.md").write_text(
            _article("deposit-not-credited", lang, title, body), encoding="utf-8")
    index = ArticleIndex.for_settings(app.state.settings)

    async def counts() -> tuple[int, ...]:
        async with app.state.db.transaction() as session:
            return tuple([await session.scalar(select(func.count()).select_from(model)) or 0
                          for model in (Article, ArticleTranslation, ArticleVersion,
                                        AuditEntry, StatusEntry)])

    async with app.state.db.transaction() as session:
        first = await load_folder(session, publisher(world.admin), folder, index=index)
    assert (first.categories, first.articles_added, first.translations_added) == (1, 1, 2)
    loaded = await counts()
    assert loaded[:3] == (1, 2, 2)
    hits = await index.search("confirmations", lang="en")
    assert [h.slug for h in hits] == ["deposit-not-credited"]
    async with app.state.db.transaction() as session:
        again = await load_folder(session, publisher(world.admin), folder, index=index)
    assert (again.articles_added, again.translations_added) == (0, 0)
    assert await counts() == loaded

    # The demo seed's help center: the same loading, plus status entries, once.
    monkeypatch.setattr(seed, "KB_DIR", folder)
    for _ in range(2):
        async with app.state.db.transaction() as session:
            await seed.seed_help_center(session)
    final = await counts()
    assert final[:3] == loaded[:3]
    assert final[4] == 3
    async with app.state.db.transaction() as session:
        statuses = {t.lang: t.status for t in await session.scalars(select(ArticleTranslation))}
    assert statuses == {"en": "published", "zh-CN": "published"}


async def test_search_rebuilds_a_missing_index(app: FastAPI, tmp_path: Path) -> None:
    """Articles loaded without an index (``kefu demo``) become searchable: the first search
    notices the index is short and rebuilds it in the background."""
    world = await make_world(app)
    folder = tmp_path / "kb"
    (folder / "deposits").mkdir(parents=True)
    (folder / "categories.yaml").write_text(CATEGORIES, encoding="utf-8")
    (folder / "deposits" / "deposit-not-credited.en.md").write_text(
        _article("deposit-not-credited", "en", "Deposit not credited",
                 "Check the confirmations."), encoding="utf-8")
    async with app.state.db.transaction() as session:
        await load_folder(session, publisher(world.admin), folder, index=None)
    index = ArticleIndex.for_settings(app.state.settings)
    async with app.state.db.transaction() as session:
        first = await finder.find(session, index, query="confirmations", lang="en")
    # The first search starts the rebuild and reads the index as it was, or as rebuilt where
    # the rebuild won the race; ``rebuilding`` may already be over either way. Only the first
    # search started a rebuild, so the search after it has settled finds the article.
    assert [f.slug for f in first] in ([], ["deposit-not-credited"])
    await index.settled()
    async with app.state.db.transaction() as session:
        found = await finder.find(session, index, query="confirmations", lang="en")
    assert [f.slug for f in found] == ["deposit-not-credited"]
    assert not index.rebuilding
