"""``/health`` (open to all) and ``/metrics`` (for read tokens) are polled: their cost must not grow with the tasks.

Measured as work, not time: the Redis commands a probe makes (``INFO commandstats``,
which counts the commands Lua scripts run too), and the tasks the memory store
reads (``MemoryStore.tasks_read``). Each test has its negative control: ``GET
/tasks``, which must read every task, does grow by the same measure.
"""

import pytest
import redis as redis_py
from support import JSON, run_server, wait_until

from progressista.server.tasks import count_by_status

QUIET = {"cleanup_interval": 3600}  # no lifecycle pass during a measurement
PROBES = ("/health", "/metrics")


def fill(server, count, start=0, **fields):
    """Post ``count`` tasks (in requests the new-task limit allows)."""
    for first in range(start, start + count, 1000):
        events = [{"task_id": f"t{i}", **fields} for i in range(first, min(start + count, first + 1000))]
        assert server.post(events).status_code == 200


def probe(server):
    for path in PROBES:
        assert server.http.get(server.url + path, timeout=5).status_code == 200


def redis_calls(client):
    """Commands Redis has run so far, by name (PING and INFO left out: keepalives and this reading)."""
    stats = client.info("commandstats")
    return {name: entry["calls"] for name, entry in stats.items() if name not in ("cmdstat_ping", "cmdstat_info")}


def redis_work(server, client, action):
    before = redis_calls(client)
    action(server)
    after = redis_calls(client)
    return {name: n - before.get(name, 0) for name, n in after.items() if n != before.get(name, 0)}


def delete(server, **params):
    server.http.delete(server.url + "/tasks", params=params, headers=JSON, timeout=5).raise_for_status()


def list_tasks(server):
    server.tasks()


def test_a_probe_makes_the_same_redis_commands_at_10_and_2000_tasks(start_server, redis_settings, redis_server):
    server = start_server(**redis_settings, **QUIET)
    with redis_py.Redis.from_url(redis_server.url, decode_responses=True) as client:
        fill(server, 10)
        small, small_list = redis_work(server, client, probe), redis_work(server, client, list_tasks)
        fill(server, 1990, start=10)
        large, large_list = redis_work(server, client, probe), redis_work(server, client, list_tasks)
    assert large == small, (small, large)
    assert sum(large.values()) <= 5  # PING, SET health, HGETALL counts, for both probes
    assert sum(large_list.values()) > sum(small_list.values()) + 1000  # the control: a listing reads each task


def test_a_probe_reads_no_task_in_the_memory_store(start_server):
    server = start_server(**QUIET)
    store = server.app.state.store
    for count in (10, 2000):
        fill(server, count)
        before = store.tasks_read
        probe(server)
        assert store.tasks_read == before
        server.tasks()
        assert store.tasks_read == before + count  # the control: a listing does read them all
    by_status = server.http.get(server.url + "/health", timeout=5).json()["by_status"]
    assert by_status == {"update": 2000}


def health_counts(server):
    body = server.http.get(server.url + "/health", timeout=5).json()
    assert body["tasks"] == sum(body["by_status"].values())
    return body["by_status"]


def assert_counts_match(*servers):
    """Each server's /health counts are those of the tasks it lists (and the same on every server)."""
    expected = count_by_status(servers[0].tasks().values())
    for server in servers:
        wait_until(lambda s=server: health_counts(s) == expected, timeout=5, what="health counts to match")
    return expected


@pytest.mark.parametrize("store", ["memory", "redis"])
def test_counts_follow_ingest_deletes_lifecycle_and_evictions(start_server, request, store):
    settings = request.getfixturevalue("redis_settings") if store == "redis" else {}
    server = start_server(**settings, max_tasks=20, stale_seconds=0.3, lost_seconds=3600, retention_seconds=3600)
    fill(server, 8)
    fill(server, 5, start=8, status="close")
    fill(server, 3, start=13, status="error")
    assert assert_counts_match(server) == {"update": 8, "close": 5, "error": 3}
    server.post([{"task_id": "t0", "status": "close"}, {"task_id": "t8", "status": "start"}])
    assert assert_counts_match(server) == {"update": 7, "start": 1, "close": 5, "error": 3}
    wait_until(lambda: health_counts(server).get("stale") == 8, what="the lifecycle to mark open tasks stale")
    assert_counts_match(server)
    fill(server, 8, start=100)  # over the cap of 20: the four first closed (t9-t12) are evicted
    assert assert_counts_match(server) == {"stale": 8, "update": 8, "close": 1, "error": 3}
    delete(server, status="completed")
    delete(server, task_id="t100")
    assert assert_counts_match(server) == {"stale": 8, "update": 7}
    assert len(server.tasks()) == 15


def test_two_servers_on_one_redis_count_alike(start_server, redis_settings):
    a = start_server(**redis_settings, stale_seconds=0.3)
    b = start_server(**redis_settings, stale_seconds=0.3)
    fill(a, 6)
    fill(b, 4, start=6, status="close")
    assert assert_counts_match(a, b) == {"update": 6, "close": 4}
    delete(b, task_id=["t0", "t6"])
    a.post({"task_id": "t1", "status": "error"})
    assert assert_counts_match(b, a) == {"update": 4, "close": 3, "error": 1}
    wait_until(lambda: health_counts(a).get("stale") == 4, what="one lifecycle pass across both")
    assert assert_counts_match(a, b) == {"stale": 4, "close": 3, "error": 1}
    c = start_server(**redis_settings)  # a server starting beside them recounts to the same
    assert assert_counts_match(a, b, c) == {"stale": 4, "close": 3, "error": 1}


def test_counts_of_a_storage_file_are_right_after_a_restart(tmp_path):
    path = tmp_path / "tasks.json"
    with run_server(storage_path=path, **QUIET) as server:
        fill(server, 3)
        fill(server, 2, start=3, status="close")
    with run_server(storage_path=path, **QUIET) as again:  # counted from the loaded file
        assert health_counts(again) == {"update": 3, "close": 2}
        fill(again, 1, status="error")
        assert health_counts(again) == {"update": 2, "close": 2, "error": 1}


SECRET = "s3cret-text"


@pytest.mark.parametrize("store", ["memory", "redis"])
def test_probes_show_counts_never_task_text(start_server, request, store):
    """/health needs no token and /metrics only a read one: neither shows what tasks say or where they run."""
    settings = request.getfixturevalue("redis_settings") if store == "redis" else {}
    server = start_server(**settings, api_tokens=["tok", "read:reader"])
    event = {
        "task_id": f"id-{SECRET}",
        "desc": f"desc-{SECRET}",
        "unit": f"u-{SECRET}",
        "postfix": f"p-{SECRET}",
        "host": f"host-{SECRET}",
        "meta": {"key": f"meta-{SECRET}", "group": f"g-{SECRET}"},
    }
    assert server.post(event, headers={"Authorization": "Bearer tok"}).status_code == 200
    assert server.http.get(server.url + "/metrics", timeout=5).status_code == 401
    reader = {"Authorization": "Bearer reader"}
    for path, headers in (("/health", {}), ("/metrics", reader)):
        response = server.http.get(server.url + path, headers=headers, timeout=5)
        assert response.status_code == 200
        assert SECRET not in response.text
    metrics = server.http.get(server.url + "/metrics", headers=reader, timeout=5).text
    assert 'progressista_tasks{status="update"} 1.0' in metrics
