"""Real PostgreSQL and Redis servers (and `kefu serve` processes) for the test suite, started in
a temp dir on a free loopback port. One implementation, shared with the benchmarks. Also the
way the suite's fakes of outside services (the exchange's back office, Telegram's Bot API)
serve real HTTP: :func:`serving_in_thread`."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import uvicorn

from kefu.bench.servers import (
    KefuServer,
    PostgresServer,
    RedisServer,
    find_pg_bin,
    find_redis_server,
    free_port,
)

__all__ = ["KefuServer", "PostgresServer", "RedisServer", "find_pg_bin", "find_redis_server",
           "free_port", "serving_in_thread"]

State = TypeVar("State")


@contextmanager
def serving_in_thread(build: Callable[[str], tuple[State, Any]], what: str,
                      **options: Any) -> Iterator[State]:
    """Serve an ASGI app with uvicorn on a free 127.0.0.1 port in a background thread for the
    duration of the block. ``build(base_url)`` returns (the fake's state, its app); the block
    gets the state. ``options`` override the uvicorn settings below (plain HTTP/1.1)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    state, app = build(f"http://127.0.0.1:{sock.getsockname()[1]}")
    config = uvicorn.Config(app, **{
        "log_config": None, "log_level": "warning", "access_log": False, "lifespan": "off",
        "loop": "asyncio", "http": "h11", "ws": "none", "timeout_graceful_shutdown": 2,
        **options})
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start")
            time.sleep(0.01)
        yield state
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
