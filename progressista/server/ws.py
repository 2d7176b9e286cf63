"""``/ws``: live task updates for dashboards.

Origin (:func:`origin_refusal`) and auth are checked after ``accept()``: closing before it reaches the
client as an HTTP 403 (a browser sees 1006), while a 1008 close after accept
tells the dashboard plainly that it was refused. Nothing is sent before.

Dashboards send nothing the server needs, so what a client sends is read and
bounded (:class:`Inbound`): a message over ``ws_max_message_bytes`` is closed
with 1009, more than about :data:`INBOUND_RATE` messages a second with 1008.
``progressista serve`` also hands that size to uvicorn (``ws_max_size``), which
then refuses a larger message before reading it whole.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast, get_args
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket

from progressista.protocol.feed import (
    MESSAGE_TOO_BIG,
    POLICY_VIOLATION,
    REASON_BAD_TOKEN,
    REASON_ORIGIN,
    REASON_THROTTLED,
    REASON_TOO_BIG,
    REASON_TOO_MANY,
    TRY_AGAIN_LATER,
)
from progressista.protocol.roles import allows, refusal

from .auth import Refused, role_of
from .broadcast import Mode
from .deps import BroadcasterDep, SettingsDep

__all__ = [
    "INBOUND_BURST",
    "INBOUND_RATE",
    "REASON_CROSS_ORIGIN",
    "Inbound",
    "origin_refusal",
    "router",
    "same_origin",
]

router = APIRouter()

MODES = get_args(Mode)

#: Messages a second a client may send on average, and at once.
INBOUND_RATE = 5.0
INBOUND_BURST = 20.0

#: The close reason for a page on another site while no allow-list is set (at most 123 bytes).
REASON_CROSS_ORIGIN = "cross-origin page refused; list its origin in PROGRESSISTA_ALLOW_ORIGINS to allow it"

_DEFAULT_PORTS = {"http": 80, "https": 443}


def same_origin(origin: str, host: str | None) -> bool:
    """Whether a page's ``Origin`` names the ``Host`` the server was reached by (host and port; pure).

    The scheme only supplies the default port: behind a TLS proxy the server
    sees ``https://`` pages through plain HTTP.

    >>> same_origin("http://127.0.0.1:8000", "127.0.0.1:8000"), same_origin("https://Example.com", "example.com:443")
    (True, True)
    >>> same_origin("http://localhost:8000", "127.0.0.1:8000"), same_origin("null", "127.0.0.1:8000")
    (False, False)
    """
    page = urlsplit(origin)
    default = _DEFAULT_PORTS.get(page.scheme.lower())
    if default is None or not host:
        return False
    reached = urlsplit("//" + host)
    try:
        page_port, reached_port = page.port or default, reached.port or default
    except ValueError:  # a port that is no number
        return False
    return page.hostname is not None and (page.hostname, page_port) == (reached.hostname, reached_port)


def origin_refusal(origin: str | None, host: str | None, allowed: Sequence[str]) -> str | None:
    """Why a WebSocket from ``origin`` is refused, or ``None`` (pure).

    Without ``Origin`` (not a browser) it is served. With an allow-list
    (``PROGRESSISTA_ALLOW_ORIGINS``) the list alone decides; without one only the
    server's own origin is served, so another site the operator visits cannot
    read the tasks (cross-site WebSocket hijacking).

    >>> origin_refusal(None, "h:8000", []), origin_refusal("http://h:8000", "h:8000", [])
    (None, None)
    >>> origin_refusal("https://evil.example", "h:8000", []) == REASON_CROSS_ORIGIN
    True
    >>> origin_refusal("https://evil.example", "h:8000", ["https://dash.example"])
    'origin not allowed'
    """
    if not origin:
        return None
    if allowed:
        return None if "*" in allowed or origin in allowed else REASON_ORIGIN
    return None if same_origin(origin, host) else REASON_CROSS_ORIGIN


@dataclass
class Inbound:
    """What one client may send: messages of at most ``max_bytes``, ``rate`` a second, ``burst`` at once (pure).

    >>> inbound = Inbound(max_bytes=10, rate=1.0, burst=2.0)
    >>> inbound.take(11, now=0.0)
    (1009, 'message too big')
    >>> inbound.take(1, now=0.0), inbound.take(1, now=0.0), inbound.take(1, now=0.0)
    (None, None, (1008, 'too many messages'))
    >>> inbound.take(1, now=1.0)  # a second later, one more
    """

    max_bytes: int
    rate: float = INBOUND_RATE
    burst: float = INBOUND_BURST
    _allowance: float = field(init=False)
    _at: float | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self._allowance = self.burst

    def take(self, size: int, now: float) -> tuple[int, str] | None:
        """Count a message of ``size`` bytes received at ``now``; the close ``(code, reason)`` it earns, if any."""
        if size > self.max_bytes:
            return MESSAGE_TOO_BIG, REASON_TOO_BIG
        if self._at is not None:
            self._allowance = min(self.burst, self._allowance + (now - self._at) * self.rate)
        self._at = now
        if self._allowance < 1:
            return POLICY_VIOLATION, REASON_TOO_MANY
        self._allowance -= 1
        return None


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
    cross_site = origin_refusal(websocket.headers.get("origin"), websocket.headers.get("host"), settings.allow_origins)
    if cross_site is not None:
        await websocket.close(POLICY_VIOLATION, cross_site)
        return
    try:
        role = role_of(websocket)
    except Refused as refused:
        throttled = refused.retry_after > 0
        await websocket.close(
            *((TRY_AGAIN_LATER, REASON_THROTTLED) if throttled else (POLICY_VIOLATION, REASON_BAD_TOKEN))
        )
        return
    if not allows(role, "read"):
        await websocket.close(POLICY_VIOLATION, refusal(role, "read", "the live feed"))
        return
    if mode not in MODES:
        await websocket.close(POLICY_VIOLATION, f"unknown mode {mode[:40]!r}; use snapshot or delta")
        return
    inbound = Inbound(settings.ws_max_message_bytes)
    await broadcaster.serve(websocket, cast(Mode, mode), lambda: _read(websocket, inbound))


async def _read(websocket: WebSocket, inbound: Inbound) -> tuple[int, str] | None:
    """Read what the client sends until it leaves (``None``) or earns a close."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return None
        text = message.get("text")
        if text is not None:
            size = len(text) if text.isascii() else len(text.encode())
        else:
            size = len(message.get("bytes") or b"")
        close = inbound.take(size, time.monotonic())
        if close is not None:
            return close
