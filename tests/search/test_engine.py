"""The engine through its public API: ranking modes, typos, cross-lingual retrieval, updates."""

from __future__ import annotations

from dataclasses import replace

import pytest

from kefu.search.engine import Doc, SearchEngine
from tests.search.conftest import BagOfWordsEmbedder


def slugs(hits: list) -> list[str]:
    return [hit.slug for hit in hits]


def test_bm25_ranks_the_article_that_shares_the_words(fixture_engine: SearchEngine) -> None:
    hits = fixture_engine.search("memo tag XRP deposit", mode="bm25")
    assert hits[0].slug == "deposit-missing-memo-tag"
    assert hits[0].bm25 > 0
    assert all(hit.bm25 > 0 for hit in hits)  # bm25 mode returns only articles that match


def test_one_hit_per_slug(fixture_engine: SearchEngine) -> None:
    for mode in ("bm25", "vector", "hybrid"):
        found = slugs(fixture_engine.search("提币 withdrawal pending 处理中", mode=mode))
        assert len(found) == len(set(found))


def test_typos_still_find_the_article(fixture_engine: SearchEngine) -> None:
    assert fixture_engine.search("withdrawl pendng", mode="bm25")[0].slug == "withdrawal-pending"
    assert fixture_engine.search("withdrawl pendng")[0].slug == "withdrawal-pending"


def test_unfinished_last_word_is_completed(fixture_engine: SearchEngine) -> None:
    assert fixture_engine.search("whitel", mode="bm25")[0].slug == "withdrawal-address-whitelist"
    assert fixture_engine.search("whitel ", mode="bm25") == []


def test_chinese_query_finds_an_english_only_article(fixture_engine: SearchEngine) -> None:
    hits = fixture_engine.search("资金费率怎么计算", lang="zh-CN", k=3)
    assert "funding-rate" in slugs(hits)
    funding = next(hit for hit in hits if hit.slug == "funding-rate")
    assert funding.lang == "en"  # no Chinese version exists


def test_english_query_finds_a_chinese_only_article(fixture_engine: SearchEngine) -> None:
    hits = fixture_engine.search("my phone was stolen", lang="en", k=3)
    assert "lost-phone" in slugs(hits)
    assert next(hit for hit in hits if hit.slug == "lost-phone").lang == "zh-CN"


def test_the_askers_translation_is_preferred(fixture_engine: SearchEngine) -> None:
    zh = fixture_engine.search("withdrawal pending review", lang="zh-CN", k=1)[0]
    en = fixture_engine.search("withdrawal pending review", lang="en", k=1)[0]
    assert (zh.slug, zh.lang) == ("withdrawal-pending", "zh-CN")
    assert (en.slug, en.lang) == ("withdrawal-pending", "en")


def test_hit_points_at_the_best_section(fixture_engine: SearchEngine) -> None:
    hit = fixture_engine.search("network congestion queued", lang="en", mode="bm25")[0]
    assert hit.slug == "withdrawal-pending"
    assert hit.section is not None
    assert hit.section.anchor == "network-congestion"
    assert "congested" in hit.snippet


def test_category_filter(fixture_engine: SearchEngine) -> None:
    hits = fixture_engine.search("withdrawal", category="deposits")
    assert hits
    assert {hit.slug for hit in hits} <= {"deposit-not-credited", "deposit-missing-memo-tag"}
    assert fixture_engine.search("withdrawal", category="no-such-category") == []


def test_empty_query_and_unknown_mode(fixture_engine: SearchEngine) -> None:
    assert fixture_engine.search("   ") == []
    with pytest.raises(ValueError, match="unknown search mode"):
        fixture_engine.search("deposit", mode="fuzzy")  # type: ignore[arg-type]


def test_upsert_and_remove_change_results(fast_engine: SearchEngine) -> None:
    assert fast_engine.search("staking rewards", mode="bm25") == []
    fast_engine.upsert([Doc("earn-staking", "en", "Staking rewards",
                            "Stake ETH and receive staking rewards every day.")])
    assert slugs(fast_engine.search("staking rewards", mode="bm25")) == ["earn-staking"]
    assert fast_engine.remove("earn-staking", "en") is True
    assert fast_engine.remove("earn-staking", "en") is False
    assert fast_engine.search("staking rewards", mode="bm25") == []


def test_upsert_replaces_a_translation(fast_engine: SearchEngine) -> None:
    fast_engine.upsert([Doc("funding-rate", "en", "How the funding rate works",
                            "Rewritten: funding is exchanged hourly between traders.")])
    hit = fast_engine.search("hourly", mode="bm25")[0]
    assert (hit.slug, hit.lang) == ("funding-rate", "en")
    assert fast_engine.search("longs pay shorts", mode="bm25") == []


def test_upsert_embeds_only_changed_sections(fixture_docs: list[Doc]) -> None:
    embedder = BagOfWordsEmbedder()
    engine = SearchEngine(embedder)
    engine.upsert(fixture_docs)
    first = len(embedder.embedded)
    engine.upsert(fixture_docs)
    assert len(embedder.embedded) == first  # nothing changed, nothing embedded
    doc = next(d for d in fixture_docs if d.slug == "funding-rate")
    edited = replace(doc, body=doc.body.replace("Funding = position size",
                                                "Funding paid = position size"))
    engine.upsert([edited])
    assert len(embedder.embedded) == first + 1  # one section changed


def test_invalid_doc_is_rejected(fast_engine: SearchEngine) -> None:
    with pytest.raises(ValueError, match="'body' is empty"):
        fast_engine.upsert([Doc("x", "en", "Title", "  ")])


def test_a_bad_document_in_a_rebuild_changes_nothing(fast_engine: SearchEngine) -> None:
    before = slugs(fast_engine.search("withdrawal", mode="bm25"))
    with pytest.raises(ValueError, match="'title' is empty"):
        fast_engine.replace_all([Doc("only-one", "en", "", "Body")])
    assert len(fast_engine) == 14
    assert slugs(fast_engine.search("withdrawal", mode="bm25")) == before


def test_customers_words_find_the_articles_words(fixture_engine: SearchEngine) -> None:
    """Traditional characters, "充了" (jieba keeps the particle: no index term), "U" for USDT
    and 限流/实名 (words no article uses) used to find nothing or the wrong article."""
    assert slugs(fixture_engine.search("提幣一直處理中", mode="bm25"))[:1] == ["withdrawal-pending"]
    assert slugs(fixture_engine.search("充了", mode="bm25"))[:1] == ["deposit-not-credited"]
    assert slugs(fixture_engine.search("爆倉了", mode="bm25"))[:1] == ["liquidation-explained"]
