"""Compressed /ws messages: a large message is compressed once for every dashboard, and still decodes.

The servers here run ``progressista.server.deflate.WebSocketProtocol``, as
``progressista serve`` does. The clients are websockets' own, which offer
permessage-deflate with context takeover as browsers do: a large message
(compressed afresh, shared) between small ones (compressed against what came
before on that connection) must leave the client's decompressor in step.
"""

import json
import time

from support import wait_until
from websockets.extensions.permessage_deflate import PerMessageDeflate
from websockets.sync.client import connect

from progressista.server import deflate

BIG = "x" * 900  # 200 such tasks make a message of about 230 kB, past deflate.SHARED_MIN


def received(ws, predicate, timeout=10.0):
    """Messages until one satisfies ``predicate``; that one."""
    deadline = time.monotonic() + timeout
    while True:
        message = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
        if predicate(message):
            return message


def compression(ws) -> PerMessageDeflate:
    [extension] = ws.protocol.extensions
    assert isinstance(extension, PerMessageDeflate)
    return extension


def test_large_and_small_messages_alternate_on_one_compressed_connection(server):
    server.post([{"task_id": f"big{i}", "desc": BIG, "n": 0} for i in range(200)])
    with connect(server.ws_url + "?mode=delta", open_timeout=5, max_size=None) as ws:
        assert not compression(ws).remote_no_context_takeover  # the server keeps its context between messages
        first = json.loads(ws.recv(timeout=5))
        assert first["type"] == "snapshot" and len(first["tasks"]) == 200
        for round_ in range(1, 4):
            # Small deltas, compressed against the connection's context ...
            for n in range(3):
                server.post({"task_id": "small", "n": round_ * 10 + n})
                received(ws, lambda m, n=round_ * 10 + n: m["tasks"].get("small", {}).get("n") == n)
            # ... then a large one, compressed afresh, then small ones again.
            server.post([{"task_id": f"big{i}", "desc": BIG, "n": round_} for i in range(200)])
            delta = received(ws, lambda m, r=round_: m["tasks"].get("big199", {}).get("n") == r)
            assert len(json.dumps(delta)) > deflate.SHARED_MIN


def test_snapshot_clients_share_one_compression_of_each_large_snapshot(server):
    server.post([{"task_id": f"big{i}", "desc": BIG, "n": 0} for i in range(200)])
    with (
        connect(server.ws_url, open_timeout=5, max_size=None) as one,
        connect(server.ws_url, open_timeout=5, max_size=None) as two,
    ):
        compression(one), compression(two)
        for ws in (one, two):
            assert len(json.loads(ws.recv(timeout=5))["tasks"]) == 200
        wait_until(lambda: len(server.app.state.broadcaster.clients) == 2, what="both clients registered")
        made, reused = deflate.SHARED.made, deflate.SHARED.reused
        server.post({"task_id": "big0", "desc": BIG, "n": 1})
        for ws in (one, two):
            assert received(ws, lambda m: m["tasks"]["big0"]["n"] == 1)["tasks"]["big199"]["desc"] == BIG
        # One snapshot to two dashboards: compressed once, the second send took the first one's bytes.
        assert (deflate.SHARED.made - made, deflate.SHARED.reused - reused) == (1, 1)


def test_small_messages_are_compressed_per_connection(server):
    """The negative control: deltas stay under SHARED_MIN and never touch the shared compression."""
    with connect(server.ws_url + "?mode=delta", open_timeout=5) as ws:
        compression(ws)
        json.loads(ws.recv(timeout=5))
        made, reused = deflate.SHARED.made, deflate.SHARED.reused
        for n in range(5):
            server.post({"task_id": "small", "n": n})
            received(ws, lambda m, n=n: m["tasks"].get("small", {}).get("n") == n)
        assert (deflate.SHARED.made, deflate.SHARED.reused) == (made, reused)
