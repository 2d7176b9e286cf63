"""A TCP proxy on loopback that adds latency: each chunk waits ``rtt / 2`` in each direction.

Put between the server and a real ``redis-server``, it makes every Redis round
trip cost ``rtt`` without slowing the bytes in between: a chunk read at ``t`` is
written at ``t + rtt / 2``, whatever is still queued ahead of it (so pipelined
commands stay pipelined). ``answer=False`` makes a Redis that accepts connections
and reads everything but never answers. Shared by the tests and ``bench/redis_latency.py``.

Threads that sleep, not an event loop: ``time.sleep`` overshoots by tens of
microseconds where asyncio's timers added 2 ms to each direction of a 25 ms RTT.

    with LatencyProxy(redis.port, rtt=0.025) as proxy:
        settings = Settings(redis_url=proxy.url)
        ...
        proxy.round_trips  # requests the server sent Redis and waited on, over every connection
"""

from __future__ import annotations

import queue
import socket
import threading
import time
from types import TracebackType
from typing import Any

__all__ = ["LatencyProxy"]

_CHUNK = 65536


class LatencyProxy:
    """``127.0.0.1:<port>`` forwarding to ``127.0.0.1:<upstream>``, with threads of its own."""

    def __init__(self, upstream: int, rtt: float, *, answer: bool = True) -> None:
        self.upstream = upstream
        self.rtt = rtt
        self.answer = answer
        #: Connections accepted so far.
        self.connections = 0
        #: Chunks forwarded to the upstream so far.
        self.upstream_writes = 0
        #: Round trips so far: chunks sent upstream that follow an answer on their connection
        #: (or open it), so a pipeline sent in several chunks counts once.
        self.round_trips = 0
        #: Round trips per connection, in the order they were accepted: connections run side by
        #: side, so the largest is the length of a start-up's critical path.
        self.round_trips_by_connection: list[int] = []
        self._lock = threading.Lock()
        self._stopping = False
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self.port: int = self._listener.getsockname()[1]
        self._sockets: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> LatencyProxy:
        self._spawn(self._accept_loop)
        return self

    def stop(self) -> None:
        self._stopping = True
        for sock in [self._listener, *self._sockets]:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in accept() or recv()
            except OSError:
                pass
        for thread in list(self._threads):
            thread.join(5)
        for sock in [self._listener, *self._sockets]:
            sock.close()

    def __enter__(self) -> LatencyProxy:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True, name=f"latency-proxy-{self.port}")  # type: ignore[arg-type]
        self._threads.append(thread)
        thread.start()

    def _keep(self, sock: socket.socket) -> socket.socket:
        with self._lock:
            self._sockets.add(sock)
        if self._stopping:  # stop() may have shut the others down already
            sock.shutdown(socket.SHUT_RDWR)
        return sock

    def _accept_loop(self) -> None:
        while not self._stopping:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
            self._keep(client)
            if not self.answer:
                self._spawn(self._swallow, client)
                continue
            try:
                upstream = self._keep(socket.create_connection(("127.0.0.1", self.upstream)))
            except OSError:
                client.close()
                continue
            with self._lock:
                index = len(self.round_trips_by_connection)
                self.round_trips_by_connection.append(0)
            turn = [True, index]  # the client's turn to speak (its next chunk starts a round trip); which
            self._spawn(self._pump, client, upstream, turn, True)
            self._spawn(self._pump, upstream, client, turn, False)

    def _swallow(self, client: socket.socket) -> None:
        try:
            while client.recv(_CHUNK):
                pass
        except OSError:
            pass

    def _pump(self, source: socket.socket, target: socket.socket, turn: list[Any], upstream: bool) -> None:
        """Copy ``source`` to ``target``, each chunk ``rtt / 2`` after it was read."""
        chunks: queue.Queue[tuple[float, bytes]] = queue.Queue()
        self._spawn(self._deliver, chunks, target, turn, upstream)
        while True:
            try:
                data = source.recv(_CHUNK)
            except OSError:
                data = b""
            chunks.put((time.monotonic() + self.rtt / 2, data))
            if not data:
                return

    def _deliver(
        self, chunks: queue.Queue[tuple[float, bytes]], target: socket.socket, turn: list[Any], upstream: bool
    ) -> None:
        while True:
            due, data = chunks.get()
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            try:
                if not data:
                    target.shutdown(socket.SHUT_WR)
                    return
                with self._lock:
                    if upstream:
                        self.upstream_writes += 1
                        if turn[0]:
                            self.round_trips += 1
                            self.round_trips_by_connection[turn[1]] += 1
                            turn[0] = False
                    else:
                        turn[0] = True
                target.sendall(data)
            except OSError:
                return
