"""Chat writer benchmark: what one batch of plain chat sends costs the event loop.

    .venv/bin/python bench/writer.py [--tickets 1000] [--batches 300] [--sizes 1,4,12,32]

The live chat's sends are persisted by the group-commit writer (``kefu.realtime.writer``): one
SQLite transaction per batch, on a connection used on the event loop's own thread, so every
microsecond here is a microsecond the loop does not spend on websockets. At 2,000 msgs/s the
batches hold ~12 sends, so the fixed cost of a batch (transaction, the batch's tickets, commit)
matters as much as the cost of a send. This fills a temporary SQLite database with customers
and open chat tickets, then submits batches of each size through ``MessageWriter`` (analysis
precomputed, as the analysis worker hands it over; no websockets, no subscribers) and reports
the median CPU time of this process per batch and per message, with a least-squares split into
a fixed part and a part per message. Prints a table and one JSON line."""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kefu.accounts.actor import Actor  # noqa: E402
from kefu.accounts.models import Customer  # noqa: E402
from kefu.db import Database  # noqa: E402
from kefu.migrations.runner import upgrade  # noqa: E402
from kefu.realtime.analysis import Analysis  # noqa: E402
from kefu.realtime.writer import MessageWriter  # noqa: E402
from kefu.tickets.chat import ChatSend  # noqa: E402
from kefu.tickets.creation import create_ticket  # noqa: E402


async def _world(db: Database, count: int) -> list[tuple[Actor, str]]:
    senders = []
    async with db.transaction() as session:
        for i in range(count):
            customer = Customer(external_id=f"bench-{i}", display_name=f"Customer {i}")
            session.add(customer)
            await session.flush()
            actor = Actor(kind="customer", customer=customer)
            ticket = await create_ticket(session, actor, customer=customer,
                                         subject="Deposit not credited",
                                         body="My USDT deposit is missing",
                                         channel="chat")
            ticket.status = "open"
            senders.append((actor, ticket.number))
    return senders


async def _measure(url: str, count: int, batches: int, sizes: list[int]) -> dict[int, float]:
    db = Database(url)
    senders = await _world(db, count)
    writer = MessageWriter(db)
    await writer.start()
    clean = Analysis(clean=True, actionable=False, language="en")
    sent = 0

    async def one_batch(size: int) -> float:
        nonlocal sent
        sends = []
        for _ in range(size):
            actor, number = senders[sent % len(senders)]
            sent += 1
            sends.append(ChatSend(actor, number, f"still waiting for my deposit ({sent})",
                                  f"bench-{sent}", clean))
        started = time.process_time()
        await asyncio.gather(*(writer.submit(_unused, key=s.number, chat=s) for s in sends))
        return (time.process_time() - started) * 1000

    try:
        for _ in range(50):  # warm up: statement caches, the ORM's first queries
            await one_batch(8)
        return {size: statistics.median([await one_batch(size) for _ in range(batches)])
                for size in sizes}
    finally:
        await writer.stop()
        await db.dispose()


async def _unused(_session: object) -> None:
    raise AssertionError("every send of this benchmark takes the batched path")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--batches", type=int, default=300, help="batches per size")
    parser.add_argument("--sizes", default="1,4,12,32")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="kefu-bench-writer-") as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/kefu.db"
        upgrade(url)
        medians = asyncio.run(_measure(url, args.tickets, args.batches, sizes))
    print(f"{'batch':>6} {'ms/batch':>9} {'µs/msg':>7}")  # noqa: T201
    for size, ms in medians.items():
        print(f"{size:>6} {ms:>9.3f} {ms / size * 1000:>7.0f}")  # noqa: T201
    fixed = per_message = None
    if len(sizes) > 1:
        fit = statistics.linear_regression(sizes, [medians[s] for s in sizes])
        fixed, per_message = fit.intercept, fit.slope
        print(f"fit: {fixed:.3f} ms a batch + {per_message * 1000:.0f} µs a message")  # noqa: T201
    print(json.dumps({"bench": "writer", "tickets": args.tickets, "batches": args.batches,  # noqa: T201
                      "median_ms_per_batch": {str(k): round(v, 4) for k, v in medians.items()},
                      "fixed_ms": fixed and round(fixed, 4),
                      "per_message_us": per_message and round(per_message * 1000, 1)}))


if __name__ == "__main__":
    main()
