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

from progressista.protocol.statuses import FINAL
from progressista.protocol.task import BOOKKEEPING, MAX_SEQ
from progressista.server.store import Change, MemoryStore, TooManyNewTasks, TooManyTasks
from progressista.server.store_json import JsonFile
from progressista.server.tasks import Lifecycle, count_by_status

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


async def assert_counts(store):
    """The counts a store keeps as it goes (what /health reads) are those of its tasks."""
    assert await store.counts() == count_by_status((await store.tasks(now=time.time())).values())


def run_on(store, check):
    """Run ``await check(store, recorder)`` on the started store, then close it."""

    async def body():
        recorder = Recorder()
        store.on_change = recorder
        await store.start()
        try:
            await check(store, recorder)
        finally:
            await store.close()

    run(body())


@pytest.fixture
def use_store(make_store):
    """``use_store(check, **options)``: :func:`run_on` a store of the parametrised kind."""
    return lambda check, **options: run_on(make_store(**options), check)


def test_merge_rules(use_store):
    async def check(store, _):
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

    use_store(check)


def test_changes_are_reported_with_the_new_state(use_store):
    async def check(store, recorder):
        await store.apply([{"task_id": "t", "n": 1}, {"task_id": "u", "n": 2}], time.time())
        await recorder.wait_for(lambda c: c.tasks.get("t", {}).get("n") == 1 and "u" in c.tasks)
        assert await store.remove(["t", "missing"]) == ["t"]
        await recorder.wait_for(lambda c: c.removed == ["t"])
        assert set(await store.tasks(now=time.time())) == {"u"}

    use_store(check)


def test_filters_and_bulk_removal(use_store):
    async def check(store, _):
        now = time.time()
        await store.apply(
            [
                {"task_id": "run", "status": "update"},
                {"task_id": "ok", "status": "close"},
                {"task_id": "bad", "status": "error"},
            ],
            now,
        )
        assert set(await store.tasks(frozenset({"close", "error"}), now=now)) == {"ok", "bad"}
        assert await store.tasks(None, older_than=60, now=now) == {}
        assert set(await store.tasks(None, older_than=60, now=now + 120)) == {"run", "ok", "bad"}
        assert await store.counts() == {"update": 1, "close": 1, "error": 1}
        removed = await store.remove_matching(frozenset({"close", "error"}), None, now=now)
        assert sorted(removed) == ["bad", "ok"]
        assert set(await store.tasks(now=now)) == {"run"}
        assert await store.counts() == {"update": 1}
        assert await store.remove(["run", "never"]) == ["run"]
        assert await store.counts() == {}

    use_store(check)


def test_cap_evicts_oldest_completed_then_refuses_whole_requests(use_store):
    async def check(store, _):
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

    use_store(check, max_tasks=3)


def test_cap_never_evicts_a_task_the_request_names(use_store):
    """Found by tests/test_reliability_merge.py: evicting a completed task that the same request
    then names brought it back, over the cap, and a late update reopened a closed task."""

    async def check(store, _):
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

    use_store(check, max_tasks=2)


def test_cap_evicts_lost_tasks_longest_silent_first_after_completed_ones(use_store):
    """Found by the adversarial pass (issue 23): lost tasks were never evicted, so a cap filled
    with bars that died (or with one POST of made-up ids) refused every new task for a day."""

    async def check(store, _):
        await store.apply([{"task_id": "lost-a"}], time.time())
        await store.apply([{"task_id": "lost-b"}], time.time())
        await store.apply([{"task_id": "done", "status": "close"}], time.time())
        await asyncio.sleep(0.6)
        await store.apply([{"task_id": "busy"}], time.time())
        marked = await store.sweep(time.time(), Lifecycle(lost_seconds=0.5, retention_seconds=3600))
        assert sorted(marked.tasks) == ["lost-a", "lost-b"]
        await store.apply([{"task_id": "new-1"}], time.time())  # a completed task goes first
        assert set(await store.tasks(now=time.time())) == {"lost-a", "lost-b", "busy", "new-1"}
        await store.apply([{"task_id": "new-2"}], time.time())  # then the longest silent lost one
        assert set(await store.tasks(now=time.time())) == {"lost-b", "busy", "new-1", "new-2"}
        # lost-b is named, so kept (its event revives it); nothing else may go: refused whole.
        with pytest.raises(TooManyTasks, match="max_tasks=4"):
            await store.apply([{"task_id": "lost-b"}, {"task_id": "new-3"}], time.time())
        assert (await store.tasks(now=time.time()))["lost-b"]["status"] == "lost"
        await store.apply([{"task_id": "new-3"}], time.time())
        assert set(await store.tasks(now=time.time())) == {"busy", "new-1", "new-2", "new-3"}
        # The negative control: open tasks are never evicted.
        with pytest.raises(TooManyTasks):
            await store.apply([{"task_id": "new-4"}], time.time())

    use_store(check, max_tasks=4)


def test_one_request_may_create_only_a_share_of_the_cap(use_store):
    async def check(store, _):
        now = time.time()
        with pytest.raises(TooManyNewTasks, match=r"at most 200 new tasks \(a tenth of max_tasks=2000, at least 100"):
            await store.apply([{"task_id": f"t{k}"} for k in range(201)], now)
        assert await store.tasks(now=now) == {}  # refused whole
        assert await store.apply([{"task_id": f"t{k}"} for k in range(200)], now) == 200
        # Only new ids count: updates of known tasks, and an id named twice, do not.
        batch = [{"task_id": f"t{k}", "n": 1} for k in range(200)] + [{"task_id": "x"}, {"task_id": "x"}]
        await store.apply(batch, now)
        assert len(await store.tasks(now=now)) == 201

    use_store(check, max_tasks=2000)


def test_seq_up_to_its_bound_orders_alike_in_both_stores(use_store):
    """Redis compares seq as doubles, exact up to MAX_SEQ (2**53 - 1); ingest refuses larger ones."""

    async def check(store, _):
        now = time.time()
        await store.apply([{"task_id": "a", "n": 1, "seq": MAX_SEQ - 1}], now)
        assert await store.apply([{"task_id": "a", "n": 2, "seq": MAX_SEQ}], now) == 1
        assert await store.apply([{"task_id": "a", "n": 3, "seq": MAX_SEQ - 1}], now) == 0  # older: ignored
        task = (await store.tasks(now=now))["a"]
        assert (task["n"], task["seq"]) == (2, MAX_SEQ)

    use_store(check)


def test_sweep_marks_stale_and_lost_and_expires(use_store):
    async def check(store, recorder):
        now = time.time()
        await store.apply(
            [{"task_id": "idle", "n": 1}, {"task_id": "silent"}, {"task_id": "done", "status": "close"}], now
        )
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
        assert await store.counts() == {"stale": 1, "lost": 1}
        assert await store.apply([{"task_id": "silent"}], beat) == 1  # a contact revives lost
        assert await store.apply([{"task_id": "idle", "n": 1}], beat) == 0  # but not stale
        assert await store.apply([{"task_id": "idle", "n": 2}], beat) == 1  # progress does
        tasks = await store.tasks(now=beat)
        assert (tasks["silent"]["status"], tasks["idle"]["status"]) == ("update", "update")
        assert await store.counts() == {"update": 2}

    use_store(check)


def test_redis_pass_skips_tasks_heard_from_since_it_looked(redis_server):
    """The race a shared store has: a heartbeat lands between a pass's read and its write."""
    from progressista.server.store_redis import RedisStore

    async def check(store, _):
        await store.apply([{"task_id": "t"}], time.time())
        seen_by_the_pass = (await store.tasks(now=time.time()))["t"]["seen_at"]
        await asyncio.sleep(0.01)
        await store.apply([{"task_id": "t"}], time.time())  # the heartbeat
        # What the pass would now write, with what it read: refused.
        assert await store._remove_or_mark([store.prefix, "l", "t", json.dumps(seen_by_the_pass)]) == ([], [])
        assert await store._remove_or_mark([store.prefix, "x", "t", json.dumps(seen_by_the_pass)]) == ([], [])
        assert (await store.tasks(now=time.time()))["t"]["status"] == "update"

    run_on(RedisStore(redis_server.url, f"race-{uuid.uuid4().hex[:8]}:"), check)


def test_redis_writes_take_half_of_the_clients_when_the_server_is_the_busier(redis_server):
    """A near Redis and a busy server: once the server's time for each client between writes (its CPU, here
    burnt on purpose as answering them would) outlasts a write's round trip, a write takes half of the
    clients (``in_halves``), and the half left waiting is written without another request arriving. Every
    request is answered with its events applied, and they are all in Redis."""
    from progressista.server.store_redis import RedisStore

    clients, events = 20, 1000

    def request(client: int, n: int) -> list[dict]:
        return [{"task_id": f"c{client}-t{i}", "n": n} for i in range(events)]

    def busy(seconds: float) -> None:
        until = time.process_time() + seconds
        while time.process_time() < until:
            pass

    async def check(store, _):
        async def round_of(n: int) -> tuple[list[int], int]:
            before = store.commits
            answers = await asyncio.wait_for(
                asyncio.gather(*(store.apply(request(c, n), time.time()) for c in range(clients))), 60
            )
            return answers, store.commits - before

        first, first_writes = await round_of(1)  # nothing known yet: every client in one write
        busy(0.3)  # 15 ms a client before they post again, where a write's round trip takes a few
        second, second_writes = await round_of(2)
        assert first == second == [events] * clients
        assert (first_writes, second_writes) == (1, 2)
        tasks = await store.tasks(now=time.time())
        assert len(tasks) == clients * events and {task["n"] for task in tasks.values()} == {2}

    run_on(RedisStore(redis_server.url, f"halves-{uuid.uuid4().hex[:8]}:", max_tasks=100_000), check)


def test_redis_indexes_lost_tasks_a_server_without_the_index_marked(redis_server):
    """Tasks marked lost before ``<prefix>lost`` (or ``<prefix>counts``) existed are indexed at start,
    so the cap can evict them (and /health counts them)."""
    import redis as redis_py

    from progressista.server.store_redis import RedisStore

    prefix = f"index-{uuid.uuid4().hex[:8]}:"

    async def mark_lost_then_forget_the_index(store, _):
        await store.apply([{"task_id": "a"}, {"task_id": "b"}], time.time())
        await asyncio.sleep(0.02)
        assert len((await store.sweep(time.time(), Lifecycle(lost_seconds=0.01))).tasks) == 2
        with redis_py.Redis.from_url(redis_server.url) as client:
            client.delete(prefix + "lost", prefix + "counts")  # as a server from before the indexes left it
            client.hset(prefix + "counts", "close", 7)  # and a count gone wrong
        with pytest.raises(TooManyTasks):  # the negative control: unindexed, they hold the cap
            await store.apply([{"task_id": "c"}], time.time())

    async def evict_after_a_restart(store, _):
        assert await store.counts() == {"lost": 2}
        await store.apply([{"task_id": "c"}], time.time())
        assert await store.counts() == {"lost": 1, "update": 1}
        assert set(await store.tasks(now=time.time())) == {"b", "c"}

    run_on(RedisStore(redis_server.url, prefix, max_tasks=2), mark_lost_then_forget_the_index)
    run_on(RedisStore(redis_server.url, prefix, max_tasks=2), evict_after_a_restart)


@pytest.mark.parametrize("field", [*sorted(BOOKKEEPING), "desc"])
def test_only_a_change_outside_bookkeeping_is_progress(use_store, field):
    """Both merges (Python, and Lua rendered from the same set) read protocol.task.BOOKKEEPING."""
    values = {"timestamp": 2.0, "seq": 5, "elapsed": 3.5, "rate": 1.25, "desc": "moved"}

    async def check(store, _):
        await store.apply([{"task_id": "t", "status": "start"}], time.time())
        before = (await store.tasks(now=time.time()))["t"]
        await asyncio.sleep(0.002)  # a later clock reading (Redis stores read their own)
        applied = await store.apply([{"task_id": "t", field: values[field]}], time.time())
        task = (await store.tasks(now=time.time()))["t"]
        assert task[field] == values[field]  # stored either way
        assert applied == (field not in BOOKKEEPING)
        assert (task["updated_at"] != before["updated_at"]) == (field not in BOOKKEEPING)
        assert task["seen_at"] != before["seen_at"]  # contact, either way

    use_store(check)


def test_rendered_scripts_name_the_contracts_sets():
    from progressista.server.lua_scripts import json_texts, lua_script, render

    merge = lua_script("merge.lua", FINAL=json_texts(FINAL), BOOKKEEPING=BOOKKEEPING)
    assert "--[[" not in merge
    assert all(f"['{name}'] = true" in merge for name in BOOKKEEPING)
    with pytest.raises(RuntimeError, match="nothing given for --\\[\\[FINAL\\]\\]"):
        lua_script("merge.lua", BOOKKEEPING=BOOKKEEPING)
    with pytest.raises(RuntimeError, match="no placeholder for EXTRA"):
        render("local A = { --[[A]] }", "a.lua", A=["x"], EXTRA=["y"])


def test_saves_go_on_after_the_first_and_close_saves_the_last_state(tmp_path):
    """On Python 3.10 ``asyncio.wait_for`` raises ``asyncio.TimeoutError``, not the builtin one: the
    save loop died after its first save, and ``close`` raised it before the final save."""

    def saved_n(path):
        return json.loads(path.read_text())["tasks"]["t"]["n"] if path.exists() else None

    async def check(store, _):
        for n in (1, 2, 3):
            await store.apply([{"task_id": "t", "n": n}], time.time())
            deadline = time.monotonic() + 5
            while saved_n(path) != n:
                assert time.monotonic() < deadline, f"save {n} never happened"
                await asyncio.sleep(0.005)
        await store.apply([{"task_id": "t", "n": 4}], time.time())

    path = tmp_path / "state.json"
    run_on(MemoryStore(file=JsonFile(path), save_interval=0.01), check)
    assert saved_n(path) == 4


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
            event["desc"] = rng.choice(["x", "y", 'é ✓ "quoted"', ""])
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
def test_random_sequences_give_the_same_tasks_as_the_pure_merge(use_store, seed):
    async def check(store, _):
        reference = MemoryStore()
        now = time.time()
        lost = Lifecycle(lost_seconds=1e-9, retention_seconds=1e9)
        for event in random_events(seed, 300):
            if event.get("status") == "lost-mark":
                await asyncio.sleep(0.002)  # both stores now see every open task as silent
                tick = time.time()
                assert {*(await store.sweep(tick, lost)).tasks} == {*(await reference.sweep(tick, lost)).tasks}
                await assert_counts(store)
                continue
            now = time.time()
            applied = await store.apply([event], now)
            assert applied == await reference.apply([event], now), event
            await assert_counts(store)
        assert strip(await store.tasks(now=now)) == strip(await reference.tasks(now=now))

    use_store(check)


@pytest.mark.parametrize("seed", [4, 5])
def test_random_sequences_at_a_small_cap_evict_alike(use_store, seed):
    """The cap's choices (completed, then lost tasks; refusals) are the same in Lua and in tasks.evictions."""

    async def check(store, _):
        reference = MemoryStore(max_tasks=3)
        now = time.time()
        lost = Lifecycle(lost_seconds=1e-9, retention_seconds=1e9)
        for event in random_events(seed, 300):
            if event.get("status") == "lost-mark":
                await asyncio.sleep(0.002)
                tick = time.time()
                assert {*(await store.sweep(tick, lost)).tasks} == {*(await reference.sweep(tick, lost)).tasks}
                await assert_counts(store)
                continue
            now = time.time()
            outcomes = []
            for target in (store, reference):
                try:
                    outcomes.append(await target.apply([event], now))
                except TooManyTasks:
                    outcomes.append("refused")
            assert outcomes[0] == outcomes[1], event
            assert strip(await store.tasks(now=now)) == strip(await reference.tasks(now=now)), event
            await assert_counts(store)

    use_store(check, max_tasks=3)
