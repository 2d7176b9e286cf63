"""The feed's edge cases a healthy Progressista server does not produce on demand.

A small ``websockets`` server on loopback plays the part: a 1013 "too slow"
close, a proxy answering 401 at the handshake, junk messages, a dead port.
The main paths (snapshot, delta, 1008, restart) are in test_tui.py against the real server.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from support import free_port
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from progressista.protocol.feed import Backoff
from progressista.tui.feed import Feed
from progressista.tui.messages import Connected, Connecting, Delta, Disconnected, Snapshot, Unauthorized

FAST = Backoff(first=0.05, factor=2.0, limit=0.2, jitter=0.0)


async def until(predicate: Callable[[], Any], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def with_feed(
    handler: Callable[[ServerConnection], Awaitable[None]],
    check: Callable[[Feed, list[Any]], Awaitable[None]],
    process_request: Any = None,
    token: str | None = None,
) -> None:
    posted: list[Any] = []
    async with serve(handler, "127.0.0.1", 0, process_request=process_request) as server:
        port = server.sockets[0].getsockname()[1]
        feed = Feed(f"http://127.0.0.1:{port}", token, posted.append, backoff=FAST)
        task = asyncio.create_task(feed.run())
        try:
            await check(feed, posted)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


def of(kind: type, posted: list[Any]) -> list[Any]:
    return [message for message in posted if isinstance(message, kind)]


def test_a_1013_close_reconnects_at_once_for_a_fresh_snapshot():
    connections = 0
    seen_paths: list[str] = []

    async def handler(ws: ServerConnection) -> None:
        nonlocal connections
        connections += 1
        seen_paths.append(ws.request.path if ws.request else "")
        await ws.send(json.dumps({"type": "snapshot", "tasks": {"t": {"n": connections}}}))
        if connections == 1:
            await ws.close(1013, "too slow; reconnect")
        else:
            await ws.send(json.dumps({"type": "delta", "tasks": {"u": {"n": 1}}, "removed": ["t", 7]}))
            await ws.wait_closed()

    async def check(feed: Feed, posted: list[Any]) -> None:
        await until(lambda: of(Delta, posted), "the delta after the reconnect")
        retry = of(Disconnected, posted)[0]
        assert retry.retry_in == 0 and "falling behind" in retry.reason
        assert [m.tasks["t"]["n"] for m in of(Snapshot, posted)] == [1, 2]
        assert of(Delta, posted)[0].removed == ["t"]  # junk ids dropped
        assert len(of(Connected, posted)) == 2 and feed.state == "connected"

    asyncio.run(with_feed(handler, check))
    assert seen_paths == ["/ws?mode=delta", "/ws?mode=delta"]


def test_the_servers_group_rows_are_relayed_and_a_1012_resyncs_at_once():
    connections = 0

    async def handler(ws: ServerConnection) -> None:
        nonlocal connections
        connections += 1
        await ws.send(json.dumps({"type": "snapshot", "tasks": {"g:a": {}}, "groups": {"g": {"members": 1}}}))
        if connections == 1:
            await ws.close(1012, "resync; reconnect")  # the server lost its store's change feed
            return
        delta = {"type": "delta", "tasks": {}, "removed": ["g:a"], "groups": {}, "groups_removed": ["g", 3]}
        await ws.send(json.dumps(delta))
        await ws.wait_closed()

    async def check(feed: Feed, posted: list[Any]) -> None:
        await until(lambda: of(Delta, posted), "the delta")
        assert [m.groups for m in of(Snapshot, posted)] == [{"g": {"members": 1}}] * 2
        retry = of(Disconnected, posted)[0]
        assert retry.retry_in == 0 and "resync" in retry.reason
        delta = of(Delta, posted)[0]
        assert (delta.removed, delta.groups, delta.groups_removed) == (["g:a"], {}, ["g"])

    asyncio.run(with_feed(handler, check))


def test_an_older_server_sends_no_group_rows():
    async def handler(ws: ServerConnection) -> None:
        await ws.send(json.dumps({"type": "snapshot", "tasks": {"g:a": {}}}))
        await ws.send(json.dumps({"type": "delta", "tasks": {"g:b": {}}, "removed": []}))
        await ws.wait_closed()

    async def check(feed: Feed, posted: list[Any]) -> None:
        await until(lambda: of(Delta, posted), "the delta")
        assert of(Snapshot, posted)[0].groups is None
        assert (of(Delta, posted)[0].groups, of(Delta, posted)[0].groups_removed) == (None, [])

    asyncio.run(with_feed(handler, check))


def test_junk_messages_are_ignored():
    async def handler(ws: ServerConnection) -> None:
        for junk in ("not json", "[1, 2]", '{"tasks": 3}', '{"type": "delta"}'):
            await ws.send(junk)
        await ws.send(json.dumps({"tasks": {"a": {}}}))  # a default-mode message is a snapshot too
        await ws.wait_closed()

    async def check(feed: Feed, posted: list[Any]) -> None:
        await until(lambda: of(Snapshot, posted), "the snapshot")
        assert of(Snapshot, posted)[0].tasks == {"a": {}}
        assert of(Delta, posted) == [] and of(Disconnected, posted) == []

    asyncio.run(with_feed(handler, check))


def test_a_401_at_the_handshake_is_unauthorized_and_waits_for_reconnect_now():
    headers: list[str | None] = []

    def refuse(connection: ServerConnection, request: Request) -> Response:
        headers.append(request.headers.get("Authorization"))
        return Response(401, "Unauthorized", Headers([("Content-Length", "0")]), b"")

    async def handler(ws: ServerConnection) -> None:  # never reached
        await ws.close()

    async def check(feed: Feed, posted: list[Any]) -> None:
        await until(lambda: of(Unauthorized, posted), "unauthorized")
        assert "HTTP 401" in of(Unauthorized, posted)[0].reason and feed.state == "unauthorized"
        await asyncio.sleep(10 * FAST.first)  # retries would have happened by now
        assert feed.attempts == 1
        feed.reconnect_now()
        await until(lambda: len(of(Unauthorized, posted)) == 2, "a second refusal")
        assert feed.attempts == 2

    asyncio.run(with_feed(handler, check, process_request=refuse, token="s3cret"))
    assert headers == ["Bearer s3cret", "Bearer s3cret"]


def test_a_dead_port_backs_off_exponentially():
    posted: list[Any] = []

    async def main() -> None:
        feed = Feed(f"http://127.0.0.1:{free_port()}", None, posted.append, backoff=FAST)
        task = asyncio.create_task(feed.run())
        try:
            await until(lambda: len(of(Disconnected, posted)) >= 4, "four failures")
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())
    failures = of(Disconnected, posted)[:4]
    assert [m.retry_in for m in failures] == [0.05, 0.1, 0.2, 0.2]
    assert [m.attempt for m in failures] == [1, 2, 3, 4]
    assert all("connection refused" in m.reason for m in failures)
    assert isinstance(posted[0], Connecting) and posted[0].attempt == 0


def test_the_feeds_backoff_jitter_stays_within_its_band():
    """The feed's backoff is protocol.feed's, shared with ``progressista wait``."""
    backoff = Backoff(first=1, factor=2, limit=8, jitter=0.1)
    for attempt, base in [(1, 1), (2, 2), (3, 4), (4, 8), (9, 8)]:
        for _ in range(20):
            assert base * 0.9 <= backoff.delay(attempt) <= base * 1.1
