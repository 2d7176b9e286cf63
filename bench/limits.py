"""Limits benchmark: memory the client and the server keep against misbehaving peers (issue 23).

Run: ``python bench/limits.py [--posts 20] [--clients 60]``

- Client: a fresh process opens the sender's session, warms up with one post
  to a well-behaved server, then makes ``--posts`` posts with ``post_events``
  to a server that answers 200 and an endless body; its peak RSS (``VmHWM``)
  against the same run to a well-behaved server. Target <= 1.1x. For scale,
  the same posts with requests' default read (the whole body, as before the
  cap) of a finite 256 MB body, no target.
- Server: ``--clients`` WebSocket clients connect at once and each sends one
  binary message of nearly 16 MiB of zeros, permessage-deflate compressed to
  about 16 kB on the wire. The server's RSS growth (peak ``VmHWM`` over the RSS
  before the flood) under ``progressista serve``, which hands uvicorn its
  64 KiB limit, against the same app under uvicorn's defaults (messages of up
  to 16 MiB read and inflated whole before the app can refuse them). Target
  <= 0.1x; every client must be closed with 1009 and the server answer
  ``/health`` afterwards.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, Row, options, print_table, rss_bytes, server  # noqa: E402

CLIENT_TARGET = 1.1
SERVER_TARGET = 0.1
HUGE = 256 * 1024 * 1024
FLOOD = b"0" * (16 * 1024 * 1024 - 1024)  # under uvicorn's default limit of 16 MiB

# A fresh process: warm up against a good server, then post; prints its peak RSS.
CLIENT = """
import sys
from pathlib import Path
from progressista.api import post_events
from progressista.sender.session import Session

good, url, posts, how = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
session = Session()
post_events(session, good, [{"task_id": "warm"}], {}, 5.0)
for _ in range(posts):
    if how == "capped":
        post_events(session, url, [{"task_id": "t"}], {}, 2.0)
    else:
        session.post(url, json=[{"task_id": "t"}], timeout=30)  # requests' default: the whole body
status = Path("/proc/self/status").read_text()
print(int(status.split("VmHWM:")[1].split()[0]) * 1024)
"""


class Answers(BaseHTTPRequestHandler):
    """``/ok``: a short JSON answer; ``/endless``: a body that never ends; ``/huge``: a 256 MB body."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        if self.path == "/endless":
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"%x\r\n%s\r\n" % (65536, b"x" * 65536)
            try:
                while True:
                    self.wfile.write(chunk)
            except OSError:  # the client hung up: what it should do
                return
        body = b'{"accepted":1,"applied":1}' if self.path == "/ok" else b""
        self.send_header("Content-Length", str(HUGE if self.path == "/huge" else len(body)))
        self.end_headers()
        if self.path == "/huge":
            block = b"x" * (1 << 20)
            for _ in range(HUGE >> 20):
                self.wfile.write(block)
        else:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def answering() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Answers)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def client_peak(base: str, path: str, posts: int, how: str) -> int:
    out = subprocess.run(
        [sys.executable, "-c", CLIENT, base + "/ok", base + path, str(posts), how],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    ).stdout
    return int(out.split()[-1])


def flood(ws_url: str, clients: int) -> list[int | None]:
    """Every client sends one big compressed message at once; the close codes they got."""
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    codes: list[int | None] = [None] * clients
    ready = threading.Barrier(clients)

    def one(index: int) -> None:
        with connect(ws_url, compression="deflate", max_size=None, open_timeout=60, close_timeout=5) as ws:
            ws.recv(timeout=60)  # the snapshot
            ready.wait(120)
            try:
                ws.send(FLOOD)
                while True:
                    ws.recv(timeout=120)
            except ConnectionClosed as closed:
                codes[index] = closed.rcvd.code if closed.rcvd else None

    threads = [threading.Thread(target=one, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    return codes


def server_growth(clients: int, cli: bool) -> int:
    with server(cli=cli) as live:
        flood(live.ws_url, 2)  # warm-up: the WebSocket and compression paths loaded
        before = rss_bytes(live.pid)
        codes = flood(live.ws_url, clients)
        peak = rss_bytes(live.pid, "VmHWM")
        assert codes == [1009] * clients, codes
        assert requests.get(live.url + "/health", timeout=10).ok
        return peak - before


def run(posts: int = 20, clients: int = 60) -> list[Row]:
    with answering() as base:
        good = client_peak(base, "/ok", posts, "capped")
        endless = client_peak(base, "/endless", posts, "capped")
        whole = client_peak(base, "/huge", 1, "whole")
    capped_growth, default_growth = server_growth(clients, cli=True), server_growth(clients, cli=False)
    mb = 1024 * 1024
    return [
        Row(
            f"limits: client peak RSS, {posts} posts answered with an endless body",
            f"{endless / mb:,.0f} MB",
            f"well-behaved server {good / mb:,.0f} MB",
            endless / good,
            f"<= {CLIENT_TARGET}x",
            endless / good <= CLIENT_TARGET,
        ),
        Row(
            "limits: client peak RSS, requests' default read of one 256 MB answer (no cap)",
            f"{whole / mb:,.0f} MB",
            f"well-behaved server {good / mb:,.0f} MB",
            whole / good,
        ),
        Row(
            f"limits: server RSS growth, {clients} clients each sending a 16 MiB compressed /ws message",
            f"{capped_growth / mb:,.1f} MB",
            f"uvicorn's defaults {default_growth / mb:,.0f} MB",
            capped_growth / default_growth,
            f"<= {SERVER_TARGET}x",
            capped_growth / default_growth <= SERVER_TARGET,
        ),
    ]


def main() -> None:
    args = options(__doc__, posts=20, clients=60)
    print_table(run(args.posts, args.clients))


if __name__ == "__main__":
    main()
