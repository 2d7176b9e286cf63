"""``/ws``: live task updates for dashboards.

Auth and origin are checked after ``accept()``: closing before it reaches the
client as an HTTP 403 (a browser sees 1006), while a 1008 close after accept
tells the dashboard plainly that it was refused. Nothing is sent before.
"""

from __future__ import annotations

from typing import cast, get_args

from fastapi import APIRouter, WebSocket

from progressista.protocol.feed import POLICY_VIOLATION, REASON_BAD_TOKEN, REASON_ORIGIN

from .auth import presented_token, token_ok
from .broadcast import Mode
from .deps import BroadcasterDep, SettingsDep

__all__ = ["router"]

router = APIRouter()

MODES = get_args(Mode)


@router.websocket("/ws")
async def watch(
    websocket: WebSocket,
    settings: SettingsDep,
    broadcaster: BroadcasterDep,
    mode: str = "snapshot",
) -> None:
    """Default mode: every message is the whole ``{"tasks": {...}}``.
    ``?mode=delta``: a ``snapshot`` message, then ``delta`` messages, both with group rows
    (see :mod:`progressista.protocol.feed`)."""
    await websocket.accept()
    origin = websocket.headers.get("origin")
    allowed = settings.allow_origins
    if origin and allowed and "*" not in allowed and origin not in allowed:
        await websocket.close(POLICY_VIOLATION, REASON_ORIGIN)
        return
    if not token_ok(presented_token(websocket), websocket.app.state.tokens):
        await websocket.close(POLICY_VIOLATION, REASON_BAD_TOKEN)
        return
    if mode not in MODES:
        await websocket.close(POLICY_VIOLATION, f"unknown mode {mode[:40]!r}; use snapshot or delta")
        return
    await broadcaster.serve(websocket, cast(Mode, mode))
