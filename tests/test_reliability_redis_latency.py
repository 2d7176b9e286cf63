"""A Redis far away (a latency proxy on loopback): writes are shared, start-up is short and bounded.

- 8 clients posting at once through 50 ms of latency are all acknowledged, each
  acknowledged event is in Redis when its answer arrives (read from Redis
  directly, not through the proxy or the server), and the server's writes
  (``EVALSHA`` calls, from Redis' own ``INFO commandstats``) are far fewer than
  the requests: requests that arrive during a write join the next one.
- Start-up: a handful of round trips whatever the latency (counted by the proxy),
  and a Redis that accepts connections but never answers fails the store, and
  ``progressista serve``, with one line naming the URL.
"""

from __future__ import annotations

import asyncio
import subprocess
import threading
import uuid
from collections.abc import Iterator

import pytest
import redis
import requests
from latency_proxy import LatencyProxy
from support import JSON, RedisServer, clean_env, free_port, require_binary, server_process

from progressista.server.store import StoreUnavailable
from progressista.server.store_redis import RedisStore

CLIENTS = 8
POSTS = 8  # per client


@pytest.fixture(scope="module")
def own_redis() -> Iterator[RedisServer]:
    """A Redis of this module's own: its command counts are this module's writes only."""
    server = RedisServer(require_binary("redis-server")).start()
    yield server
    server.close()


def evalsha_calls(client: redis.Redis) -> int:
    stats = client.info("commandstats")
    return int(stats.get("cmdstat_evalsha", {}).get("calls", 0))


def test_concurrent_posts_through_latency_share_writes_and_are_in_redis_when_acknowledged(own_redis):
    prefix = f"lat-{uuid.uuid4().hex[:8]}:"
    direct = redis.Redis.from_url(own_redis.url, decode_responses=True, protocol=2)
    port = free_port()
    env = clean_env(PROGRESSISTA_REDIS_PREFIX=prefix, PROGRESSISTA_CLEANUP_INTERVAL="3600")
    cmd = ["progressista", "serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    with (
        LatencyProxy(own_redis.port, rtt=0.05) as proxy,
        server_process([*cmd, "--redis-url", proxy.url], port, env) as url,
    ):
        before = evalsha_calls(direct)
        missing: list[str] = []
        failures: list[str] = []
        start = threading.Barrier(CLIENTS)

        def client(number: int) -> None:
            task_id = f"client-{number}"
            with requests.Session() as http:
                start.wait(10)
                for n in range(1, POSTS + 1):
                    response = http.post(url + "/progress", json={"task_id": task_id, "n": n}, headers=JSON, timeout=10)
                    if response.status_code != 200:
                        failures.append(f"{task_id} n={n}: {response.status_code} {response.text}")
                        return
                    # Acknowledged: it must be in Redis now, not on its way.
                    if direct.hget(f"{prefix}task:{task_id}", "n") != str(n):
                        missing.append(f"{task_id} n={n}")

        threads = [threading.Thread(target=client, args=(i,), name=f"poster-{i}") for i in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not any(thread.is_alive() for thread in threads), "a client is still waiting for an answer"
        writes = evalsha_calls(direct) - before

    assert failures == []
    assert missing == []
    requests_made = CLIENTS * POSTS
    # One write per request would be 64; joined writes, about 8 (13 seen with the machine's two cores busy:
    # a client that posts again later than the rejoin wait waits for the write after). Before requests
    # rejoined the next write they were 4 requests per write at best (two groups taking turns): 16 writes.
    assert writes < requests_made / 4, f"{writes} writes for {requests_made} requests"


def test_start_up_takes_a_few_round_trips_at_any_latency(own_redis):
    async def start_and_close(url: str) -> None:
        store = RedisStore(url, prefix=f"lat-{uuid.uuid4().hex[:8]}:")
        await store.start()
        await store.close()

    with LatencyProxy(own_redis.port, rtt=0.2) as proxy:
        asyncio.run(asyncio.wait_for(start_and_close(proxy.url), 30))
        longest, trips = max(proxy.round_trips_by_connection), proxy.round_trips
    # Two connections side by side (commands, change feed), each sending one pipeline or SUBSCRIBE
    # and nothing before it. It was 9 on the longest (a new Redis), 14 in all; then 3 and 6 with a
    # health-check PING and CLIENT SETINFO on each new connection.
    assert longest <= 1, proxy.round_trips_by_connection
    assert trips <= 2, proxy.round_trips_by_connection


def test_a_write_is_one_round_trip_whatever_its_size(own_redis):
    """Events of every request, the publish inside: one EVALSHA a write, so one round trip."""

    async def post(url: str) -> tuple[int, int]:
        store = RedisStore(url, prefix=f"lat-{uuid.uuid4().hex[:8]}:")
        await store.start()
        try:
            trips = proxy.round_trips
            events = [{"task_id": f"t{i % 40}", "n": i, "desc": 'é\x00"', "meta": {"k": [i]}} for i in range(200)]
            await asyncio.gather(*(store.apply(events[k::4], 0.0) for k in range(4)))  # type: ignore[arg-type]
            return store.commits, proxy.round_trips - trips
        finally:
            await store.close()

    with LatencyProxy(own_redis.port, rtt=0.05) as proxy:
        commits, trips = asyncio.run(asyncio.wait_for(post(proxy.url), 30))
    assert trips == commits <= 2, (trips, commits)


def test_a_redis_that_never_answers_fails_the_store_naming_the_url(own_redis):
    async def start(url: str) -> None:
        await RedisStore(url, timeout=0.5).start()

    with LatencyProxy(own_redis.port, rtt=0, answer=False) as proxy:
        with pytest.raises(StoreUnavailable) as failed:
            asyncio.run(asyncio.wait_for(start(proxy.url), 30))  # bounded by the store's own timeout
        assert proxy.connections >= 1
    assert str(failed.value).startswith(f"cannot reach Redis at {proxy.url}: ")


def test_serve_against_a_redis_that_never_answers_stops_with_one_line(own_redis):
    with LatencyProxy(own_redis.port, rtt=0, answer=False) as proxy:
        result = subprocess.run(
            ["progressista", "serve", "--port", str(free_port()), "--redis-url", proxy.url],
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"Error: cannot reach Redis at {proxy.url}: no answer within 5 s"]
