"""Chat writer benchmark: what one batch of chat sends costs the event loop.

    .venv/bin/python bench/writer.py [--tickets 1000] [--batches 300] [--sizes 1,4,12,32]
                                     [--odd none,closed,foreign,flagged] [--history 0]

The live chat's sends are persisted by the group-commit writer (``kefu.realtime.writer``): one
SQLite transaction per batch, on a connection used on the event loop's own thread, so every
microsecond here is a microsecond the loop does not spend on websockets. At 2,000 msgs/s the
batches hold ~12 sends, so the fixed cost of a batch (transaction, the batch's tickets, commit)
matters as much as the cost of a send. This fills a temporary SQLite database with customers
and open chat tickets, then submits batches of each size through ``MessageWriter`` (analysis
precomputed, as the analysis worker hands it over; no websockets, no subscribers) and reports
the median CPU time of this process per batch and per message, with a least-squares split into
a fixed part and a part per message.

``--odd`` measures the same batches with one send in each that the batched path cannot simply
append, against the plain batches (``none``) in the same run: ``closed``, a customer writing
into their closed ticket (refused); ``foreign``, a customer naming another customer's ticket
(refused); ``flagged``, a message the abuse screen flags for review (stored, flagged). Each send
carries the work the websocket handler gives the writer (``get_readable`` and ``reply``), which
runs for whatever the batched path declines.

``--history N`` first stores N older messages, 20 to a closed ticket, with ids made as the app
makes them: a deployment's database holds its past, and the indexes a send writes into
(the messages' ids, and their tickets' ids with a sequence number or a client's id) grow with
it, past the page cache. Prints a table and one JSON line."""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession  # noqa: E402

from kefu.accounts.actor import Actor  # noqa: E402
from kefu.accounts.models import Customer  # noqa: E402
from kefu.config import Settings  # noqa: E402
from kefu.core.errors import KefuError  # noqa: E402
from kefu.core.ids import TICKET_ALPHABET, new_id  # noqa: E402
from kefu.db import Database  # noqa: E402
from kefu.migrations.runner import upgrade  # noqa: E402
from kefu.realtime.analysis import Analysis  # noqa: E402
from kefu.realtime.writer import MessageWriter  # noqa: E402
from kefu.tickets import replies, schemas  # noqa: E402
from kefu.tickets.chat import _MESSAGES_INSERT_SQL, ChatSend  # noqa: E402
from kefu.tickets.creation import create_ticket  # noqa: E402
from kefu.tickets.service import get_readable  # noqa: E402

REFUSED: dict[str, int] = {}  # error code: sends refused
STORED: dict[str, int] = {}  # messages in the database before the measured batches
ODD_KINDS = ("none", "closed", "foreign", "flagged")
CLEAN = Analysis(clean=True, actionable=False, language="en")
FLAGGED = Analysis(clean=True, actionable=True, language="en")
SPAM = "Join my VIP signal group on telegram @pumpking for 10x gains"  # medium: flagged


async def _world(db: Database, count: int, prefix: str = "bench"
                 ) -> list[tuple[Actor, str, str]]:
    """Customers, each with an open chat ticket and a closed one."""
    senders = []
    async with db.transaction() as session:
        for i in range(count):
            customer = Customer(external_id=f"{prefix}-{i}", display_name=f"Customer {i}")
            session.add(customer)
            await session.flush()
            actor = Actor(kind="customer", customer=customer)
            numbers = []
            for status in ("open", "closed"):
                opened = await create_ticket(session, actor, customer=customer,
                                             subject="Deposit not credited",
                                             body="My USDT deposit is missing", channel="chat")
                ticket = opened.ticket
                ticket.status = status
                numbers.append(ticket.number)
            senders.append((actor, numbers[0], numbers[1]))
    return senders


def _history(path: str, messages: int, per_ticket: int = 20) -> None:
    """``messages`` older customer messages, ``per_ticket`` to a closed ticket, each ticket a
    copy of the one ticket already there but for its id, number and counters."""
    db = sqlite3.connect(path)
    columns = [row[1] for row in db.execute("PRAGMA table_info(tickets)")]
    template = db.execute(f"SELECT {', '.join(columns)} FROM tickets").fetchone()
    row = dict(zip(columns, template, strict=True))
    customer, at = row["customer_id"], row["created_at"]
    for start in range(0, messages, 50_000):  # in chunks: a bounded transaction, bounded lists
        count = min(50_000, messages - start)
        tickets, rows = [], []
        for i in range(start // per_ticket, (start + count - 1) // per_ticket + 1):
            ticket_id = new_id().hex
            number = "KF-" + "".join(TICKET_ALPHABET[i // 30 ** k % 30] for k in range(6))
            seqs = range(1, min(per_ticket, start + count - i * per_ticket) + 1)
            tickets.append({**row, "id": ticket_id, "number": number, "status": "closed",
                            "last_seq": seqs[-1], "last_public_seq": seqs[-1]})
            rows += [(new_id().hex, ticket_id, seq, seq, "customer", None, customer,
                      f"older question {i}-{seq}", 0, f"h-{i}-{seq}", at, "en") for seq in seqs]
        db.executemany(f"INSERT INTO tickets ({', '.join(columns)}) VALUES"
                       f" ({', '.join(':' + c for c in columns)})", tickets)
        db.executemany(_MESSAGES_INSERT_SQL, rows)  # the chat writer's own insert
        db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


async def _send(session: AsyncSession, *, actor: Actor, settings: Settings, number: str,
                body: str, client_msg_id: str) -> object:
    """What the websocket handler's work does with a customer's send (``_customer_send``)."""
    ticket = await get_readable(session, actor, number)
    return await replies.reply(session, actor, settings, ticket, schemas.ReplyCreate(
        body=body, client_msg_id=client_msg_id))


async def _measure(url: str, count: int, batches: int, sizes: list[int], odd_kinds: list[str],
                   history: int = 0) -> dict[tuple[str, int], float]:
    db = Database(url)
    settings = Settings()
    if history:
        await _world(db, 1, "history")  # the ticket the older ones copy
        await db.dispose()
        await asyncio.to_thread(_history, url.removeprefix("sqlite+aiosqlite:///"), history)
    senders = await _world(db, count)
    # Each flagged send from a customer of its own: a customer repeating the spam within minutes
    # would be cooled down, and their later sends refused (cheaply).
    spammers = await _world(db, batches * len(sizes) if "flagged" in odd_kinds else 0, "spam")
    async with db.transaction() as session:
        STORED["before"] = (
            await session.execute(text("SELECT count(*) FROM messages"))).scalar_one()
    writer = MessageWriter(db)
    await writer.start()
    sent = 0

    def send(odd: str) -> tuple[ChatSend, partial[object]]:
        nonlocal sent
        actor, number, closed = senders[sent % len(senders)]
        sent += 1
        body, analysis = f"still waiting for my deposit ({sent})", CLEAN
        if odd == "closed":
            number = closed
        elif odd == "foreign":
            number = senders[(sent + 1) % len(senders)][1]
        elif odd == "flagged":
            actor, number, _ = spammers.pop()
            body, analysis = SPAM, FLAGGED
        chat = ChatSend(actor, number, body, f"bench-{sent}", analysis)
        return chat, partial(_send, actor=actor, settings=settings, number=number, body=body,
                             client_msg_id=f"bench-{sent}")

    async def submit(chat: ChatSend, work: partial[object]) -> None:
        try:
            await writer.submit(work, key=chat.number, chat=chat)
        except KefuError as exc:  # the odd send refused: closed, or not theirs
            REFUSED[exc.code] = REFUSED.get(exc.code, 0) + 1

    async def one_batch(size: int, odd: str) -> float:
        sends = [send(odd if i == size // 2 else "none") for i in range(size)]
        started = time.process_time()
        await asyncio.gather(*(submit(chat, work) for chat, work in sends))
        return (time.process_time() - started) * 1000

    try:
        for _ in range(50):  # warm up: statement caches, the ORM's first queries
            await one_batch(8, "none")
        return {(odd, size): statistics.median([await one_batch(size, odd)
                                                for _ in range(batches)])
                for odd in odd_kinds for size in sizes}
    finally:
        await writer.stop()
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--batches", type=int, default=300, help="batches per size")
    parser.add_argument("--sizes", default="1,4,12,32")
    parser.add_argument("--history", type=int, default=0,
                        help="older messages stored first, 20 to a ticket")
    parser.add_argument("--odd", default="none",
                        help=f"comma-separated, of {', '.join(ODD_KINDS)}: one such send a batch")
    args = parser.parse_args()
    try:
        sizes = [int(s) for s in args.sizes.split(",")]
    except ValueError:
        parser.error("--sizes: comma-separated batch sizes")
    if args.history < 0:
        parser.error("--history: a number of messages, 0 or more")
    odd_kinds = args.odd.split(",")
    if unknown := [k for k in odd_kinds if k not in ODD_KINDS]:
        parser.error(f"--odd: unknown {', '.join(unknown)}; expected {', '.join(ODD_KINDS)}")
    with tempfile.TemporaryDirectory(prefix="kefu-bench-writer-") as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/kefu.db"
        upgrade(url)
        medians = asyncio.run(_measure(url, args.tickets, args.batches, sizes, odd_kinds,
                                       args.history))
    print(f"{'odd':>8} {'batch':>6} {'ms/batch':>9} {'µs/msg':>7}")  # noqa: T201
    fits = {}
    for odd in odd_kinds:
        for size in sizes:
            ms = medians[odd, size]
            print(f"{odd:>8} {size:>6} {ms:>9.3f} {ms / size * 1000:>7.0f}")  # noqa: T201
        if len(sizes) > 1:
            fit = statistics.linear_regression(sizes, [medians[odd, s] for s in sizes])
            fits[odd] = {"fixed_ms": round(fit.intercept, 4),
                         "per_message_us": round(fit.slope * 1000, 1)}
            print(f"{odd:>8} fit: {fit.intercept:.3f} ms a batch + "  # noqa: T201
                  f"{fit.slope * 1000:.0f} µs a message")
    if REFUSED:
        print("refused:", ", ".join(f"{n} {code}" for code, n in REFUSED.items()))  # noqa: T201
    print(json.dumps({"bench": "writer", "tickets": args.tickets, "batches": args.batches,  # noqa: T201
                      "history": args.history, "messages_before": STORED["before"],
                      "median_ms_per_batch": {f"{odd}/{size}": round(ms, 4)
                                              for (odd, size), ms in medians.items()},
                      "fit": fits, "refused": REFUSED}))


if __name__ == "__main__":
    main()
