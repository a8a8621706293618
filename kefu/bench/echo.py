"""``/ws/echo``: a bare websocket echo on the same server stack (uvicorn, Starlette, our
middleware), the ceiling that ``kefu bench chat`` compares the chat protocol with. Mounted only
when the app is created with ``KEFU_BENCH_ECHO=1``."""

from __future__ import annotations

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

router = APIRouter(include_in_schema=False)


@router.websocket("/ws/echo")
async def echo_socket(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            await websocket.send_text(await websocket.receive_text())
    except (WebSocketDisconnect, RuntimeError, KeyError):
        return
