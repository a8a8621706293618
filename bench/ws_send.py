"""Websocket send benchmark: what a frame costs the server's thread, one write per frame
against one write per burst (``kefu.realtime.transport``).

    .venv/bin/python bench/ws_send.py [--rounds 20000] [--bursts 1,2,8]

A uvicorn server with Kefu's websocket protocol runs in a thread of this process and sends a
chat ``message`` frame in bursts of B (a customer's ack and message are a burst of 2; a batch
commit gives an agent several), either as B ``websocket.send`` messages or as one carrying the
rest under ``kefu.websocket.send_many``; a client drains them over loopback. Reported: the
server thread's CPU per frame (encoding, ASGI, framing, the socket write), each mode measured
twice, alternating, median kept. Prints a table and one JSON line."""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import uvicorn  # noqa: E402
import websockets  # noqa: E402
from starlette.websockets import WebSocket  # noqa: E402

from kefu.realtime.hub import encode_frame  # noqa: E402
from kefu.realtime.transport import SEND_MANY, UVICORN_WEBSOCKETS  # noqa: E402
from tests.servers import free_port  # noqa: E402

FRAME = {"type": "message", "ticket": "KF-7Q2M4X", "seq": 12, "id": "9f0c3c1e6d2b4a57a1f0",
         "body": "My USDT withdrawal on TRC20 has been pending for two hours, can you check?",
         "author": {"kind": "customer", "name": "Trader 12"},
         "created_at": "2026-11-28T09:00:00+00:00"}


def _app(plan: dict[str, Any]) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        websocket = WebSocket(scope, receive, send)
        await websocket.accept()
        while (command := await websocket.receive_text()) != "quit":
            burst, rounds, many = plan["burst"], plan["rounds"], command == "many"
            started = time.thread_time()
            for n in range(rounds):
                texts = [encode_frame(FRAME) for _ in range(burst)]
                if many and burst > 1:
                    await websocket.send({"type": "websocket.send", "text": texts[0],
                                          SEND_MANY: texts[1:]})
                else:
                    for text in texts:
                        await websocket.send_text(text)
                if n % 64 == 63:
                    await asyncio.sleep(0)  # let the reader catch up, as a live server would
            plan["cpu_s"] = time.thread_time() - started
            await websocket.send_text("end")

    return app


async def _drive(url: str, plan: dict[str, Any], modes: list[str]) -> dict[str, float]:
    cost: dict[str, list[float]] = {mode: [] for mode in modes}
    async with websockets.connect(url, compression=None, max_queue=None) as client:
        for mode in modes * 2:  # alternating: one, many, one, many
            await client.send(mode)
            frames = 0
            while await client.recv() != "end":
                frames += 1
            cost[mode].append(plan["cpu_s"] / frames * 1e6)
        await client.send("quit")
    return {mode: statistics.median(values) for mode, values in cost.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20_000)
    parser.add_argument("--bursts", default="1,2,8")
    args = parser.parse_args()
    plan: dict[str, Any] = {"rounds": args.rounds}
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(_app(plan), host="127.0.0.1", port=port,
                                           log_config=None, lifespan="off",
                                           **UVICORN_WEBSOCKETS))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    results = {}
    try:
        for burst in [int(b) for b in args.bursts.split(",")]:
            plan["burst"] = burst
            results[burst] = asyncio.run(_drive(f"ws://127.0.0.1:{port}/", plan,
                                                ["one", "many"]))
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    print(f"{'burst':>6} {'one write/frame µs':>19} {'one write/burst µs':>19}")  # noqa: T201
    for burst, cost in results.items():
        print(f"{burst:>6} {cost['one']:>19.2f} {cost['many']:>19.2f}")  # noqa: T201
    print(json.dumps({"bench": "ws_send", "rounds": args.rounds,  # noqa: T201
                      "us_per_frame": {str(b): {k: round(v, 2) for k, v in c.items()}
                                       for b, c in results.items()}}))


if __name__ == "__main__":
    main()
