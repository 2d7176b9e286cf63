"""The lifecycle loop on a live server: stale, revival, retention, max age — all reach /ws."""

import asyncio
import json
import random
import re
import time
import uuid

from serverproc import ServerProcess
from support import RedisServer, require_binary, wait_until
from websockets.sync.client import connect

from progressista.server.background import stop
from progressista.server.lifecycle import run_lifecycle
from progressista.server.tasks import Lifecycle


def status_of(server, task_id):
    return server.tasks().get(task_id, {}).get("status")


def test_idle_tasks_go_stale_and_an_update_revives_them(start_server):
    server = start_server(stale_seconds=0.3, cleanup_interval=0.05)
    server.post([{"task_id": "idle", "status": "start"}, {"task_id": "done", "status": "close"}])
    wait_until(lambda: status_of(server, "idle") == "stale", what="idle task to go stale")
    assert status_of(server, "done") == "close"
    assert set(server.tasks(status="stale")) == {"idle"}
    server.post({"task_id": "idle", "n": 1})
    assert status_of(server, "idle") == "update"


def test_stale_disabled_by_default(start_server):
    server = start_server(cleanup_interval=0.02)
    server.post({"task_id": "t", "status": "start"})
    # Several cleanup passes run while we wait for the stale-enabled control below.
    control = start_server(stale_seconds=0.2, cleanup_interval=0.02)
    control.post({"task_id": "t", "status": "start"})
    wait_until(lambda: status_of(control, "t") == "stale")
    assert status_of(server, "t") == "start"


def test_completed_tasks_are_purged_after_retention(start_server):
    server = start_server(retention_seconds=0.3, cleanup_interval=0.05)
    server.post(
        [{"task_id": "closed", "status": "close"}, {"task_id": "failed", "status": "error"}, {"task_id": "running"}]
    )
    wait_until(lambda: set(server.tasks()) == {"running"}, what="completed tasks purged")


def test_max_task_age_drops_any_task_even_a_busy_one(start_server):
    server = start_server(max_task_age=0.3, cleanup_interval=0.05)
    with connect(server.ws_url + "?mode=delta", open_timeout=5) as ws:
        json.loads(ws.recv(timeout=5))
        server.post([{"task_id": "busy", "status": "start"}, {"task_id": "quiet", "status": "start"}])
        removed: set[str] = set()
        n = 0
        while removed != {"busy", "quiet"}:
            n += 1
            if "busy" not in removed:
                server.post({"task_id": "busy", "n": n})
            message = json.loads(ws.recv(timeout=5))
            removed.update(message["removed"])
    assert set(server.tasks()) == set()


def test_lifecycle_changes_reach_dashboards(start_server):
    server = start_server(stale_seconds=0.2, retention_seconds=0.2, cleanup_interval=0.05)
    with connect(server.ws_url + "?mode=delta", open_timeout=5) as ws:
        assert json.loads(ws.recv(timeout=5))["type"] == "snapshot"
        server.post([{"task_id": "idle", "status": "start"}, {"task_id": "done", "status": "close"}])
        seen_stale = seen_removed = False
        while not (seen_stale and seen_removed):
            message = json.loads(ws.recv(timeout=5))
            seen_stale |= message["tasks"].get("idle", {}).get("status") == "stale"
            seen_removed |= "done" in message["removed"]


def test_silent_open_tasks_become_lost_and_a_contact_revives_them(start_server):
    server = start_server(lost_seconds=0.3, cleanup_interval=0.05)
    server.post([{"task_id": "silent", "status": "start", "n": 3}, {"task_id": "done", "status": "close"}])
    wait_until(lambda: status_of(server, "silent") == "lost", what="silent task to be lost")
    assert status_of(server, "done") == "close"
    assert set(server.tasks(status="lost")) == {"silent"} == set(server.tasks(status="attention"))
    assert server.post({"task_id": "silent", "n": 3}).json()["applied"] == 1  # a heartbeat: alive again
    assert status_of(server, "silent") == "update"


def test_heartbeats_keep_a_slow_task_stale_but_never_lost(start_server):
    server = start_server(stale_seconds=0.2, lost_seconds=0.4, cleanup_interval=0.05)
    server.post({"task_id": "slow", "status": "start", "n": 1})
    seen = set()
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:  # a heartbeat every 0.1 s, never any progress
        server.post({"task_id": "slow", "status": "update", "n": 1})
        seen.add(status_of(server, "slow"))
        time.sleep(0.1)
    assert "stale" in seen and "lost" not in seen, seen
    task = server.tasks()["slow"]
    assert task["seen_at"] > task["updated_at"]


def test_a_lifecycle_loop_on_redis_stops_even_when_stopped_in_the_middle_of_a_command(redis_server):
    """Found by a flaky teardown: a server on Redis that sometimes never exited after Ctrl-C.

    Its lifecycle loop, cancelled during a Redis call, carried on: redis-py wraps
    socket writes in ``asyncio.wait_for``, which before Python 3.12 can swallow a
    cancellation, and the shutdown waited for the loop forever. Here the loop
    sweeps back to back (interval 0) and is stopped at random moments.
    """
    from progressista.server.store_redis import RedisStore

    async def body():
        store = RedisStore(redis_server.url, f"stop-{uuid.uuid4().hex[:8]}:", lease_seconds=1)
        await store.start()
        try:
            await store.apply([{"task_id": "t", "status": "start"}], time.time())
            rng = random.Random(5)
            for _ in range(40):
                loop = asyncio.create_task(run_lifecycle(store, Lifecycle(), 0))
                await asyncio.sleep(rng.random() * 0.005)
                await stop(loop, timeout=3)
                assert loop.done()
        finally:
            await store.close()

    asyncio.run(body())


def test_a_redis_outage_is_one_line_when_passes_fail_and_one_when_they_resume():
    """``progressista serve`` configures the server's own logger; an outage does not log a traceback per pass."""
    redis = RedisServer(require_binary("redis-server")).start()
    try:
        with ServerProcess(cli=True, log_level="debug", redis_url=redis.url, cleanup_interval=0.1) as live:

            def count(text: str) -> int:
                return live.output().count(text)

            for outage in (1, 2):  # the second outage is the negative control: it gets its own line
                redis.stop()
                wait_until(lambda o=outage: count("pass failed again") >= 3 * o, timeout=30, what="3 failures")
                redis.start()
                wait_until(lambda o=outage: count("lifecycle passes resumed") == o, timeout=30, what="the recovery")
                assert count("WARNING:  lifecycle passes are failing (Redis is unavailable: ") == outage
            resumed = re.findall(r"INFO:     lifecycle passes resumed after (\d+) failed over \d+ s", live.output())
            assert len(resumed) == 2 and all(int(failed) >= 4 for failed in resumed), resumed
            assert "Traceback" not in live.output()
    finally:
        redis.close()
