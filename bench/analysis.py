"""Chat analysis benchmark: what the analysis worker spends on one customer message, by stage.

    .venv/bin/python bench/analysis.py [--messages 20000] [--seed 7]

Every customer chat message goes through ``kefu.realtime.analysis.analyse`` (in the worker
process, or inline in the writer while the worker is down): the secret scan, the abuse screen
(harassment, spam, scam patterns) and language detection. This times each stage and the whole on
two mixes: real customer messages from ../shared/data (BANKING77, CLINC150, CIC, AFQMC…; skipped
where that folder is absent) and the chat benchmark's own bodies (``kefu bench chat``), each made
unique. Models and lexicons are loaded before timing. Figures are CPU time of this thread per
message (a busy neighbour does not stretch them): mean, p50/p95/p99 in microseconds, and
messages per second of one core. Prints a table and one JSON line at the end."""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the real-message reader lives with the tests

from kefu.bench.clients import body_for  # noqa: E402
from kefu.core.language import detect_language  # noqa: E402
from kefu.guard.abuse import screen  # noqa: E402
from kefu.guard.secrets import scan  # noqa: E402
from kefu.realtime.analysis import WARM_UP, analyse  # noqa: E402
from tests.guard.corpus_real import real_messages  # noqa: E402

SHARED_DATA = ROOT.parent / "shared" / "data"
STAGES: dict[str, Callable[[str], Any]] = {
    "secret_scan": scan, "abuse_screen": screen, "language": detect_language, "all": analyse,
}


def mixes(count: int, seed: int) -> dict[str, list[str]]:
    rng = random.Random(seed)
    found = {"chat_bench": [body_for(i, 100_000 + i) for i in range(count)]}
    if SHARED_DATA.is_dir():
        real = [text for _source, text in real_messages(SHARED_DATA)]
        found["real"] = [rng.choice(real) for _ in range(count)]
    return found


def cpu_us(stage: Callable[[str], Any], texts: list[str]) -> list[float]:
    clock = time.thread_time_ns
    figures = []
    for text in texts:
        started = clock()
        stage(text)
        figures.append((clock() - started) / 1000)
    return figures


def summary(figures: list[float]) -> dict[str, float]:
    ordered = sorted(figures)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

    mean = statistics.fmean(ordered)
    return {"mean_us": round(mean, 1), "p50_us": at(0.5), "p95_us": at(0.95),
            "p99_us": at(0.99), "msgs_per_s_one_core": round(1e6 / mean) if mean else 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.messages < 1:
        parser.error("--messages must be at least 1")
    for text in WARM_UP:  # loaded before timing, as the worker does
        analyse(text)
    results: dict[str, dict[str, dict[str, float]]] = {}
    print(f"{'mix':<12}{'stage':<14}{'mean µs':>9}{'p50':>8}{'p95':>8}{'p99':>8}"  # noqa: T201
          f"{'msgs/s/core':>13}")
    for mix, texts in mixes(args.messages, args.seed).items():
        results[mix] = {}
        for name, stage in STAGES.items():
            figures = summary(cpu_us(stage, texts))
            results[mix][name] = figures
            print(f"{mix:<12}{name:<14}{figures['mean_us']:>9}{figures['p50_us']:>8}"  # noqa: T201
                  f"{figures['p95_us']:>8}{figures['p99_us']:>8}"
                  f"{figures['msgs_per_s_one_core']:>13}")
    print(json.dumps({"bench": "analysis", "messages": args.messages, "results": results},  # noqa: T201
                     separators=(",", ":")))


if __name__ == "__main__":
    main()
