"""Question-matching throughput: how many question pairs per second `QuestionMatcher` scores.

    .venv/bin/python bench/matching.py [--pairs 400] [--single 100] [--data ../shared/data]

Uses BQ dev pairs from the shared data when present (real customer-service questions), else
pairs built from a small built-in question list. Measures, after loading: batched scoring
(``score_many``, each distinct question embedded once), the same pairs with the embeddings
already computed (pair features and the model only: what a caller with cached vectors pays), and
one pair at a time (``score``); then the cross-encoder (what an adaptation that uses it adds per
pair, both orders read), batched and one pair at a time. Prints a summary and one JSON line at
the end."""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import time
from pathlib import Path

from kefu.matching.cross import default_cross
from kefu.matching.datasets import read_pairs_csv
from kefu.matching.matcher import QuestionMatcher

BUILT_IN = [
    "USDT充值没到账怎么办", "提币多久到账", "怎么修改绑定的手机号", "合约爆仓了怎么回事",
    "How do I reset my password?", "Why is my withdrawal still pending?",
    "实名认证失败怎么办", "How long does a deposit take?", "手续费是多少", "助记词丢了能找回吗",
    "Can I cancel a withdrawal?", "怎么开启谷歌验证",
]


def load_pairs(data: Path, count: int) -> tuple[str, list[tuple[str, str]]]:
    source = data / "bq" / "dev.csv"
    if source.is_file():
        pairs = read_pairs_csv(source)
        return "bq-dev", list(zip(pairs.first, pairs.second, strict=True))[:count]
    combos = itertools.cycle(itertools.combinations(BUILT_IN, 2))
    return "built-in", [next(combos) for _ in range(count)]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", type=int, default=400)
    parser.add_argument("--single", type=int, default=100)
    parser.add_argument("--data", type=Path,
                        default=Path(__file__).resolve().parents[2] / "shared" / "data")
    args = parser.parse_args()
    source, pairs = load_pairs(args.data, args.pairs)

    started = time.perf_counter()
    matcher = QuestionMatcher.load_default()
    matcher.score("预热", "warm up")  # first call builds jieba's dictionary and the model
    load_s = time.perf_counter() - started

    started = time.perf_counter()
    rows = matcher.rows([a for a, _ in pairs], [b for _, b in pairs])
    matcher.probabilities(rows)
    batched_s = time.perf_counter() - started

    cached = [matcher.featurizer.question(text) for pair in pairs for text in pair]
    started = time.perf_counter()
    for a, b in zip(cached[::2], cached[1::2], strict=True):
        matcher.featurizer.lexical(a, b)
    matcher.probabilities(rows)
    features_s = time.perf_counter() - started

    timings = []
    for a, b in pairs[: args.single]:
        started = time.perf_counter()
        matcher.score(a, b)
        timings.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    cross = default_cross()
    cross.decision(["预热"], ["warm up"])
    cross_load_s = time.perf_counter() - started
    started = time.perf_counter()
    cross.decision([a for a, _ in pairs], [b for _, b in pairs])
    cross_batched_s = time.perf_counter() - started
    cross_timings = []
    for a, b in pairs[: args.single]:
        started = time.perf_counter()
        cross.decision([a], [b])
        cross_timings.append((time.perf_counter() - started) * 1000)

    distinct = len({text for pair in pairs for text in pair})
    result = {
        "bench": "matching", "source": source, "pairs": len(pairs),
        "distinct_questions": distinct, "load_s": round(load_s, 2),
        "batched_pairs_s": round(len(pairs) / batched_s, 1),
        "features_only_pairs_s": round(len(pairs) / features_s, 1),
        "single_p50_ms": round(statistics.median(timings), 2),
        "single_p95_ms": round(percentile(timings, 0.95), 2),
        "single_pairs": len(timings),
        "cross_load_s": round(cross_load_s, 2),
        "cross_batched_pairs_s": round(len(pairs) / cross_batched_s, 1),
        "cross_single_p50_ms": round(statistics.median(cross_timings), 2),
        "cross_single_p95_ms": round(percentile(cross_timings, 0.95), 2),
    }
    print(f"question matching on {len(pairs)} {source} pairs ({distinct} distinct questions)")
    print(f"  load + first call      {result['load_s']} s")
    print(f"  batched (score_many)   {result['batched_pairs_s']} pairs/s")
    print(f"  features + model only  {result['features_only_pairs_s']} pairs/s "
          "(embeddings cached)")
    print(f"  one pair at a time     p50 {result['single_p50_ms']} ms   "
          f"p95 {result['single_p95_ms']} ms")
    print(f"  cross-encoder          load {result['cross_load_s']} s, batched "
          f"{result['cross_batched_pairs_s']} pairs/s, one pair p50 "
          f"{result['cross_single_p50_ms']} ms   p95 {result['cross_single_p95_ms']} ms")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
