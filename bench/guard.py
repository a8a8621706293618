"""Secret guard benchmark: messages per second and per-message latency of ``kefu.guard.scan``.

    .venv/bin/python bench/guard.py [--messages 50000] [--secret-share 0.05]
        [--lookalike-share 0.15] [--processes 2] [--seed 7]

The guard runs on every inbound message, so the mix is mostly clean: real customer messages from
../shared/data (generated clean messages where that folder is absent), crypto support messages
full of txids, addresses, order ids and phone numbers, and a share of messages holding secrets
(tests/guard/corpus.py). Single-threaded figures come from one process; ``--processes N`` also
runs N processes on the same mix to show what N cores sustain. Both wall-clock and CPU time are
reported: on a shared machine CPU time is the figure that does not depend on the neighbours.
Prints a table and one JSON line at the end."""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the corpus generator lives with the tests

from kefu.guard.secrets import scan  # noqa: E402
from tests.guard.corpus import lookalike_cases, secret_cases  # noqa: E402
from tests.guard.corpus_real import real_messages  # noqa: E402

SHARED_DATA = ROOT.parent / "shared" / "data"


def build_mix(count: int, secret_share: float, lookalike_share: float,
              seed: int) -> list[tuple[str, str]]:
    """``count`` (category, text) pairs, shuffled: clean real text, look-alikes, secrets."""
    rng = random.Random(seed)
    secrets_n = round(count * secret_share)
    lookalikes_n = round(count * lookalike_share)
    clean_n = count - secrets_n - lookalikes_n
    if SHARED_DATA.is_dir():
        real = [text for _source, text in real_messages(SHARED_DATA)]
        clean = [("clean", rng.choice(real)) for _ in range(clean_n)]
    else:
        clean = [("clean", c.text) for c in lookalike_cases(clean_n, seed + 2)]
    mix = clean + [("lookalike", c.text) for c in lookalike_cases(lookalikes_n, seed)]
    mix += [("secret", c.text) for c in secret_cases(secrets_n, seed)]
    rng.shuffle(mix)
    return mix


def time_each(texts: list[str]) -> tuple[list[float], list[float]]:
    """Per-message latency in microseconds: wall clock, and this thread's CPU time (which a
    busy neighbour does not stretch), less the cost of reading the clocks."""
    wall_clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns
    overhead = _clock_overhead_ns()
    wall, cpu = [], []
    for text in texts:
        wall_started, cpu_started = wall_clock(), cpu_clock()
        scan(text)
        cpu_ns, wall_ns = cpu_clock() - cpu_started, wall_clock() - wall_started
        wall.append(max(0.0, wall_ns - overhead) / 1000)
        cpu.append(max(0.0, cpu_ns - overhead) / 1000)
    return wall, cpu


def _clock_overhead_ns() -> float:
    wall_clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns
    samples = []
    for _ in range(2000):
        wall_started, cpu_started = wall_clock(), cpu_clock()
        samples.append(min(cpu_clock() - cpu_started, wall_clock() - wall_started))
    return statistics.median(samples)


def throughput(texts: list[str]) -> tuple[float, float]:
    """(wall, cpu) messages per second over one tight loop."""
    wall, cpu = time.perf_counter(), time.process_time()
    for text in texts:
        scan(text)
    return len(texts) / (time.perf_counter() - wall), len(texts) / (time.process_time() - cpu)


def _worker(texts: list[str]) -> float:
    started = time.perf_counter()
    for text in texts:
        scan(text)
    return time.perf_counter() - started


def parallel_throughput(texts: list[str], processes: int) -> float:
    """Messages per second of ``processes`` processes, each scanning the whole mix."""
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        pool.map(_worker, [texts[:200]] * processes)  # warm up each process
        started = time.perf_counter()
        pool.map(_worker, [texts] * processes)
        return processes * len(texts) / (time.perf_counter() - started)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50000)
    parser.add_argument("--secret-share", type=float, default=0.05)
    parser.add_argument("--lookalike-share", type=float, default=0.15)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if not 0 <= args.secret_share + args.lookalike_share <= 1:
        parser.error("--secret-share plus --lookalike-share must be between 0 and 1")

    mix = build_mix(args.messages, args.secret_share, args.lookalike_share, args.seed)
    texts = [text for _category, text in mix]
    throughput(texts[:2000])  # warm up
    wall_rate, cpu_rate = throughput(texts)
    latencies, cpu_latencies = time_each(texts)
    by_category: dict[str, list[tuple[float, float]]] = {}
    for (category, _text), wall, cpu in zip(mix, latencies, cpu_latencies, strict=True):
        by_category.setdefault(category, []).append((wall, cpu))
    parallel = parallel_throughput(texts, args.processes) if args.processes > 1 else None

    print(f"secret guard: {len(texts)} messages, mean {statistics.fmean(map(len, texts)):.0f} "
          f"characters ({', '.join(f'{k} {len(v)}' for k, v in sorted(by_category.items()))})")
    print(f"{'set':<10} {'n':>7} {'cpu msgs/s':>11} {'cpu p50 µs':>11} {'cpu p99 µs':>11} "
          f"{'wall p50 µs':>12} {'wall p99 µs':>12}")
    rows = [("all", list(zip(latencies, cpu_latencies, strict=True))),
            *sorted(by_category.items())]
    for category, pairs in rows:
        wall = [w for w, _c in pairs]
        cpu = [c for _w, c in pairs]
        print(f"{category:<10} {len(pairs):>7} {1e6 / statistics.fmean(cpu):>11.0f} "
              f"{percentile(cpu, 0.5):>11.1f} {percentile(cpu, 0.99):>11.1f} "
              f"{percentile(wall, 0.5):>12.1f} {percentile(wall, 0.99):>12.1f}")
    print(f"single process: {wall_rate:,.0f} msgs/s wall clock, {cpu_rate:,.0f} msgs/s of CPU")
    if parallel is not None:
        print(f"{args.processes} processes: {parallel:,.0f} msgs/s wall clock")
    print(json.dumps({
        "bench": "guard", "messages": len(texts),
        "msgs_per_s": round(wall_rate), "msgs_per_cpu_s": round(cpu_rate),
        "p50_us": round(percentile(latencies, 0.5), 1),
        "p99_us": round(percentile(latencies, 0.99), 1),
        "cpu_p50_us": round(percentile(cpu_latencies, 0.5), 1),
        "cpu_p99_us": round(percentile(cpu_latencies, 0.99), 1),
        "by_category": {
            k: {"n": len(v), "cpu_p50_us": round(percentile([c for _w, c in v], 0.5), 1),
                "cpu_p99_us": round(percentile([c for _w, c in v], 0.99), 1)}
            for k, v in sorted(by_category.items())},
        "processes": args.processes,
        "parallel_msgs_per_s": None if parallel is None else round(parallel),
    }))


if __name__ == "__main__":
    main()
