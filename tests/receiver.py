"""A real HTTP receiver on loopback for webhook targets (``json://127.0.0.1:PORT/path``): what it was sent."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from support import serving


@dataclass
class Receiver:
    """The notifications received, by path; ``status[path]`` is what that path answers (200 unless set)."""

    port: int = 0
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    status: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"json://127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[dict[str, Any]]:
        """The JSON bodies posted to ``path``, in order."""
        with self.lock:
            return [body for where, body in self.received if where == path]

    def titles(self, path: str) -> list[str]:
        return [body["title"] for body in self.at(path)]


@contextmanager
def receiving() -> Iterator[Receiver]:
    receiver = Receiver()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server name
            length = int(self.headers.get("content-length", 0))
            body = json.loads(self.rfile.read(length) or b"{}")
            with receiver.lock:
                receiver.received.append((self.path, body))
            code = receiver.status.get(self.path, 200)
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    with serving(Handler) as httpd:
        receiver.port = httpd.server_address[1]
        yield receiver
