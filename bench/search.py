"""Search benchmark: a synthetic 10,000-article knowledge base, index build time, memory, and
query latency (p50/p95/p99) for bm25, vector and hybrid.

    .venv/bin/python bench/search.py [--articles 10000] [--queries 300] [--cores 2]

The corpus is generated (fixed seed) from the demo knowledge base's sentences: mixed zh-CN and
en articles of 2-6 sections, each sentence lightly reworded so no two articles are identical.
Queries are the development query set plus generated ones (titles with typos, section phrases).

Embedding 10,000 articles' sections with e5 takes long on two cores (~50k passages). So only
`--embed-sample` passages are really embedded, which gives the measured embedding throughput;
the other sections get random unit vectors, used only so the vector matrix has its full size
for the latency measurement. The output says so, and reports the build time of what was really
done (analysis + BM25 + snapshot for every article, embedding for the sample) plus an estimate
for embedding everything. Query latency is honest: every query is embedded by the real model
(the query cache is emptied before each mode).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

# One BLAS thread for the vector product, unless the caller says otherwise, set before numpy
# loads: a two-core server runs two products at once instead of splitting one. The embedder
# picks its threads per query as in the server (kefu.core.e5: both cores when nothing else
# runs, one otherwise) unless KEFU_EMBED_THREADS fixes it.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import numpy.typing as npt  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kefu.search.corpus import load_articles, plain_text  # noqa: E402
from kefu.search.embedding import E5Embedder  # noqa: E402
from kefu.search.engine import Doc, SearchEngine  # noqa: E402

DEMO_KB = ROOT / "kefu" / "demo" / "kb"
DEV_QUERIES = ROOT / "tests" / "search" / "queries_dev.csv"
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s*")


class SampledEmbedder:
    """Real e5 for queries and for the first `budget` passages; seeded random unit vectors for
    the rest (size only: they make the matrix as large as a real one, nothing more)."""

    def __init__(self, real: E5Embedder, budget: int, seed: int) -> None:
        self.real = real
        self.model_id = real.model_id
        self.dim = real.dim
        self.budget = budget
        self.embedded = 0
        self.embed_seconds = 0.0
        self.synthesized = 0
        self._rng = np.random.default_rng(seed)

    def query(self, text: str) -> npt.NDArray[np.float32]:
        return self.real.query(text)

    def passages(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        real = min(len(texts), max(0, self.budget - self.embedded))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if real:
            started = time.perf_counter()
            out[:real] = self.real.passages(list(texts[:real]))
            self.embed_seconds += time.perf_counter() - started
            self.embedded += real
        rest = len(texts) - real
        if rest:
            noise = self._rng.standard_normal((rest, self.dim)).astype(np.float32)
            out[real:] = noise / np.linalg.norm(noise, axis=1, keepdims=True)
            self.synthesized += rest
        return out

    def clear_query_cache(self) -> None:
        self.real.clear_query_cache()


def sentence_pools() -> tuple[dict[str, list[str]], dict[str, list[str]], dict[str, list[str]]]:
    """Sentences, titles and headings of the demo KB, per language (en, zh-CN)."""
    sentences: dict[str, list[str]] = {}
    titles: dict[str, list[str]] = {}
    headings: dict[str, list[str]] = {}
    for article in load_articles(DEMO_KB):
        lang = "zh-CN" if article.lang.startswith("zh") else "en"
        titles.setdefault(lang, []).append(article.title)
        for line in plain_text(article.body).splitlines():
            sentences.setdefault(lang, []).extend(
                s.strip() for s in _SENTENCE_END.split(line) if len(s.strip()) > 8)
        headings.setdefault(lang, []).extend(
            line[3:].strip() for line in article.body.splitlines() if line.startswith("## "))
    if not sentences:
        raise SystemExit(f"no demo articles under {DEMO_KB}")
    return sentences, titles, headings


def reword(text: str, lang: str, rng: random.Random, vocabulary: list[str]) -> str:
    """Swap a few words (or, in Chinese, insert a few phrases) so every article is unique."""
    if lang == "en":
        words = text.split()
        for _ in range(max(1, len(words) // 8)):
            words[rng.randrange(len(words))] = rng.choice(vocabulary)
        return " ".join(words)
    position = rng.randrange(len(text) + 1)
    return text[:position] + rng.choice(vocabulary) + text[position:]


def synthetic_corpus(n: int, seed: int) -> list[Doc]:
    sentences, titles, headings = sentence_pools()
    rng = random.Random(seed)
    vocab = {"en": sorted({w for s in sentences.get("en", []) for w in s.split() if w.isalpha()}),
             "zh-CN": sorted({s[i:i + 2] for s in sentences.get("zh-CN", [])
                              for i in range(0, len(s) - 1, 3)})}
    languages = [lang for lang in ("en", "zh-CN") if sentences.get(lang)]
    categories = ["deposits", "withdrawals", "security", "kyc", "trading", "p2p", "api",
                  "fees-vip", "earn", "support"]
    docs = []
    for i in range(n):
        lang = rng.choice(languages)
        title = reword(rng.choice(titles[lang]), lang, rng, vocab[lang])
        parts = [" ".join(reword(s, lang, rng, vocab[lang])
                          for s in rng.sample(sentences[lang], 3))]
        for _ in range(rng.randint(1, 5)):
            heading = rng.choice(headings[lang]) if headings.get(lang) else "Details"
            text = " ".join(reword(s, lang, rng, vocab[lang])
                            for s in rng.sample(sentences[lang], rng.randint(2, 5)))
            parts.append(f"## {heading}\n{text}")
        docs.append(Doc(slug=f"synthetic-{i:05d}", lang=lang, title=title,
                        body="\n\n".join(parts), category=rng.choice(categories)))
    return docs


def typo(word: str, rng: random.Random) -> str:
    if len(word) < 5 or not word.isalpha():
        return word
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + word[i + 1:]


def bench_queries(docs: list[Doc], n: int, seed: int) -> list[str]:
    rng = random.Random(seed + 1)
    with DEV_QUERIES.open(encoding="utf-8") as handle:
        queries = [row["query"] for row in csv.DictReader(handle)]
    while len(queries) < n:
        doc = rng.choice(docs)
        if doc.lang == "en":
            queries.append(" ".join(typo(w, rng) if rng.random() < 0.2 else w
                                    for w in doc.title.split()))
        else:
            queries.append(doc.title[: rng.randint(4, 12)])
    rng.shuffle(queries)
    return queries[:n]


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentiles(values: list[float], cpu: list[float]) -> dict[str, float]:
    """Wall-clock percentiles, plus the process CPU time per query: on a shared, overloaded
    machine wall time mostly measures waiting for a core; CPU time is what the query costs
    (summed over threads, so it overstates a query the embedder runs on two cores)."""
    ordered = np.array(values)
    return {"n": len(values), "p50_ms": round(float(np.percentile(ordered, 50)), 2),
            "p95_ms": round(float(np.percentile(ordered, 95)), 2),
            "p99_ms": round(float(np.percentile(ordered, 99)), 2),
            "mean_ms": round(statistics.fmean(values), 2),
            "cpu_p50_ms": round(float(np.percentile(np.array(cpu), 50)), 2),
            "cpu_p95_ms": round(float(np.percentile(np.array(cpu), 95)), 2)}


def timed_searches(engine: SearchEngine, queries: list[str], mode: str
                   ) -> dict[str, float]:
    latencies: list[float] = []
    cpu: list[float] = []
    for query in queries:
        started, cpu_started = time.perf_counter(), time.process_time()
        engine.search(query, k=10, mode=mode)  # type: ignore[arg-type]
        latencies.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - cpu_started) * 1000)
    return percentiles(latencies, cpu)


def measure_queries(engine: SearchEngine, queries: list[str], embedder: SampledEmbedder
                    ) -> dict[str, dict[str, float]]:
    engine.search("warm-up", mode="hybrid")
    results = {}
    for mode in ("bm25", "vector", "hybrid"):
        embedder.clear_query_cache()
        results[mode] = timed_searches(engine, queries, mode)
    # Instant search repeats queries; with the query vector cached, what is left is the index.
    results["hybrid_cached_query_vector"] = timed_searches(engine, queries, "hybrid")
    return results


def pin_cores(cores: int) -> list[int]:
    available = sorted(os.sched_getaffinity(0))
    chosen = available[:cores]
    os.sched_setaffinity(0, chosen)
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--embed-sample", type=int, default=256,
                        help="passages really embedded (the rest get random vectors)")
    parser.add_argument("--cores", type=int, default=2, help="CPU cores to run on")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    args = parser.parse_args()
    cpus = pin_cores(args.cores)

    started = time.perf_counter()
    docs = synthetic_corpus(args.articles, args.seed)
    generate_s = time.perf_counter() - started
    embedder = SampledEmbedder(E5Embedder(), args.embed_sample, args.seed)
    engine = SearchEngine(embedder)
    started = time.perf_counter()
    engine.upsert(docs)
    build_s = time.perf_counter() - started
    build_peak_mb = peak_rss_mb()
    sections = embedder.embedded + embedder.synthesized
    per_passage = embedder.embed_seconds / max(1, embedder.embedded)

    started = time.perf_counter()
    changed = docs[0]
    engine.upsert([Doc(changed.slug, changed.lang, changed.title + " (edited)", changed.body,
                       category=changed.category)])
    upsert_one_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        engine.save(Path(folder))
        save_s = time.perf_counter() - started
        size_mb = sum(f.stat().st_size for f in Path(folder).rglob("*") if f.is_file()) / 2**20
        started = time.perf_counter()
        SearchEngine.load(Path(folder), embedder)
        load_s = time.perf_counter() - started

    queries = bench_queries(docs, args.queries, args.seed)
    latency = measure_queries(engine, queries, embedder)
    result = {
        "bench": "search", "articles": len(docs), "sections": sections, "cores": cpus,
        "embed_threads": os.environ.get("KEFU_EMBED_THREADS", "per query"),
        "blas_threads": os.environ["OPENBLAS_NUM_THREADS"],
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "generate_s": round(generate_s, 2),
        "build_s": round(build_s, 2),
        "build_note": (f"analysis, BM25 and snapshot for all {len(docs)} articles; e5 embedding "
                       f"for {embedder.embedded} sections only, {embedder.synthesized} got "
                       "random vectors (latency needs the matrix size, not the meaning)"),
        "embedded_sections": embedder.embedded,
        "embed_s": round(embedder.embed_seconds, 2),
        "embed_passages_per_s": round(1 / per_passage, 1) if embedder.embedded else None,
        "estimated_full_embed_s": round(per_passage * sections, 1),
        "upsert_one_article_s": round(upsert_one_s, 3),
        "save_s": round(save_s, 2), "load_s": round(load_s, 2),
        "index_size_mb": round(size_mb, 1),
        "peak_rss_after_build_mb": round(build_peak_mb, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "latency": latency,
    }
    if not args.json:
        print_table(result)
    print(json.dumps(result, ensure_ascii=False))


def print_table(result: dict) -> None:
    print(f"{result['articles']} articles, {result['sections']} sections, cores {result['cores']}"
          f", load average {result['load_average']}")
    print(f"build {result['build_s']} s ({result['build_note']})")
    print(f"e5 embedding: {result['embed_passages_per_s']} passages/s measured on "
          f"{result['embedded_sections']}; all sections would take "
          f"~{result['estimated_full_embed_s']} s")
    print(f"upsert one article {result['upsert_one_article_s']} s, save {result['save_s']} s, "
          f"load {result['load_s']} s, index {result['index_size_mb']} MB, "
          f"peak RSS {result['peak_rss_after_build_mb']} MB after the build, "
          f"{result['peak_rss_mb']} MB at the end (a second copy was loaded from disk)")
    columns = ("p50_ms", "p95_ms", "p99_ms", "cpu_p50_ms", "cpu_p95_ms")
    print(f"{'mode':<28}{'n':>6}" + "".join(f"{c:>12}" for c in columns))
    for mode, figures in result["latency"].items():
        print(f"{mode:<28}{figures['n']:>6}" + "".join(f"{figures[c]:>12}" for c in columns))


if __name__ == "__main__":
    main()
