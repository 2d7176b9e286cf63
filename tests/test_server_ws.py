"""/ws against real uvicorn: both modes, coalescing, slow clients."""

import base64
import contextlib
import json
import os
import socket
import time

import pytest
import requests
from serverproc import ServerProcess
from support import JSON, wait_until
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect


class Listener:
    """Collects a WebSocket's messages until the wanted state is seen."""

    def __init__(self, ws):
        self.ws = ws
        self.messages = []

    def next(self, timeout=5.0):
        message = json.loads(self.ws.recv(timeout=timeout))
        self.messages.append(message)
        return message

    def until(self, predicate, timeout=10.0):
        deadline = time.monotonic() + timeout
        while True:
            message = self.next(timeout=max(0.01, deadline - time.monotonic()))
            if predicate(message):
                return message


def test_snapshot_mode_sends_whole_state_on_connect_and_on_change(server):
    server.post({"task_id": "a", "n": 1})
    with connect(server.ws_url, open_timeout=5) as ws:
        listener = Listener(ws)
        first = listener.next()
        assert set(first) == {"tasks"} and first["tasks"]["a"]["n"] == 1
        server.post({"task_id": "b", "status": "start"})
        latest = listener.until(lambda m: "b" in m["tasks"])
        assert set(latest["tasks"]) == {"a", "b"}
        server.http.delete(server.url + "/tasks/a", headers=JSON, timeout=5)
        assert set(listener.until(lambda m: "a" not in m["tasks"])["tasks"]) == {"b"}


def test_delta_mode_sends_a_snapshot_then_changes_and_removals(server):
    server.post([{"task_id": "a", "n": 1}, {"task_id": "b", "n": 1}])
    with connect(server.ws_url + "?mode=delta", open_timeout=5) as ws:
        listener = Listener(ws)
        first = listener.next()
        assert first["type"] == "snapshot" and set(first["tasks"]) == {"a", "b"}
        server.post({"task_id": "a", "n": 2})
        delta = listener.next()
        assert delta == {
            "type": "delta",
            "tasks": {"a": delta["tasks"]["a"]},
            "removed": [],
            "groups": {},
            "groups_removed": [],
        }
        assert delta["tasks"]["a"]["n"] == 2
        server.http.delete(server.url + "/tasks/b", headers=JSON, timeout=5)
        assert listener.next() == {"type": "delta", "tasks": {}, "removed": ["b"], "groups": {}, "groups_removed": []}


def groups_of(server):
    response = server.http.get(server.url + "/groups", timeout=5)
    response.raise_for_status()
    return response.json()["groups"]


GROUPED = [
    {"task_id": "run-1:a", "status": "update", "n": 3, "total": 10, "rate": 1.5},
    {"task_id": "run-1:b", "status": "close", "n": 10, "total": 10},
    {"task_id": "run-2:x", "status": "start", "total": 4, "unit": "B"},
    {"task_id": "solo:x", "status": "update", "n": 1},
    {"task_id": "ungrouped", "n": 1},
]


def test_a_delta_snapshot_carries_every_group_as_get_groups_answers(server):
    server.post(GROUPED)
    with connect(server.ws_url + "?mode=delta", open_timeout=5) as ws:
        first = Listener(ws).next()
    assert first["type"] == "snapshot"
    assert set(first["groups"]) == {"run-1", "run-2", "solo"}  # a lone member makes a group; no prefix, none
    assert first["groups"] == groups_of(server)
    assert first["groups"]["run-1"]["members"] == 2 and first["groups"]["solo"]["members"] == 1


def test_a_member_update_sends_its_groups_new_row_and_only_that_one(server):
    server.post(GROUPED)
    with connect(server.ws_url + "?mode=delta", open_timeout=5) as ws:
        listener = Listener(ws)
        before = listener.next()["groups"]["run-1"]
        server.post({"task_id": "run-1:a", "n": 7})
        delta = listener.next()
        assert set(delta["tasks"]) == {"run-1:a"}
        assert delta["groups"] == {"run-1": groups_of(server)["run-1"]} and delta["groups_removed"] == []
        assert delta["groups"]["run-1"]["n"] == 17 != before["n"]
        server.post({"task_id": "ungrouped", "n": 2})  # in no group: no row moves
        assert listener.next()["groups"] == {}
        server.post({"task_id": "new:one", "status": "start"})  # a group is born with its first member
        assert listener.next()["groups"] == {"new": groups_of(server)["new"]}


def test_removing_a_groups_last_member_sends_its_prefix_in_groups_removed(server):
    server.post(GROUPED)
    with connect(server.ws_url + "?mode=delta", open_timeout=5) as ws:
        listener = Listener(ws)
        listener.next()
        server.http.delete(server.url + "/tasks/solo:x", headers=JSON, timeout=5)
        delta = listener.next()
        assert (delta["removed"], delta["groups"], delta["groups_removed"]) == (["solo:x"], {}, ["solo"])
        server.http.delete(server.url + "/tasks/run-1:b", headers=JSON, timeout=5)  # run-1 keeps a member
        delta = listener.next()
        assert delta["groups"] == {"run-1": groups_of(server)["run-1"]} and delta["groups_removed"] == []
        assert delta["groups"]["run-1"]["members"] == 1
    assert set(groups_of(server)) == {"run-1", "run-2"}


def test_a_large_groups_row_follows_without_further_changes(server):
    """A group of more than 1,000 members is computed once every few broadcasts: its row still arrives."""
    for first in range(0, 2500, 500):  # one request may create a tenth of the cap (new_task_limit)
        server.post([{"task_id": f"big:{i:04d}", "n": 1, "total": 10} for i in range(first, first + 500)])
    with connect(server.ws_url + "?mode=delta", open_timeout=5) as ws:
        listener = Listener(ws)
        assert listener.next()["groups"]["big"]["n"] == 2500
        server.post({"task_id": "big:0000", "n": 9})
        # The row with the change: a loaded machine may first send the row of the 2,500 again (the group
        # was still being computed when the snapshot was taken, and the next delta carries the view's row).
        row = listener.until(lambda m: m["groups"].get("big", {}).get("n") == 2508)["groups"]["big"]
        assert row == groups_of(server)["big"]


def test_default_mode_messages_have_no_group_rows(server):
    server.post(GROUPED)
    with connect(server.ws_url, open_timeout=5) as ws:
        listener = Listener(ws)
        assert set(listener.next()) == {"tasks"}
        server.post({"task_id": "run-1:a", "n": 8})
        assert set(listener.until(lambda m: m["tasks"]["run-1:a"]["n"] == 8)) == {"tasks"}


def test_unknown_mode_is_refused_with_1008(server):
    with connect(server.ws_url + "?mode=fancy", open_timeout=5) as ws:
        with pytest.raises(Exception) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd.code == 1008


@pytest.mark.parametrize("mode", ["snapshot", "delta"])
def test_rapid_updates_are_coalesced_and_the_final_state_is_exact(start_server, mode):
    interval = 0.1
    server = start_server(broadcast_interval=interval)
    with connect(server.ws_url + f"?mode={mode}", open_timeout=5) as ws:
        listener = Listener(ws)
        listener.next()  # snapshot
        started = time.monotonic()
        for n in range(1, 1001):
            server.post({"task_id": "fast", "n": n, "total": 1000})
        final = listener.until(lambda m: m["tasks"].get("fast", {}).get("n") == 1000)
        elapsed = time.monotonic() - started
    updates = len(listener.messages) - 1
    assert final["tasks"]["fast"]["total"] == 1000
    # at most one message per interval, plus the first one sent at once
    assert updates <= elapsed / interval + 2, (updates, elapsed)
    assert updates < 1000 / 5


def test_every_client_sees_every_change(server):
    with connect(server.ws_url + "?mode=delta", open_timeout=5) as one, connect(server.ws_url, open_timeout=5) as two:
        a, b = Listener(one), Listener(two)
        a.next(), b.next()
        server.post([{"task_id": f"t{i}"} for i in range(50)])
        a.until(lambda m: len(m["tasks"]) == 50)
        b.until(lambda m: len(m["tasks"]) == 50)


def test_a_client_that_disconnects_is_forgotten(server):
    with connect(server.ws_url, open_timeout=5) as ws:
        ws.recv(timeout=5)
        wait_until(lambda: len(server.app.state.broadcaster.clients) == 1, what="client registered")
    wait_until(lambda: not server.app.state.broadcaster.clients, what="client forgotten")
    assert server.post({"task_id": "after"}).status_code == 200


def open_raw_websocket(url_port: int, path: str) -> socket.socket:
    """A WebSocket handshake by hand, on a socket we then never read: a stuck dashboard."""
    sock = socket.create_connection(("127.0.0.1", url_port), timeout=5)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    response = b""
    while b"\r\n\r\n" not in response:
        response += sock.recv(1)
    assert response.startswith(b"HTTP/1.1 101"), response
    return sock


def test_a_stuck_client_is_dropped_and_others_keep_up(start_server):
    server = start_server(broadcast_interval=0.01, ws_queue_size=2)
    port = int(server.url.rsplit(":", 1)[1])
    stuck = open_raw_websocket(port, "/ws")
    try:
        with connect(server.ws_url + "?mode=delta", open_timeout=5) as ws:
            healthy = Listener(ws)
            healthy.next()
            wait_until(lambda: len(server.app.state.broadcaster.clients) == 2, what="both clients registered")
            big = "x" * 900
            for round_ in range(60):
                server.post([{"task_id": f"t{i}", "desc": big, "n": round_} for i in range(200)])
                healthy.until(lambda m, r=round_: m["tasks"].get("t199", {}).get("n") == r)
                if len(server.app.state.broadcaster.clients) == 1:  # the stuck one is gone
                    break
            metrics = server.http.get(server.url + "/metrics", timeout=5).text
            assert "progressista_ws_clients_dropped_total 1.0" in metrics
            assert len(server.app.state.broadcaster.clients) == 1
            server.post({"task_id": "t0", "n": -1})
            healthy.until(lambda m: m["tasks"].get("t0", {}).get("n") == -1)
    finally:
        stuck.close()


def closed_with(ws) -> tuple[int, str]:
    """The close code and reason the server sent (the client reads until then)."""
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


def test_a_message_over_the_size_limit_is_closed_1009_and_the_server_keeps_serving(start_server):
    server = start_server(ws_max_message_bytes=4096)
    with connect(server.ws_url, open_timeout=5) as ws:
        ws.recv(timeout=5)  # the snapshot
        ws.send("x" * 4096)  # the negative control: at the limit, read and ignored
        server.post({"task_id": "a"})
        assert '"a"' in ws.recv(timeout=5)
        ws.send("é" * 2049)  # 4,098 bytes of UTF-8
        assert closed_with(ws) == (1009, "message too big")
    assert server.post({"task_id": "b"}).status_code == 200
    with connect(server.ws_url, open_timeout=5) as other:
        assert set(json.loads(other.recv(timeout=5))["tasks"]) == {"a", "b"}


def test_a_client_sending_too_often_is_closed_1008(server):
    with connect(server.ws_url, open_timeout=5) as ws:
        ws.recv(timeout=5)
        for _ in range(10):  # the negative control: a burst within the allowance
            ws.send("ping")
        server.post({"task_id": "a"})
        assert '"a"' in ws.recv(timeout=5)
        with contextlib.suppress(ConnectionClosed):  # the close may arrive while the client still sends
            for _ in range(40):
                ws.send("ping")
        assert closed_with(ws) == (1008, "too many messages")
    assert server.post({"task_id": "b"}).status_code == 200


def test_serve_refuses_a_big_compressed_message_before_reading_it_whole():
    """uvicorn's default reads (and inflates) messages of up to 16 MiB; ``progressista serve`` passes its own limit."""
    with ServerProcess(cli=True) as live, connect(live.ws_url, open_timeout=5, compression="deflate") as ws:
        ws.recv(timeout=5)
        ws.send("0" * (1 << 20))  # 1 MiB, about 1 kB on the wire
        code, reason = closed_with(ws)
        assert code == 1009 and reason != "message too big"  # refused by uvicorn's protocol, not by the app
        assert requests.get(live.url + "/health", timeout=5).ok
