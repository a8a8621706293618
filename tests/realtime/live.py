"""A real `kefu` server on a loopback port, in a thread, for websocket tests; plus a small
client that speaks the realtime protocol."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import uvicorn
import websockets

from kefu.app import create_app
from kefu.config import Settings
from kefu.db import Database
from kefu.realtime.hub import Connection
from kefu.realtime.transport import UVICORN_WEBSOCKETS
from tests.servers import free_port


async def noop_fetch(_ticket_id: uuid.UUID, _after: int) -> list[dict[str, Any]]:
    """A Connection's catch-up reader for hub tests without a server: nothing to replay."""
    return []


def drain(connection: Connection) -> list[dict[str, Any]]:
    """The frames queued for a hub test's Connection (no socket sends them), emptying it."""
    frames, connection.outbox = connection.outbox, []
    assert all(isinstance(frame, dict) for frame in frames)
    return frames  # type: ignore[return-value]


@dataclass
class LiveServer:
    base: str
    ws_base: str
    settings: Settings
    app: Any


@contextmanager
def live_server(settings: Settings) -> Iterator[LiveServer]:
    app = create_app(settings)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None,
                            lifespan="on", **UVICORN_WEBSOCKETS)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("live server did not start")
        time.sleep(0.02)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}", settings, app)
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def local_app(settings: Settings, db: Any) -> Any:
    """What the factories need of an app (state.db, state.settings), bound to the test's loop."""
    return SimpleNamespace(state=SimpleNamespace(db=db, settings=settings))


@asynccontextmanager
async def factory_app(live: LiveServer) -> AsyncIterator[Any]:
    """``local_app`` on its own connection to the live server's database, closed afterwards:
    factories run from the test's own event loop."""
    db = Database(live.settings.resolved_database_url)
    try:
        yield local_app(live.settings, db)
    finally:
        await db.dispose()


class Client:
    """A protocol client: sends frames, collects what arrives, waits for what a test expects."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.frames: list[dict[str, Any]] = []
        self.closed: tuple[int, str] | None = None
        self._new = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, url: str, hello: dict[str, Any] | None = None,
                      **kwargs: Any) -> Client:
        ws = await websockets.connect(url, max_size=2**22, **kwargs)
        client = cls(ws)
        if hello is not None:
            await client.send({"type": "hello", "v": 1, **hello})
        return client

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                self.frames.append(json.loads(raw))
                self._new.set()
        except websockets.ConnectionClosed:
            pass
        except asyncio.CancelledError:
            # The test's loop is closing with this client still connected (the test failed
            # before its close): drop the socket now. Left open, it is only found unclosed
            # when collected, and that warning fails whichever test runs next on this worker.
            self.ws.transport.abort()
            raise
        finally:
            code = self.ws.close_code
            self.closed = (code if code is not None else 1006, self.ws.close_reason or "")
            self._new.set()

    async def send(self, frame: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(frame))

    async def wait_for(self, predicate: Any, timeout: float = 10.0) -> dict[str, Any]:
        """The first frame (old or new) matching ``predicate``."""
        deadline = asyncio.get_running_loop().time() + timeout
        seen = 0
        while True:
            for frame in self.frames[seen:]:
                if predicate(frame):
                    return frame
            seen = len(self.frames)
            if self.closed is not None:
                raise AssertionError(f"closed {self.closed} while waiting; got {self.frames}")
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"timed out; frames so far: {self.frames[-10:]}")
            self._new.clear()
            with suppress(TimeoutError):
                await asyncio.wait_for(self._new.wait(), timeout=remaining)

    async def wait_type(self, kind: str, timeout: float = 10.0, **fields: Any) -> dict[str, Any]:
        return await self.wait_for(
            lambda f: f.get("type") == kind and all(f.get(k) == v for k, v in fields.items()),
            timeout)

    async def wait_closed(self, timeout: float = 10.0) -> tuple[int, str]:
        await asyncio.wait_for(self._reader, timeout=timeout)
        assert self.closed is not None
        return self.closed

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [f for f in self.frames if f.get("type") == kind]

    async def close(self) -> None:
        await self.ws.close()
        await asyncio.wait_for(self._reader, timeout=10)
