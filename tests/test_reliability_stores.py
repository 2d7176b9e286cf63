"""Stores that would drop acknowledged tasks (issue 23), with real redis-server processes and real files.

- A Redis whose ``maxmemory-policy`` may evict any key is warned about at start.
- A Redis out of memory makes ``/health`` say ``degraded`` (503, with the reason).
- A frozen Redis fails requests after ``PROGRESSISTA_REDIS_TIMEOUT`` instead of holding them.
- Overlapping key prefixes keep apart; a prefix that could collide is refused.
- A storage file that cannot be saved makes ``/health`` say ``degraded`` too.

Each test that changes a Redis's configuration or freezes it runs its own redis-server.
"""

from __future__ import annotations

import logging
import signal
import time
import uuid
from collections.abc import Iterator

import pytest
import redis
import requests
from pydantic import ValidationError
from support import RedisServer, require_binary, wait_until

from progressista.server import Settings


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    server = RedisServer(require_binary("redis-server")).start()
    yield server
    server.close()


@pytest.fixture
def client(own_redis: RedisServer) -> Iterator[redis.Redis]:
    with redis.Redis(port=own_redis.port, socket_timeout=5) as connection:
        yield connection


@pytest.mark.parametrize(
    ("policy", "warned"),
    [("allkeys-lru", True), ("allkeys-random", True), ("noeviction", False), ("volatile-lru", False)],
)
def test_a_policy_that_may_evict_tasks_is_warned_about_at_start(
    start_server, own_redis, client, caplog, policy, warned
):
    """Found by the adversarial pass: under allkeys-lru 2,492 of 3,000 acknowledged tasks vanished silently."""
    client.config_set("maxmemory-policy", policy)
    with caplog.at_level(logging.INFO, logger="progressista.server"):
        start_server(redis_url=own_redis.url)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "maxmemory" in r.message]
    if warned:
        assert len(warnings) == 1
        assert f"maxmemory-policy {policy}: when it reaches maxmemory it will silently drop tasks" in warnings[0]
        assert "set maxmemory-policy noeviction (or a volatile-* policy)" in warnings[0]
    else:
        assert warnings == []


def test_redis_out_of_memory_makes_health_degraded(start_server, own_redis, client):
    """Found by the adversarial pass: with Redis out of memory /health said ok while every POST got 503."""
    server = start_server(redis_url=own_redis.url)
    assert server.post({"task_id": "before"}).status_code == 200
    assert server.http.get(server.url + "/health", timeout=5).json()["status"] == "ok"
    for k in range(200):  # 2 MB of other data, then a maxmemory 1 MB below what Redis holds
        client.set(f"filler:{k}", "x" * 10_000)
    client.config_set("maxmemory-policy", "noeviction")
    client.config_set("maxmemory", str(int(client.info("memory")["used_memory"]) - 1024 * 1024))
    with pytest.raises(redis.exceptions.OutOfMemoryError):
        client.set("one-more", "x")
    health = server.http.get(server.url + "/health", timeout=5)
    assert health.status_code == 503
    body = health.json()
    assert body["status"] == "degraded" and body["tasks"] == 1
    assert body["detail"].startswith("Redis is out of memory and refuses writes: ")
    refused = server.post({"task_id": "during"})
    assert refused.status_code == 503 and "out of memory" in refused.json()["detail"]
    # The negative control: with room again, health is ok and writes go through.
    client.config_set("maxmemory", "0")
    assert server.http.get(server.url + "/health", timeout=5).json()["status"] == "ok"
    assert server.post({"task_id": "after"}).status_code == 200
    assert set(server.tasks()) == {"before", "after"}


@pytest.mark.parametrize(("timeout", "bounded"), [(0.5, True), (30.0, False)])
def test_a_frozen_redis_fails_requests_instead_of_holding_them(start_server, own_redis, timeout, bounded):
    """Found by the adversarial pass: a frozen Redis hung every request (redis-py without a default timeout)."""
    server = start_server(redis_url=own_redis.url, redis_timeout=timeout)
    assert server.post({"task_id": "a"}).status_code == 200
    assert own_redis.proc is not None
    own_redis.proc.send_signal(signal.SIGSTOP)
    try:
        started = time.monotonic()
        if bounded:
            response = server.http.post(server.url + "/progress", json={"task_id": "b"}, timeout=10)
            assert response.status_code == 503 and response.headers["Retry-After"] == "1"
            assert time.monotonic() - started < 3  # the timeout, not redis-py's default (5 s, or none)
            assert server.http.get(server.url + "/health", timeout=10).status_code == 503
        else:  # the negative control: it is the setting that bounds the wait
            with pytest.raises(requests.ReadTimeout):
                server.http.post(server.url + "/progress", json={"task_id": "b"}, timeout=2)
    finally:
        own_redis.proc.send_signal(signal.SIGCONT)
    wait_until(lambda: server.post({"task_id": "c"}).status_code == 200, timeout=30, what="writes after the thaw")


def test_overlapping_prefixes_keep_apart(start_server, redis_server):
    base = f"t{uuid.uuid4().hex[:8]}"
    short = start_server(redis_url=redis_server.url, redis_prefix=base)
    longer = start_server(redis_url=redis_server.url, redis_prefix=base + ":x")
    assert short.post([{"task_id": "ids"}, {"task_id": ":xids"}, {"task_id": "x:a"}]).status_code == 200
    assert longer.post([{"task_id": "ids"}, {"task_id": "b"}]).status_code == 200
    assert set(short.tasks()) == {"ids", ":xids", "x:a"} and set(longer.tasks()) == {"ids", "b"}


def test_a_prefix_whose_keys_could_be_another_prefixs_tasks_is_refused():
    """Keys are <prefix>task:<id>: prefix "p:task:" would keep its ids set in prefix "p:"'s task "ids"."""
    with pytest.raises(ValidationError, match="redis_prefix\n  Value error, must not contain 'task:'"):
        Settings(redis_prefix="p:task:")
    assert Settings(redis_prefix="p:tasks-").redis_prefix == "p:tasks-"  # the negative control


def test_a_storage_file_that_cannot_be_saved_makes_health_degraded(start_server, tmp_path):
    folder = tmp_path / "state"
    server = start_server(storage_path=folder / "state.json", save_interval=0.05)
    assert server.post({"task_id": "a"}).status_code == 200
    wait_until(lambda: (folder / "state.json").exists(), what="the first save")
    folder.rename(tmp_path / "moved")
    folder.write_text("a file where the folder was")  # saves now fail, even as root
    assert server.post({"task_id": "b"}).status_code == 200
    health = wait_until(
        lambda: (r := server.http.get(server.url + "/health", timeout=5)).status_code == 503 and r.json(),
        what="health to notice the failing saves",
    )
    assert health["status"] == "degraded" and health["tasks"] == 2
    assert health["detail"].startswith(f"cannot save tasks to {folder / 'state.json'}: ")
    folder.unlink()  # the negative control: saves work again, and so does health
    wait_until(lambda: server.http.get(server.url + "/health", timeout=5).json()["status"] == "ok", what="health back")
