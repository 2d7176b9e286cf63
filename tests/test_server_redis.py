"""Several server processes on one real Redis: shared tasks, fan-out, lifecycle, outages."""

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import requests
from support import JSON, RedisServer, clean_env, free_port, require_binary, server_process, wait_until
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect


@contextmanager
def serve_process(*args: str, env: dict[str, str]) -> Iterator[str]:
    """`progressista serve` in a subprocess; yields its base URL."""
    port = free_port()
    cmd = ["progressista", "serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", *args]
    with server_process(cmd, port, env) as url:
        yield url


@pytest.fixture
def two_processes(redis_settings):
    env = clean_env(PROGRESSISTA_REDIS_PREFIX=redis_settings["redis_prefix"], PROGRESSISTA_CLEANUP_INTERVAL="0.05")
    with (
        serve_process("--redis-url", redis_settings["redis_url"], env=env) as a,
        serve_process("--redis-url", redis_settings["redis_url"], env=env) as b,
    ):
        yield a, b


def tasks_of(url: str, **params) -> dict:
    return requests.get(url + "/tasks", params=params, timeout=5).json()["tasks"]


def ws_url(url: str) -> str:
    return "ws" + url.removeprefix("http") + "/ws?mode=delta"


def test_an_event_posted_to_one_process_is_seen_by_the_other(two_processes):
    a, b = two_processes
    with connect(ws_url(b), open_timeout=5) as ws:
        assert json.loads(ws.recv(timeout=5)) == {"type": "snapshot", "tasks": {}, "groups": {}}
        sent = time.monotonic()
        requests.post(a + "/progress", json={"task_id": "job", "status": "start", "desc": "from A", "n": 1}, timeout=5)
        delta = json.loads(ws.recv(timeout=5))
        latency = time.monotonic() - sent
        assert delta["tasks"]["job"]["desc"] == "from A"
        assert latency < 2.0  # interval 0.1 s plus a few ms; generous for a loaded 2-core machine
    assert tasks_of(b)["job"]["n"] == 1


def groups_of(url: str) -> dict:
    return requests.get(url + "/groups", timeout=5).json()["groups"]


def test_each_process_computes_group_rows_from_the_changes_of_both(two_processes):
    a, b = two_processes
    requests.post(a + "/progress", json=[{"task_id": "run:0", "n": 1, "total": 4}, {"task_id": "solo:x"}], timeout=5)
    with connect(ws_url(b), open_timeout=5) as ws:
        snapshot = json.loads(ws.recv(timeout=5))
        assert set(snapshot["groups"]) == {"run", "solo"} and snapshot["groups"] == groups_of(b)
        requests.post(a + "/progress", json={"task_id": "run:1", "n": 2, "total": 4}, timeout=5)  # to A, not B
        delta = json.loads(ws.recv(timeout=5))
        assert set(delta["tasks"]) == {"run:1"} and delta["groups"] == {"run": groups_of(a)["run"]}
        assert delta["groups"]["run"]["n"] == 3 and delta["groups_removed"] == []
        assert requests.delete(a + "/tasks/solo:x", headers=JSON, timeout=5).ok
        delta = json.loads(ws.recv(timeout=5))
        assert (delta["removed"], delta["groups"], delta["groups_removed"]) == (["solo:x"], {}, ["solo"])


def test_any_text_in_ids_and_fields_is_stored_and_fanned_out_as_sent(two_processes):
    """Events travel to Lua as one JSON array a request (escaped, decoded there by cjson): NUL,
    controls, quotes, backslashes, non-ASCII and astral characters come back unchanged."""
    a, b = two_processes
    texts = ["nul \x00 unit \x1f", 'quote " back \\ slash', "é 日本語 🎉", "line\nbreak\ttab", "plain"]
    events = [
        {"task_id": f"{text}:{i}", "desc": text, "postfix": text[::-1], "meta": {text: [text, 1.25, None]}, "n": i}
        for i, text in enumerate(texts)
    ]
    assert requests.post(a + "/progress", json=events, timeout=5).json() == {"accepted": 5, "applied": 5}
    with connect(ws_url(b), open_timeout=5) as ws:
        snapshot = json.loads(ws.recv(timeout=5))["tasks"]
    for event in events:
        for found in (tasks_of(b)[event["task_id"]], snapshot[event["task_id"]]):
            assert {key: found[key] for key in event} == event


def test_a_delete_on_one_process_is_gone_on_both(two_processes):
    a, b = two_processes
    requests.post(a + "/progress", json=[{"task_id": "x"}, {"task_id": "y", "status": "close"}], timeout=5)
    with connect(ws_url(a), open_timeout=5) as ws:
        assert set(json.loads(ws.recv(timeout=5))["tasks"]) == {"x", "y"}
        assert requests.delete(b + "/tasks/x", headers=JSON, timeout=5).json()["removed"] == ["x"]
        assert json.loads(ws.recv(timeout=5))["removed"] == ["x"]
        assert requests.delete(b + "/tasks", params={"status": "completed"}, headers=JSON, timeout=5).json()[
            "removed"
        ] == ["y"]
        assert json.loads(ws.recv(timeout=5))["removed"] == ["y"]
    assert tasks_of(a) == {} and tasks_of(b) == {}


def test_concurrent_updates_to_one_task_lose_nothing_and_never_reopen(two_processes):
    a, b = two_processes
    requests.post(a + "/progress", json={"task_id": "t", "status": "start", "total": 400}, timeout=5)

    def hammer(url: str, field: str) -> None:
        with requests.Session() as http:
            for i in range(200):
                http.post(
                    url + "/progress", json={"task_id": "t", field: f"{field}-{i}", "meta": {field: i}}, timeout=5
                )

    threads = [threading.Thread(target=hammer, args=(a, "desc")), threading.Thread(target=hammer, args=(b, "postfix"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    task = tasks_of(a)["t"]
    assert (task["desc"], task["postfix"], task["total"]) == ("desc-199", "postfix-199", 400)
    requests.post(a + "/progress", json={"task_id": "t", "status": "close", "n": 400}, timeout=5)
    assert requests.post(b + "/progress", json={"task_id": "t", "n": 1}, timeout=5).json()["applied"] == 0
    assert tasks_of(b)["t"]["status"] == "close"


def test_lifecycle_runs_once_across_processes(redis_settings):
    env = clean_env(
        PROGRESSISTA_REDIS_PREFIX=redis_settings["redis_prefix"],
        PROGRESSISTA_CLEANUP_INTERVAL="0.05",
        PROGRESSISTA_STALE_SECONDS="0.3",
        PROGRESSISTA_RETENTION_SECONDS="0.3",
    )
    url = redis_settings["redis_url"]
    with serve_process("--redis-url", url, env=env) as a, serve_process("--redis-url", url, env=env) as b:
        with connect(ws_url(a), open_timeout=5) as ws_a, connect(ws_url(b), open_timeout=5) as ws_b:
            for ws in (ws_a, ws_b):
                json.loads(ws.recv(timeout=5))
            requests.post(
                a + "/progress",
                json=[{"task_id": "idle", "status": "start"}, {"task_id": "done", "status": "close"}],
                timeout=5,
            )
            wait_until(
                lambda: tasks_of(b).get("idle", {}).get("status") == "stale" and "done" not in tasks_of(b),
                what="stale and purged",
            )
            # Let several more passes run on both processes, then count what each dashboard got.
            requests.post(b + "/progress", json={"task_id": "marker", "status": "close"}, timeout=5)
            for ws in (ws_a, ws_b):
                messages = []
                while not any("marker" in m["tasks"] for m in messages):
                    messages.append(json.loads(ws.recv(timeout=5)))
                stale_notes = [m for m in messages if m["tasks"].get("idle", {}).get("status") == "stale"]
                removals = [m for m in messages if "done" in m["removed"]]
                assert len(stale_notes) == 1 and len(removals) == 1, messages


def test_workers_share_tasks_through_redis(redis_settings):
    env = clean_env(PROGRESSISTA_REDIS_PREFIX=redis_settings["redis_prefix"])
    with serve_process("--redis-url", redis_settings["redis_url"], "--workers", "2", env=env) as url:
        for i in range(20):  # new connections land on either worker
            requests.post(url + "/progress", json={"task_id": f"t{i}"}, timeout=5, headers={"Connection": "close"})
        for _ in range(10):
            assert len(requests.get(url + "/tasks", timeout=5, headers={"Connection": "close"}).json()["tasks"]) == 20


def test_unreachable_redis_at_start_is_a_clear_error():
    port = free_port()  # nothing listens there
    result = subprocess.run(
        ["progressista", "serve", "--redis-url", f"redis://127.0.0.1:{port}/0"],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert f"cannot reach Redis at redis://127.0.0.1:{port}/0" in result.stderr
    assert "Traceback" not in result.stderr


def test_redis_lost_and_back_under_a_running_server(start_server):
    redis = RedisServer(require_binary("redis-server")).start()
    try:
        server = start_server(redis_url=redis.url, cleanup_interval=0.05)
        server.post({"task_id": "before"})
        with connect(server.ws_url + "?mode=delta", open_timeout=5) as ws:
            json.loads(ws.recv(timeout=5))
            redis.stop()
            wait_until(
                lambda: server.http.get(server.url + "/health", timeout=5).status_code == 503,
                what="/health to report the outage",
            )
            refused = server.post({"task_id": "during"})
            assert refused.status_code == 503 and "retry" in refused.json()["detail"]
            redis.start()  # same port, empty (no persistence)
            wait_until(
                lambda: server.http.get(server.url + "/health", timeout=5).status_code == 200, what="/health to recover"
            )
            # Dashboards are told to resync: their connection closes with 1012 (service restart).
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    ws.recv(timeout=10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
        wait_until(lambda: server.post({"task_id": "after"}).status_code == 200, what="ingest to recover")
        with connect(server.ws_url + "?mode=delta", open_timeout=5) as ws:
            assert "after" in json.loads(ws.recv(timeout=5))["tasks"]
            server.post({"task_id": "after", "n": 2})
            assert json.loads(ws.recv(timeout=5))["tasks"]["after"]["n"] == 2
    finally:
        redis.close()


def test_redis_extra_is_not_needed_without_a_url():
    code = "import progressista.server, sys; print('redis' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, env=clean_env())
    assert out.stdout.strip() == "False"
