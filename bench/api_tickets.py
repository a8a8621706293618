"""Ticket API benchmark: create, read and list tickets against a real `kefu serve` on loopback.

    .venv/bin/python bench/api_tickets.py [--requests 400] [--concurrency 8]

Starts a server on a temporary SQLite data dir (or KEFU_DATABASE_URL if set), drives it with
httpx from this process, prints throughput and p50/p95/p99 latency per operation, the server's
peak RSS, and one JSON line at the end."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def drive(base: str, tokens: list[str], requests: int, concurrency: int) -> dict[str, dict]:
    results: dict[str, list[float]] = {"create": [], "get": [], "list": []}
    numbers: list[tuple[str, str]] = []
    elapsed: dict[str, float] = {}
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        semaphore = asyncio.Semaphore(concurrency)

        async def one(op: str, i: int) -> None:
            async with semaphore:
                token = tokens[i % len(tokens)]
                headers = {"Authorization": f"Bearer {token}"}
                started = time.perf_counter()
                if op == "create":
                    response = await client.post("/api/v1/tickets", headers=headers, json={
                        "subject": f"USDT deposit not credited #{i}",
                        "body": "TRC20 deposit of 500 USDT, txid 9f2c…, two hours ago."})
                    assert response.status_code == 201, response.text
                    numbers.append((token, response.json()["number"]))
                elif op == "get":
                    owner, number = numbers[i % len(numbers)]
                    response = await client.get(f"/api/v1/tickets/{number}",
                                                headers={"Authorization": f"Bearer {owner}"})
                else:
                    response = await client.get("/api/v1/tickets?limit=25", headers=headers)
                results[op].append(time.perf_counter() - started)
                assert response.status_code < 300, response.text

        for op in ("create", "get", "list"):
            started = time.perf_counter()
            await asyncio.gather(*(one(op, i) for i in range(requests)))
            elapsed[op] = time.perf_counter() - started
    return {op: {"requests": len(v), "throughput_rps": round(len(v) / elapsed[op], 1),
                 "p50_ms": round(statistics.median(v) * 1000, 2),
                 "p95_ms": round(percentile(v, 0.95) * 1000, 2),
                 "p99_ms": round(percentile(v, 0.99) * 1000, 2)} for op, v in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--customers", type=int, default=50)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="kefu-bench-"))
    port = free_port()
    env = {**os.environ, "KEFU_DATA_DIR": str(data_dir), "KEFU_PORT": str(port),
           "KEFU_LOG_LEVEL": "WARNING"}
    kefu = [sys.executable, "-m", "kefu.cli"]
    subprocess.run([*kefu, "migrate"], env=env, check=True, capture_output=True)
    tokens = [subprocess.run([*kefu, "token", "customer", f"bench-{i}", "--ttl", "3600"],
                             env=env, check=True, capture_output=True, text=True)
              .stdout.strip().splitlines()[-1] for i in range(min(args.customers, 20))]
    log = (data_dir / "server.log").open("w")
    server = subprocess.Popen([*kefu, "serve"], env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        figures = asyncio.run(drive(base, tokens, args.requests, args.concurrency))
        peak = rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
        print(f"server log: {data_dir / 'server.log'}", file=sys.stderr)
    database = "postgresql" if "postgresql" in env.get("KEFU_DATABASE_URL", "") else "sqlite"
    print(f"ticket API on {database}, {args.requests} requests per operation, "
          f"concurrency {args.concurrency}, {os.cpu_count()} cores")
    for op, f in figures.items():
        print(f"  {op:<7} {f['throughput_rps']:>8} req/s   p50 {f['p50_ms']:>7} ms   "
              f"p95 {f['p95_ms']:>7} ms   p99 {f['p99_ms']:>7} ms")
    print(f"  server peak RSS {peak:.0f} MB")
    print(json.dumps({"bench": "api_tickets", "database": database,
                      "concurrency": args.concurrency, "server_peak_rss_mb": round(peak, 1),
                      **figures}))


if __name__ == "__main__":
    main()
