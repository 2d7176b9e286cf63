"""The store contract, run against every implementation: memory and Redis.

Redis applies events in Lua (lua/merge.lua) while memory uses tasks.merge;
the same cases, and a long random sequence, must give the same tasks.
"""

import asyncio
import json
import random
import time
import uuid

import pytest

from progressista.server.store import Change, MemoryStore, TooManyTasks
from progressista.server.tasks import Lifecycle

IGNORED = ("created_at", "updated_at", "seen_at")  # server clocks: each store reads its own


def run(coro):
    return asyncio.run(coro)


@pytest.fixture(params=["memory", "redis"])
def make_store(request):
    """Build a store of the parametrised kind; the test starts and closes it."""
    if request.param == "memory":
        return lambda **kw: MemoryStore(**kw)
    redis_server = request.getfixturevalue("redis_server")
    from progressista.server.store_redis import RedisStore

    prefix = f"contract-{uuid.uuid4().hex[:10]}:"
    return lambda max_tasks=10_000: RedisStore(redis_server.url, prefix, max_tasks)


class Recorder:
    """Collects the changes a store reports, and waits for them (Redis reports via pub/sub)."""

    def __init__(self):
        self.changes: list[Change] = []

    def __call__(self, change):
        self.changes.append(change)

    async def wait_for(self, predicate, timeout=5.0):
        deadline = time.monotonic() + timeout
        while not any(predicate(c) for c in self.changes):
            assert time.monotonic() < deadline, f"no such change among {self.changes}"
            await asyncio.sleep(0.005)


def strip(tasks):
    return {k: {f: v for f, v in t.items() if f not in IGNORED} for k, t in tasks.items()}


async def started(store):
    recorder = Recorder()
    store.on_change = recorder
    await store.start()
    return store, recorder


def test_merge_rules(make_store):
    async def body():
        store, _ = await started(make_store())
        try:
            now = time.time()
            assert await store.apply([{"task_id": "a", "status": "start", "desc": "A", "total": 10}], now) == 1
            assert await store.apply([{"task_id": "a", "n": 4, "meta": {"k": [1, {}]}}], now) == 1
            assert await store.apply([{"task_id": "a", "n": 4, "timestamp": 5.0}], now) == 0  # a heartbeat
            assert await store.apply([{"task_id": "a", "n": 9, "seq": 7}, {"task_id": "a", "n": 1, "seq": 3}], now) == 1
            task = (await store.tasks(now=now))["a"]
            assert (task["desc"], task["n"], task["total"], task["seq"]) == ("A", 9, 10, 7)
            assert task["meta"] == {"k": [1, {}]}
            assert await store.apply([{"task_id": "a", "status": "close", "n": 10}], now) == 1
            assert await store.apply([{"task_id": "a", "n": 3}], now) == 0  # close is final
            assert await store.apply([{"task_id": "a", "status": "start", "n": 0, "seq": 0}], now) == 1
            task = (await store.tasks(now=now))["a"]
            assert (task["status"], task["n"], task["seq"]) == ("start", 0, 0)
            assert await store.apply([{"task_id": "a", "total": 7}], now) == 1
            assert await store.apply([{"task_id": "a", "total": None}], now) == 1
            assert (await store.tasks(now=now))["a"]["total"] is None
        finally:
            await store.close()

    run(body())


def test_changes_are_reported_with_the_new_state(make_store):
    async def body():
        store, recorder = await started(make_store())
        try:
            await store.apply([{"task_id": "t", "n": 1}, {"task_id": "u", "n": 2}], time.time())
            await recorder.wait_for(lambda c: c.tasks.get("t", {}).get("n") == 1 and "u" in c.tasks)
            assert await store.remove(["t", "missing"]) == ["t"]
            await recorder.wait_for(lambda c: c.removed == ["t"])
            assert set(await store.tasks(now=time.time())) == {"u"}
        finally:
            await store.close()

    run(body())


def test_filters_and_bulk_removal(make_store):
    async def body():
        store, _ = await started(make_store())
        try:
            now = time.time()
            await store.apply([{"task_id": "run", "status": "update"}, {"task_id": "ok", "status": "close"},
                               {"task_id": "bad", "status": "error"}], now)
            assert set(await store.tasks(frozenset({"close", "error"}), now=now)) == {"ok", "bad"}
            assert await store.tasks(None, older_than=60, now=now) == {}
            assert set(await store.tasks(None, older_than=60, now=now + 120)) == {"run", "ok", "bad"}
            removed = await store.remove_matching(frozenset({"close", "error"}), None, now=now)
            assert sorted(removed) == ["bad", "ok"]
            assert set(await store.tasks(now=now)) == {"run"}
        finally:
            await store.close()

    run(body())


def test_cap_evicts_oldest_completed_then_refuses_whole_requests(make_store):
    async def body():
        store, _ = await started(make_store(max_tasks=3))
        try:
            now = time.time()
            await store.apply([{"task_id": "old", "status": "close"}], now)
            await store.apply([{"task_id": "newer", "status": "close"}], now + 1)
            await store.apply([{"task_id": "active"}], now + 2)
            await store.apply([{"task_id": "fresh"}], now + 3)
            assert set(await store.tasks(now=now)) == {"newer", "active", "fresh"}
            await store.apply([{"task_id": "fresh2"}], now + 4)
            assert set(await store.tasks(now=now)) == {"active", "fresh", "fresh2"}
            with pytest.raises(TooManyTasks):
                await store.apply([{"task_id": "active", "n": 5}, {"task_id": "one-too-many"}], now + 5)
            tasks = await store.tasks(now=now)
            assert set(tasks) == {"active", "fresh", "fresh2"} and tasks["active"]["n"] == 0
        finally:
            await store.close()

    run(body())


def test_cap_never_evicts_a_task_the_request_names(make_store):
    """Found by tests/test_reliability_merge.py: evicting a completed task that the same request
    then names brought it back, over the cap, and a late update reopened a closed task."""

    async def body():
        store, _ = await started(make_store(max_tasks=2))
        try:
            now = time.time()
            await store.apply([{"task_id": "done-old", "status": "close", "n": 9}], now)
            await store.apply([{"task_id": "done-new", "status": "close"}], now + 1)
            # A late update of done-old (ignored: close is final) with a new task: done-new makes room.
            await store.apply([{"task_id": "done-old", "n": 1}, {"task_id": "fresh"}], now + 2)
            tasks = await store.tasks(now=now)
            assert set(tasks) == {"done-old", "fresh"}
            assert (tasks["done-old"]["status"], tasks["done-old"]["n"]) == ("close", 9)
            # Nothing else to evict: refused whole.
            with pytest.raises(TooManyTasks):
                await store.apply([{"task_id": "done-old", "n": 2}, {"task_id": "one-too-many"}], now + 3)
            assert set(await store.tasks(now=now)) == {"done-old", "fresh"}
        finally:
            await store.close()

    run(body())


def test_sweep_marks_stale_and_lost_and_expires(make_store):
    async def body():
        store, recorder = await started(make_store())
        try:
            now = time.time()
            await store.apply([{"task_id": "idle", "n": 1}, {"task_id": "silent"},
                               {"task_id": "done", "status": "close"}], now)
            await asyncio.sleep(0.05)
            beat = time.time()
            assert await store.apply([{"task_id": "idle", "n": 1}], beat) == 0  # contact, no progress
            policy = Lifecycle(stale_seconds=0.01, retention_seconds=0.01, lost_seconds=beat - now)
            change = await store.sweep(beat + 0.02, policy)
            assert {k: t["status"] for k, t in change.tasks.items()} == {"idle": "stale", "silent": "lost"}
            assert change.removed == ["done"]
            await recorder.wait_for(lambda c: "done" in c.removed)
            await recorder.wait_for(lambda c: c.tasks.get("silent", {}).get("status") == "lost")
            tasks = await store.tasks(now=beat)
            assert {k: t["status"] for k, t in tasks.items()} == {"idle": "stale", "silent": "lost"}
            assert await store.apply([{"task_id": "silent"}], beat) == 1  # a contact revives lost
            assert await store.apply([{"task_id": "idle", "n": 1}], beat) == 0  # but not stale
            assert await store.apply([{"task_id": "idle", "n": 2}], beat) == 1  # progress does
            tasks = await store.tasks(now=beat)
            assert (tasks["silent"]["status"], tasks["idle"]["status"]) == ("update", "update")
        finally:
            await store.close()

    run(body())


def test_redis_pass_skips_tasks_heard_from_since_it_looked(redis_server):
    """The race a shared store has: a heartbeat lands between a pass's read and its write."""
    from progressista.server.store_redis import RedisStore

    async def body():
        store = RedisStore(redis_server.url, f"race-{uuid.uuid4().hex[:8]}:")
        await store.start()
        try:
            await store.apply([{"task_id": "t"}], time.time())
            seen_by_the_pass = (await store.tasks(now=time.time()))["t"]["seen_at"]
            await asyncio.sleep(0.01)
            await store.apply([{"task_id": "t"}], time.time())  # the heartbeat
            # What the pass would now write, with what it read: refused.
            assert await store._remove_or_mark([store.prefix, "l", "t", json.dumps(seen_by_the_pass)]) == ([], [])
            assert await store._remove_or_mark([store.prefix, "x", "t", json.dumps(seen_by_the_pass)]) == ([], [])
            assert (await store.tasks(now=time.time()))["t"]["status"] == "update"
        finally:
            await store.close()

    run(body())


def random_events(seed, count):
    rng = random.Random(seed)
    seqs = {}
    for _ in range(count):
        task_id = rng.choice(["a", "b", "c", "d:1", "d:2"])
        event = {"task_id": task_id}
        if rng.random() < 0.7:
            event["status"] = rng.choice(["start", "update", "update", "update", "close", "error"])
        if rng.random() < 0.6:
            event["n"] = rng.choice([0, 1, 2.5, 10, 10**12])
        if rng.random() < 0.3:
            event["total"] = rng.choice([None, 10, 100.0])
        if rng.random() < 0.3:
            event["desc"] = rng.choice(["x", "y", "é ✓ \"quoted\"", ""])
        if rng.random() < 0.2:
            event["meta"] = rng.choice([{}, {"k": 1}, {"nested": {"list": [1, None, True]}}])
        if rng.random() < 0.5:
            seqs[task_id] = seqs.get(task_id, 0) + rng.choice([-2, 1, 1, 2])
            event["seq"] = seqs[task_id]
        if rng.random() < 0.2:
            event["timestamp"] = rng.random() * 1e9
        if rng.random() < 0.2:
            event["elapsed"] = rng.choice([1.5, 2.5])
        yield event
        if rng.random() < 0.15:
            yield {"task_id": task_id, "status": "lost-mark"}  # the lifecycle marks it lost


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_sequences_give_the_same_tasks_as_the_pure_merge(make_store, seed):
    async def body():
        store, _ = await started(make_store())
        reference = MemoryStore()
        try:
            now = time.time()
            lost = Lifecycle(lost_seconds=1e-9, retention_seconds=1e9)
            for event in random_events(seed, 300):
                if event.get("status") == "lost-mark":
                    await asyncio.sleep(0.002)  # both stores now see every open task as silent
                    tick = time.time()
                    assert {*(await store.sweep(tick, lost)).tasks} == {*(await reference.sweep(tick, lost)).tasks}
                    continue
                now = time.time()
                applied = await store.apply([event], now)
                assert applied == await reference.apply([event], now), event
            assert strip(await store.tasks(now=now)) == strip(await reference.tasks(now=now))
        finally:
            await store.close()

    run(body())
