"""The live feed: ``/ws?mode=delta`` through the ``websockets`` library, posted as Messages.

:meth:`Feed.run` is the app's asyncio worker. It connects with the token as an
``Authorization: Bearer`` header and posts :class:`~.messages.Snapshot` and
:class:`~.messages.Delta` as they come. When the connection ends it retries
with exponential backoff and jitter, except that:

- a 1008 close, or HTTP 401/403 at the handshake, means the token was refused:
  it posts :class:`~.messages.Unauthorized` and waits for :meth:`Feed.reconnect_now`
  instead of spinning;
- a 1013 close (the server dropped us for falling behind) or a 1012 (it lost
  its store's change feed) reconnects at once, and the fresh snapshot resyncs.

What a message, a close code or a failure means, and the backoff, are
:mod:`progressista.protocol.feed`'s, the one reader ``progressista wait`` uses too.
Every (re)connection starts with a snapshot, so a restarted server is resynced.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from textual.message import Message
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from progressista.config import auth_headers
from progressista.protocol.feed import Backoff, closing, describe_error, parse_feed_message
from progressista.protocol.urls import server_urls

from .messages import Connected, Connecting, Delta, Disconnected, Snapshot, Unauthorized

__all__ = ["Feed"]

log = logging.getLogger("progressista.tui")


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
            return _Ending(describe_error(exc))
        finally:
            self._ws = None
        closed = closing(code, why)
        if self._requested and not closed.refused:
            return _Ending("reconnecting on request", received)
        return _Ending(closed.reason, received, closed.refused, closed.at_once)

    def _relay(self, raw: str | bytes) -> None:
        update = parse_feed_message(raw)
        if update is None:
            log.warning("ignoring a WebSocket message that is not a task update")
        elif update.removed is None:
            self.post(Snapshot(update.tasks, update.groups))
        else:
            self.post(Delta(update.tasks, update.removed, update.groups, update.groups_removed))
