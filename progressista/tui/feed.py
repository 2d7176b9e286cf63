"""The live feed: ``/ws?mode=delta`` through the ``websockets`` library, posted as Messages.

:meth:`Feed.run` is the app's asyncio worker. It connects with the token as an
``Authorization: Bearer`` header and posts :class:`~.messages.Snapshot` and
:class:`~.messages.Delta` as they come. When the connection ends it retries
with exponential backoff and jitter, except that:

- a 1008 close, or HTTP 401/403 at the handshake, means the token was refused:
  it posts :class:`~.messages.Unauthorized` and waits for :meth:`Feed.reconnect_now`
  instead of spinning;
- a 1013 close (the server dropped us for falling behind) reconnects at once,
  and the fresh snapshot resyncs.

Every (re)connection starts with a snapshot, so a restarted server is resynced.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
from collections.abc import Callable
from dataclasses import dataclass

from textual.message import Message
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from progressista.config import auth_headers
from progressista.protocol.feed import parse_feed_message
from progressista.protocol.urls import server_urls

from .messages import Connected, Connecting, Delta, Disconnected, Snapshot, Unauthorized

__all__ = ["Backoff", "Feed"]

log = logging.getLogger("progressista.tui")

#: Close codes the server uses: refused (token, origin) and "too slow, reconnect".
POLICY_VIOLATION = 1008
TRY_AGAIN_LATER = 1013


@dataclass(frozen=True)
class Backoff:
    """Delay before retry number ``attempt`` (1, 2, …): ``first * factor**(attempt-1)``, capped, ±jitter."""

    first: float = 0.5
    factor: float = 2.0
    limit: float = 15.0
    jitter: float = 0.1

    def delay(self, attempt: int) -> float:
        base = min(self.limit, self.first * self.factor ** max(0, attempt - 1))
        # Jitter spreads the reconnects of many dashboards after a server restart.
        return base * (1 + random.uniform(-self.jitter, self.jitter))


@dataclass(frozen=True)
class _Ending:
    """How one connection attempt ended."""

    reason: str
    received: bool = False
    unauthorized: bool = False
    at_once: bool = False


class Feed:
    """One dashboard's WebSocket connection, for as long as the app runs."""

    def __init__(
        self,
        url: str,
        token: str | None,
        post: Callable[[Message], object],
        *,
        backoff: Backoff | None = None,
        open_timeout: float = 10.0,
    ) -> None:
        urls = server_urls(url)
        self.url = urls.ws + "?mode=delta"
        self.token = token or urls.token
        self.post = post
        self.backoff = backoff or Backoff()
        self.open_timeout = open_timeout
        self.attempts = 0
        """Connection attempts so far (the header and the tests read it)."""
        self.state = "idle"
        """idle, connecting, connected, retrying or unauthorized."""
        self._wake = asyncio.Event()
        self._requested = False
        self._ws: ClientConnection | None = None
        self._closing: set[asyncio.Task[None]] = set()

    def reconnect_now(self) -> None:
        """Retry at once: skips the backoff wait or the unauthorized pause; an open connection is reopened."""
        self._requested = True
        self._wake.set()
        if self._ws is not None:
            closing = asyncio.ensure_future(self._ws.close(1000, "reconnecting"))
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)

    async def run(self) -> None:
        """Connect, relay, reconnect: forever (the app cancels the worker on exit)."""
        failures = 0
        while True:
            self._wake.clear()
            self._requested = False
            ending = await self._connect_once(failures)
            if ending.received:
                failures = 0  # it worked: the next failure starts the backoff over
            if ending.unauthorized and not self._requested:
                self.state = "unauthorized"
                self.post(Unauthorized(ending.reason))
                await self._wake.wait()
                failures = 0
                continue
            failures += 1
            delay = 0.0 if ending.at_once or self._requested else self.backoff.delay(failures)
            self.state = "retrying"
            self.post(Disconnected(ending.reason, delay, failures))
            if delay > 0:
                await self._wait_or_wake(delay)

    async def _wait_or_wake(self, delay: float) -> None:
        waiter = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({waiter}, timeout=delay)
        finally:
            waiter.cancel()

    async def _connect_once(self, failures: int) -> _Ending:
        self.attempts += 1
        self.state = "connecting"
        self.post(Connecting(failures))
        received = False
        try:
            async with connect(
                self.url,
                additional_headers=auth_headers(self.token),
                open_timeout=self.open_timeout,
                close_timeout=2,
                max_size=None,  # a snapshot of thousands of tasks is well over the 1 MiB default
            ) as ws:
                self._ws = ws
                try:
                    async for raw in ws:
                        if not received:
                            received = True
                            self.state = "connected"
                            self.post(Connected())
                        self._relay(raw)
                except ConnectionClosed:
                    pass
                except asyncio.CancelledError:
                    # The app is closing: drop the socket now rather than start a
                    # close handshake the shutting-down event loop may not finish.
                    ws.transport.abort()
                    raise
                code, why = ws.close_code, ws.close_reason or ""
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status in (401, 403):
                return _Ending(f"the server refused the token (HTTP {status})", unauthorized=True)
            return _Ending(f"HTTP {status} at the WebSocket handshake; is this a Progressista server?")
        except (OSError, asyncio.TimeoutError, WebSocketException) as exc:
            return _Ending(_describe(exc))
        finally:
            self._ws = None
        if code == POLICY_VIOLATION:
            return _Ending(f"the server refused the connection: {why or 'policy violation'}", received, True)
        if code == TRY_AGAIN_LATER:
            return _Ending("the server dropped this dashboard for falling behind; resyncing", received, at_once=True)
        if self._requested:
            return _Ending("reconnecting on request", received)
        return _Ending(f"connection closed ({code}{' ' + why if why else ''})", received)

    def _relay(self, raw: str | bytes) -> None:
        update = parse_feed_message(raw)
        if update is None:
            log.warning("ignoring a WebSocket message that is not a task update")
        elif update.removed is None:
            self.post(Snapshot(update.tasks))
        else:
            self.post(Delta(update.tasks, update.removed))


def _describe(exc: BaseException) -> str:
    """One line a person can act on."""
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the server running?)"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the host ({exc.strerror})"
    if isinstance(exc, asyncio.TimeoutError):
        return "no answer in time"
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]
