"""`kefu eval search`: recall@1, recall@5, MRR and query latency for each ranking mode over a
folder of articles and a CSV of `query,expected_slug`.

The same engine is queried in every mode; the query-vector cache is emptied before each mode
so every mode pays for its own embeddings, and one warm-up query loads the model first.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kefu.search.corpus import load_articles
from kefu.search.engine import SearchEngine
from kefu.search.index import MODES, Doc, Mode

MRR_DEPTH = 10


@dataclass(frozen=True)
class LabelledQuery:
    query: str
    expected_slug: str


def read_queries(path: Path) -> list[LabelledQuery]:
    """Rows of a `query,expected_slug` CSV (other columns ignored); ValueError when the header
    lacks a column or no row has both fields."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            header = [name.strip() for name in reader.fieldnames or []]
            missing = [name for name in ("query", "expected_slug") if name not in header]
            if missing:
                raise ValueError(f"{path}: header must have columns query,expected_slug "
                                 f"(missing: {', '.join(missing)})")
            rows = [{(k or "").strip(): (v or "").strip() for k, v in row.items()
                     if isinstance(v, str)} for row in reader]
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    except csv.Error as exc:
        raise ValueError(f"{path}: not a readable CSV ({exc})") from exc
    queries = [LabelledQuery(row["query"], row["expected_slug"]) for row in rows
               if row.get("query") and row.get("expected_slug")]
    if not queries:
        raise ValueError(f"{path}: no rows with both a query and an expected_slug")
    return queries


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q)) if values else 0.0


def score_mode(engine: SearchEngine, queries: list[LabelledQuery], mode: Mode
               ) -> dict[str, float]:
    """recall@1, recall@5, MRR (first correct slug within the top 10) and latency for one
    mode."""
    clear = getattr(engine.embedder, "clear_query_cache", None)
    if clear is not None:
        clear()
    reciprocal: list[float] = []
    latencies: list[float] = []
    for item in queries:
        started = time.perf_counter()
        hits = engine.search(item.query, k=MRR_DEPTH, mode=mode)
        latencies.append((time.perf_counter() - started) * 1000)
        slugs = [hit.slug for hit in hits]
        rank = slugs.index(item.expected_slug) + 1 if item.expected_slug in slugs else 0
        reciprocal.append(1.0 / rank if rank else 0.0)
    n = len(queries)
    return {
        "recall@1": round(sum(r == 1.0 for r in reciprocal) / n, 4),
        "recall@5": round(sum(r >= 1 / 5 for r in reciprocal) / n, 4),
        "mrr": round(sum(reciprocal) / n, 4),
        "p50_ms": round(_percentile(latencies, 50), 2),
        "p95_ms": round(_percentile(latencies, 95), 2),
    }


def build_engine(kb: Path) -> tuple[SearchEngine, list[Doc]]:
    """An in-memory engine over every article under kb; ValueError when there is none."""
    docs = [Doc.from_article(article) for article in load_articles(kb)]
    if not docs:
        raise ValueError(f"{kb}: no article files (*.md with front matter) found")
    engine = SearchEngine()
    engine.upsert(docs)
    return engine, docs


def evaluate_search(kb: Path, queries: Path, *, json_only: bool) -> dict[str, Any]:
    """Score every mode; print a table (unless json_only), then one JSON line."""
    labelled = read_queries(queries)
    started = time.perf_counter()
    engine, docs = build_engine(kb)
    build_s = time.perf_counter() - started
    engine.search("warm-up", k=1, mode="vector")
    result: dict[str, Any] = {mode: score_mode(engine, labelled, mode) for mode in MODES}
    known = {doc.slug for doc in docs}
    result.update({
        "articles": len(known), "translations": len(docs), "queries": len(labelled),
        "unknown_expected_slugs": sorted({q.expected_slug for q in labelled} - known),
        "index_build_s": round(build_s, 2),
    })
    if not json_only:
        sys.stdout.write(_table(result))
    sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
    return result


def _table(result: dict[str, Any]) -> str:
    columns = ("recall@1", "recall@5", "mrr", "p50_ms", "p95_ms")
    lines = [f"{result['articles']} articles ({result['translations']} translations), "
             f"{result['queries']} queries, index built in {result['index_build_s']} s",
             f"{'mode':<8}" + "".join(f"{c:>10}" for c in columns)]
    for mode in MODES:
        lines.append(f"{mode:<8}" + "".join(f"{result[mode][c]:>10}" for c in columns))
    if result["unknown_expected_slugs"]:
        lines.append("expected slugs not in the folder (counted as misses): "
                     + ", ".join(result["unknown_expected_slugs"]))
    return "\n".join(lines) + "\n"
