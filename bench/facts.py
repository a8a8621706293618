"""Throughput of the per-message text signals: fact extraction, language detection, sentiment.

    .venv/bin/python bench/facts.py [--messages 3000]

Messages are real customer texts from ../shared/data (CIC Chinese chat, BANKING77 English), half
of them with a deposit report appended (address, txid, amount, network) so that every extractor
has work. Prints messages/s per function (wall clock and per CPU second), the process RSS before
and after lingua loads its models, and one JSON line at the end."""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kefu.assistant.facts import extract_facts  # noqa: E402
from kefu.assistant.sentiment import sentiment  # noqa: E402
from kefu.core.language import detect_language  # noqa: E402

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
REPORTS = [
    " 充值100U到TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t，TRC20，txid "
    "7c1a5f3e9b2d4c6a8e0f1b3d5c7e9a1b3c5d7e9f1a3b5c7d9e1f3a5b7c9d1e3f 昨天",
    " sent 0.5 BTC to bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4 on Nov 20, order 1234567890123",
    " 1,000 USDT via BSC to 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed last Monday",
]


def rss_mb() -> float:
    for line in Path(f"/proc/{os.getpid()}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def load_messages(count: int) -> list[str]:
    with (SHARED_DATA / "cic" / "train.json").open(encoding="utf-8") as lines:
        chinese = [json.loads(line)["sentence"] for line in lines]
    with (SHARED_DATA / "banking77" / "train.csv").open(encoding="utf-8") as rows:
        english = [row["text"] for row in csv.DictReader(rows)]
    rng = random.Random(7)
    texts = rng.sample(chinese, count // 2) + rng.sample(english, count - count // 2)
    return [text + (rng.choice(REPORTS) if i % 2 else "") for i, text in enumerate(texts)]


def rate(fn: Callable[[str], object], texts: list[str]) -> dict[str, int]:
    """Messages per wall-clock second and per CPU second of this process: on a shared machine
    the second is the one that says what the code costs."""
    wall, cpu = time.perf_counter(), time.process_time()
    for text in texts:
        fn(text)
    return {"wall": round(len(texts) / (time.perf_counter() - wall)),
            "cpu": round(len(texts) / (time.process_time() - cpu))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000)
    args = parser.parse_args()
    texts = load_messages(args.messages)
    rss_start = rss_mb()
    started = time.perf_counter()
    detect_language("where is my deposit")  # loads lingua's Latin-script models
    load_s = time.perf_counter() - started
    rss_lingua = rss_mb()
    results = {
        "bench": "facts",
        "messages": len(texts),
        "extract_facts_msgs_s": rate(extract_facts, texts),
        "detect_language_msgs_s": rate(detect_language, texts),
        "sentiment_msgs_s": rate(sentiment, texts),
        "lingua_load_s": round(load_s, 2),
        "rss_before_lingua_mb": round(rss_start, 1),
        "rss_after_lingua_mb": round(rss_lingua, 1),
        "rss_end_mb": round(rss_mb(), 1),
    }
    for key, value in results.items():
        print(f"{key:>24}: {value}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
