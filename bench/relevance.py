"""Relevance calibration: which search results the help center shows, on the demo knowledge base
with the real model.

    .venv/bin/python bench/relevance.py [--index DIR] [--sweep]

The search service ranks; ``kefu.kb.finder.relevance`` decides what is good enough to show (a
result list, deflection suggestions, "no good result" in the content-gap report). This measures
that decision on three query sets, each asked from the English and the Chinese help center:

* ``tests/search/queries_dev.csv``: questions, with the article that answers them;
* ``bench/relevance_queries.csv``: keywords and typos ("deposit", "KYC", "withdrawl", "提币"),
  with their article, and off-topic text (an empty expected slug: weather, recipes, nonsense,
  greetings) that must find nothing;
* the questions and keywords again against a knowledge base holding only the *other* language
  (a Chinese query and English-only articles, and the reverse), where only the cross-lingual
  floor can answer.

For each: ``answered`` (the expected article is among the relevant results), ``first`` (it is
the first relevant result), and for off-topic text ``false`` (anything relevant shown). Embedding
the demo knowledge base takes about a minute; ``--index`` reuses a built index (a data folder's
``search``). ``--sweep`` tries other floors. Recalibrate after changing the embedding model.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kefu.kb import finder  # noqa: E402
from kefu.search import analyze  # noqa: E402
from kefu.search.corpus import load_articles  # noqa: E402
from kefu.search.engine import Doc, SearchEngine  # noqa: E402

DEV = ROOT / "tests" / "search" / "queries_dev.csv"
EXTRA = ROOT / "bench" / "relevance_queries.csv"
DEMO_KB = ROOT / "kefu" / "demo" / "kb"
PAGES = ("en", "zh-CN")
FLOORS = ("COSINE_FLOOR", "WORD_MATCH_FLOOR", "CROSS_LINGUAL_FLOOR")


def read(path: Path) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [(row["query"], row["expected_slug"]) for row in csv.DictReader(handle)]


def one_language(engine: SearchEngine, keep: str) -> SearchEngine:
    """A copy of ``engine`` with only the translations in ``keep`` (vectors reused)."""
    with tempfile.TemporaryDirectory() as folder:
        engine.save(Path(folder) / "index")
        copy = SearchEngine.load(Path(folder) / "index", engine.embedder)
    copy.replace_all([d for d in copy.documents() if d.lang == keep])
    return copy


def asked(engine: SearchEngine, queries: list[tuple[str, str]], pages: tuple[str, ...]
          ) -> list[tuple[str, str, list]]:
    """Each query from each page: (query, expected, hits)."""
    return [(query, expected, engine.search(query, lang=page, k=10))
            for query, expected in queries for page in pages]


def measure(runs: list[tuple[str, str, list]]) -> dict[str, float | int]:
    answered = first = false = on_topic = off_topic = listed = 0
    for query, expected, hits in runs:
        shown = [hit.slug for hit, ok in zip(hits, finder.relevance(hits, query), strict=True)
                 if ok]
        if expected:
            on_topic += 1
            answered += expected in shown
            first += bool(shown) and shown[0] == expected
            listed += len(shown)
        else:
            off_topic += 1
            false += bool(shown)
    return {"queries": on_topic, "answered": round(answered / max(on_topic, 1), 3),
            "first": round(first / max(on_topic, 1), 3),
            "shown": round(listed / max(on_topic, 1), 1), "off_topic": off_topic,
            "false": false}


@contextmanager
def floors(values: dict[str, float]) -> Iterator[None]:
    before = {name: getattr(finder, name) for name in values}
    for name, value in values.items():
        setattr(finder, name, value)
    try:
        yield
    finally:
        for name, value in before.items():
            setattr(finder, name, value)


def report(sets: dict[str, list[tuple[str, str, list]]]) -> dict[str, dict[str, float | int]]:
    return {name: measure(runs) for name, runs in sets.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, help="a built index folder to reuse")
    parser.add_argument("--sweep", action="store_true", help="also try other floors")
    args = parser.parse_args()

    started = time.perf_counter()
    if args.index:
        engine = SearchEngine.load(args.index)
    else:
        engine = SearchEngine()
        engine.upsert(Doc.from_article(a) for a in load_articles(DEMO_KB))
    built = time.perf_counter() - started
    english, chinese = one_language(engine, "en"), one_language(engine, "zh-CN")
    dev, extra = read(DEV), read(EXTRA)
    on_topic = [q for q in dev + extra if q[1]]
    sets = {
        "questions": asked(engine, dev, PAGES),
        "keywords": asked(engine, [q for q in extra if q[1]], PAGES),
        "off-topic": asked(engine, [q for q in extra if not q[1]], PAGES),
        # the other language only: Chinese queries on English articles and the reverse
        "cross-lingual": (asked(english, [q for q in on_topic if analyze.has_han(q[0])], ("en",))
                          + asked(chinese, [q for q in on_topic if not analyze.has_han(q[0])],
                                  ("zh-CN",))),
        "off-topic, other language only": (
            asked(english, [q for q in extra if not q[1] and analyze.has_han(q[0])], ("en",))
            + asked(chinese, [q for q in extra if not q[1] and not analyze.has_han(q[0])],
                    ("zh-CN",))),
    }
    current = {name: getattr(finder, name) for name in FLOORS}
    print(f"index: {len(engine)} translations ({built:.0f} s); floors "
          + ", ".join(f"{name} {value}" for name, value in current.items()))
    results = report(sets)
    for name, figures in results.items():
        print(f"  {name:32s} " + "  ".join(f"{k} {v}" for k, v in figures.items()))
    if args.sweep:
        print("sweep (questions+keywords answered | off-topic shown | cross-lingual answered"
              " | off-topic shown, other language only)")
        for same in (0.85, 0.86, 0.87):
            for word in (0.78, 0.79, 0.8, 0.81):
                for cross in (0.80, 0.805, 0.81, 0.815):
                    with floors({"COSINE_FLOOR": same, "WORD_MATCH_FLOOR": word,
                                 "CROSS_LINGUAL_FLOOR": cross}):
                        r = report(sets)
                    answered = (r["questions"]["answered"] * r["questions"]["queries"]
                                + r["keywords"]["answered"] * r["keywords"]["queries"]) / (
                        r["questions"]["queries"] + r["keywords"]["queries"])
                    print(f"  {same} {word} {cross}: {answered:.3f} | "
                          f"{r['off-topic']['false']} | {r['cross-lingual']['answered']} | "
                          f"{r['off-topic, other language only']['false']}")
    print(json.dumps({"bench": "relevance", "floors": current, **results}))


if __name__ == "__main__":
    main()
