"""A misbehaving HTTP server on loopback: reads each request, then answers it in one bad way.

>>> with BadServer(endless_body) as bad:  # doctest: +SKIP
...     requests.post(bad.url, json=[], timeout=2)  # never returns: requests reads the whole body
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

Answer = Callable[[socket.socket], None]

OK_BODY = b'{"accepted":1,"applied":1}'


def ok(conn: socket.socket) -> None:
    """A well-behaved answer, keeping the connection open for the next request."""
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(OK_BODY)
    conn.sendall(head + OK_BODY)  # one send: a second small one would wait for a delayed ACK (Nagle)


def endless_body(conn: socket.socket) -> None:
    """200, then a body that never ends, as fast as the client reads it."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"%x\r\n%s\r\n" % (65536, b"x" * 65536)
    while True:
        conn.sendall(chunk)


def dripping(head: bytes, then: bytes, every: float = 0.05) -> Answer:
    """An answer that sends ``head`` at once, then ``then`` one byte every ``every`` seconds (each read succeeds)."""

    def answer(conn: socket.socket) -> None:
        conn.sendall(head)
        for byte in then:
            conn.sendall(bytes([byte]))
            time.sleep(every)

    return answer


#: Status and headers at once, then a 100 kB body one byte at a time.
drip_body = dripping(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n", b"x" * 100_000)
#: The status line, then one endless header one byte at a time: the answer never starts.
drip_headers = dripping(b"HTTP/1.1 200 OK\r\n", b"X-Slow: " + b"a" * 60_000)


class BadServer:
    """Answers every request on ``url`` with ``answer``; counts connections; stops on exit."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/progress"
        self.connections = 0
        self.requests = 0
        self._open: list[socket.socket] = []
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True, name="bad-server")

    def __enter__(self) -> BadServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closed.set()
        self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() in progress, which close() alone does not
        self.listener.close()
        for conn in self._open:
            conn.close()  # ends the answers in progress: their next send fails
        self._thread.join(5)

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            self._open.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            while _read_request(conn):
                self.requests += 1
                self.answer(conn)
        except OSError:  # the client went away, or the test is over
            pass
        finally:
            conn.close()


def _read_request(conn: socket.socket) -> bool:
    """Read one request (headers and a Content-Length body); False at the end of the connection."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return False
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return False
        body += chunk
    return True
