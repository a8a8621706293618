"""uvicorn's websocket protocol with one addition: several text frames in one ASGI message.

ASGI sends one frame per ``websocket.send`` message, and uvicorn writes each to the socket at
once: a syscall per frame, which on loopback also runs the receiver's TCP stack on the sending
thread. A chat server sends in bursts (a customer's ack and its message go out together; a
batch commit moves many of an agent's tickets at once), so the hub's sender takes what queued up
for a connection and hands it over in one message; this protocol encodes every frame and writes
them with one call. The server says it can with the ASGI extension :data:`SEND_MANY` in the
connection's scope; anywhere else (another server, the test client) frames go one by one.

Under the extension :data:`WRITE_NOW` the protocol also offers ``write_now``: the same frames
written at once, without an ASGI message and a task to await it, when the socket can take them
(see ``KefuWebSocketProtocol.write_now``). The hub writes most frames that way; a task per
connection waiting on an ``asyncio.Queue`` and the ASGI layers around each send were a tenth of
the chat server's loop at 2,000 messages a second."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState

SEND_MANY = "kefu.websocket.send_many"  # scope["extensions"] key, and the message's list key
WRITE_NOW = "kefu.websocket.write_now"  # scope["extensions"] key: {"write": write_now}


def writer_of(scope: Any) -> Callable[[Sequence[str]], bool] | None:
    """The connection's ``write_now`` where its server offers it (:data:`WRITE_NOW`)."""
    if not isinstance(scope, dict):
        return None
    offered = (scope.get("extensions") or {}).get(WRITE_NOW)
    return offered.get("write") if isinstance(offered, dict) else None


def can_send_many(scope: Any) -> bool:
    """Whether the server of the connection whose ASGI scope this is takes several frames in
    one message."""
    return isinstance(scope, dict) and SEND_MANY in (scope.get("extensions") or {})


class KefuWebSocketProtocol(WebSocketsSansIOProtocol):
    """``websocket.send`` may carry more text frames under :data:`SEND_MANY`: the message's
    ``text`` first, then those, written with one ``transport.write``."""

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)  # none when the handshake was refused
        if scope is not None:
            scope["extensions"][SEND_MANY] = {}
            scope["extensions"][WRITE_NOW] = {"write": self.write_now}

    def write_now(self, texts: Sequence[str]) -> bool:
        """Frame ``texts`` and write them with one ``transport.write``, now, if the connection
        takes them without waiting: open, and its transport not paused by flow control (a peer
        that reads slowly). True when written; False when nothing was, and the caller sends
        them with ``websocket.send``, which waits for the transport, or raises where the
        connection has ended."""
        if (not self.writable.is_set() or self.disconnected or not self.handshake_complete
                or self.close_sent or self.initial_response is not None):
            return False
        try:
            for text in texts:  # the state is checked for each and cannot change between
                self.conn.send_text(text.encode())
        except InvalidState:  # the peer's close arrived: nothing was framed
            return False
        self.transport.write(b"".join(self.conn.data_to_send()))
        return True

    async def send(self, message: Any) -> None:
        more = message.get(SEND_MANY) if message["type"] == "websocket.send" else None
        if not more or not self.handshake_complete or self.close_sent \
                or self.initial_response is not None:
            await super().send(message)  # what uvicorn does with it, errors included
            return
        await self.writable.wait()
        if self.disconnected:
            raise ClientDisconnected()
        try:
            for text in (message["text"], *more):
                self.conn.send_text(text.encode())
        except InvalidState:
            raise ClientDisconnected() from None
        self.transport.write(b"".join(self.conn.data_to_send()))


# What ``kefu serve`` and the tests' live servers give uvicorn for websockets. Frames over 1 MiB
# close the connection (1009) in the protocol itself; the chat's own limit (64 KiB, an error
# frame) is in kefu.realtime.protocol.
UVICORN_WEBSOCKETS: dict[str, Any] = {"ws": KefuWebSocketProtocol, "ws_max_size": 1_048_576}
