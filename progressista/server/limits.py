"""File descriptors and connections: how many the server may hold, and the guard for ``/ws``.

Every connection costs the process one file descriptor. At the soft limit
``accept()`` fails and every new client hangs, whatever it asks; a concurrency
limit a little below it answers the excess with a clear 503 instead (uvicorn's
``limit_concurrency`` for HTTP requests, :class:`WebSocketLimit` for ``/ws``
handshakes, which uvicorn upgrades without checking it).

>>> concurrency_for(1024)
922
>>> concurrency_for(256)
192
>>> concurrency_for(None) is None  # no limit known (no ``resource`` module): none set
True
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["WebSocketLimit", "concurrency_for", "connection_limit", "nofile_limit", "raise_nofile_limit"]

#: File descriptors kept for the server's own use (listening socket, logs, storage, Redis, event loop),
#: at least this many or a tenth of the limit.
RESERVED_FDS = 64


def concurrency_for(fd_limit: int | None) -> int | None:
    """The connections to serve at once under a soft file-descriptor limit, leaving a reserve for the rest."""
    if fd_limit is None:
        return None
    return max(1, fd_limit - max(RESERVED_FDS, fd_limit // 10))


def nofile_limit() -> int | None:
    """This process's soft ``RLIMIT_NOFILE``, or None where it is unknown or unlimited."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return None if soft == resource.RLIM_INFINITY else soft


def raise_nofile_limit() -> tuple[int, int] | None:
    """Raise the soft file-descriptor limit to the hard one, as many servers do; the (old, new) soft limits.

    None when there is nothing to raise (no ``resource`` module, or already at the hard limit).
    """
    try:
        import resource
    except ImportError:  # Windows
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == hard:
        return None
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError):  # macOS refuses an unlimited hard limit: keep what we have
        return None
    return soft, hard


def connection_limit(configured: int | None) -> int | None:
    """``PROGRESSISTA_MAX_CONNECTIONS`` when set, else the limit :func:`concurrency_for` gives the fd limit now."""
    return configured if configured is not None else concurrency_for(nofile_limit())


class WebSocketLimit:
    """ASGI middleware: a ``/ws`` handshake past ``limit`` open WebSockets gets a 503, not an upgrade.

    The 503 goes through the ASGI WebSocket denial-response extension (uvicorn has it); without it
    the handshake is closed, which a client sees as 403.
    """

    def __init__(self, app: ASGIApp, limit: int | None) -> None:
        self.app = app
        self.limit = limit
        self.open = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket" or self.limit is None:
            await self.app(scope, receive, send)
        elif self.open >= self.limit:
            await _refuse(scope, receive, send)
        else:
            self.open += 1
            try:
                await self.app(scope, receive, send)
            finally:
                self.open -= 1


_BUSY = b"too many connections, retry later"


async def _refuse(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()  # websocket.connect
    if "websocket.http.response" not in scope.get("extensions", {}):
        await send({"type": "websocket.close", "code": 1013})
        return
    headers: list[tuple[bytes, bytes]] = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(_BUSY)).encode()),
        (b"retry-after", b"1"),
    ]
    start: dict[str, Any] = {"type": "websocket.http.response.start", "status": 503, "headers": headers}
    await send(start)
    await send({"type": "websocket.http.response.body", "body": _BUSY})
