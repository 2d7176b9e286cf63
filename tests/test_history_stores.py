"""The history's parts under the server: rows built in batches, the SQLite store's batched writes and its group
range, the recorder's queue. A real SQLite file each, driven through the classes themselves.
"""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path

import pytest

from progressista.protocol.groups import group_of
from progressista.protocol.history import task_key
from progressista.server.history.recorder import History
from progressista.server.history.redis import RedisHistory
from progressista.server.history.rows import Keys, Query, row_of
from progressista.server.history.sqlite import SqliteHistory
from progressista.server.store import Change

pytestmark = pytest.mark.timeout(60)

# An hour ago: the recorder drops runs older than its 30 days as it starts.
NOW = time.time() - 3600


def closed(task_id: str, created: float, took: float = 10.0, **fields):
    return {"status": "close", "created_at": created, "updated_at": created + took, "n": 10, "total": 10, **fields}


def rows(count: int, group: str = "nightly-1", start: float = 1000.0):
    return [row_of(f"{group}:step{i}", closed(f"{group}:step{i}", start + i)) for i in range(count)]


def run(coro):
    return asyncio.run(coro)


async def stored(path, max_rows: int = 100_000, *batches):
    store = SqliteHistory(path, max_rows=max_rows)
    await store.start()
    try:
        for batch in batches:
            await store.add(batch)
    finally:
        await store.close()


def count(path) -> int:
    with closing(sqlite3.connect(path)) as db:
        return int(db.execute("SELECT COUNT(*) FROM runs").fetchone()[0])


def test_keys_remembered_by_group_are_task_key_exactly():
    keys, rng = Keys(), random.Random(18)
    ids = ["nightly-2026-12-01:load", "nightly-2026-12-02:load", "train-1203-9f3a:rank-0", "solo-7", ":x", "a:"]
    ids += ["x-1" * 84 + ":yz", "x-1" * 85 + ":y", "é-²:load"]  # around the 256-character cut, odd digits
    ids += ["".join(rng.choice("ab-1:9") for _ in range(rng.randrange(1, 12))) for _ in range(2000)]
    for task_id in ids:
        for meta in ({}, {"key": "etl:load"}, {"key": "  "}, {"key": 3}):
            assert keys.of(task_id, meta, group_of(task_id)) == task_key(task_id, meta), (task_id, meta)


def test_a_row_built_with_keys_is_the_row_built_without():
    keys = Keys()
    created = 1765000000.25
    for task_id in ("nightly-1:load", "nightly-1:parse", "solo", "nightly-2:load"):
        task = closed(task_id, created, meta={"shard": 1}, desc="Load", host="w1", pid=4)
        assert row_of(task_id, task, None, keys) == row_of(task_id, task)
    lost = {**closed("etl-1:x", 5.0), "status": "lost", "seen_at": 7.0}
    assert row_of("etl-1:x", lost, "lost", keys) == row_of("etl-1:x", lost, "lost")
    assert row_of("etl-1:x", {**lost, "created_at": 5}, "lost", keys)["id"] == "etl-1:x@5"  # not "5.0"


def test_a_batch_of_any_size_is_written_whole_and_each_row_once(tmp_path):
    path = tmp_path / "history.sqlite"
    made = rows(512 + 64 + 8 + 3)  # every statement size, and a remainder
    again = made[:5] + made[:5]  # twice in one batch, and already kept
    run(stored(path, 100_000, made, again, []))
    assert count(path) == len(made)

    async def read():
        store = SqliteHistory(path)
        await store.start()
        try:
            return await store.query(Query(key="nightly:step7")), await store.query(Query(limit=3))
        finally:
            await store.close()

    by_key, newest = run(read())
    assert by_key == [made[7]]
    assert [row["task_id"] for row in newest] == ["nightly-1:step586", "nightly-1:step585", "nightly-1:step584"]


def test_past_the_cap_the_oldest_runs_go(tmp_path):
    path = tmp_path / "history.sqlite"
    made = rows(250)
    run(stored(path, 100, made[:90], made[90:200], made[200:]))
    with closing(sqlite3.connect(path)) as db:
        left = [task_id for (task_id,) in db.execute("SELECT task_id FROM runs ORDER BY ended_at")]
    assert left == [row["task_id"] for row in made[150:]]


def test_a_group_is_the_runs_whose_task_id_starts_with_it_and_only_those(tmp_path):
    path = tmp_path / "history.sqlite"
    ids = ["etl-1:load", "etl-1:parse", "etl-10:load", "etl-1", "etl-1:", "etl-1;x:load", "etl-0:load"]
    made = [row_of(task_id, closed(task_id, 100.0 + i)) for i, task_id in enumerate(ids)]

    async def groups():
        store = SqliteHistory(path)
        await store.start()
        try:
            await store.add(made)
            asked = ("etl-1", "etl-10", "etl", "etl-1;x")
            found = {group: [row["task_id"] for row in await store.query(Query(group=group))] for group in asked}
            found["closed etl-1:load"] = [
                row["task_id"] for row in await store.query(Query(key="etl:load", group="etl-1"))
            ]
            return found
        finally:
            await store.close()

    assert run(groups()) == {
        "etl-1": ["etl-1:parse", "etl-1:load"],  # newest first; not etl-10's, not "etl-1" nor "etl-1:" (no group)
        "etl-10": ["etl-10:load"],
        "etl": [],
        "etl-1;x": ["etl-1;x:load"],
        "closed etl-1:load": ["etl-1:load"],
    }


def test_a_file_made_with_the_group_index_loses_it_and_keeps_its_runs(tmp_path):
    path = tmp_path / "history.sqlite"
    run(stored(path, 100_000, rows(3)))
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE INDEX runs_by_group ON runs (grp, ended_at)")  # as files made before had it
    run(stored(path, 100_000, rows(2, group="nightly-2")))
    with closing(sqlite3.connect(path)) as db:
        indexes = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "runs_by_group" not in indexes and {"runs_by_key", "runs_by_time"} <= indexes
    assert count(path) == 5


# Text a row may hold: quotes, backslashes, a newline (the Redis batch is one row a line), non-ASCII, none;
# and a number past 64 bits. (Not a lone surrogate: ingest refuses one, as JSON's UTF-8 does.)
AWKWARD = ['quote " and \\ back', "two\nlines", "naïve 東京 \u2028 \U0001f600", ""]


def awkward_rows() -> list[dict]:
    made = []
    for i, text in enumerate(AWKWARD):
        task = closed(f"odd-1:{text}{i}", NOW + i, desc=text, unit=text, host=text, meta={"note": text, "big": 2**70})
        made.append(row_of(f"odd-1:{text}{i}", task))
    made.append(row_of("odd-1:failed", {**closed("odd-1:failed", NOW + 9), "status": "error", "meta": {}}))
    return made


async def written_and_read(store, made: list[dict]) -> list[dict]:
    await store.start()
    try:
        await store.add(made)
        await store.add(made)  # again: each row is kept once
        return await store.query(Query(group="odd-1"))
    finally:
        await store.close()


def test_rows_with_any_text_read_back_as_written_from_sqlite(tmp_path):
    made = awkward_rows()
    found = run(written_and_read(SqliteHistory(tmp_path / "history.sqlite"), made))
    assert sorted(found, key=lambda row: row["id"]) == sorted(made, key=lambda row: row["id"])


def test_rows_with_any_text_read_back_as_written_from_redis(redis_settings):
    made = awkward_rows()

    def store() -> RedisHistory:
        return RedisHistory(redis_settings["redis_url"], redis_settings["redis_prefix"], timeout=10)

    found = run(written_and_read(store(), made))
    assert sorted(found, key=lambda row: row["id"]) == sorted(made, key=lambda row: row["id"])
    successes = run(successes_of(store()))
    assert {key: len(runs) for key, runs in successes.items()} == {row["key"]: 1 for row in made[:-1]}


async def successes_of(store: RedisHistory) -> dict:
    try:
        return await store.successes(5)
    finally:
        await store.close()


def open_files(path) -> int:
    """How many of this process's file descriptors are open on ``path``."""
    return sum(Path(f"/proc/self/fd/{fd}").resolve() == path.resolve() for fd in os.listdir("/proc/self/fd"))


def test_a_history_file_that_cannot_be_opened_leaves_nothing_open(tmp_path):
    path = tmp_path / "history.sqlite"
    path.write_bytes(b"not a database, " * 1024)
    history = History(SqliteHistory(path))
    with pytest.raises(sqlite3.DatabaseError, match="not a database"):
        run(history.start({}))
    assert open_files(path) == 0
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("progressista-history")]


def test_the_recorder_queues_on_observe_and_writes_rows_and_usual_durations_in_a_batch(tmp_path):
    path = tmp_path / "history.sqlite"

    async def record():
        history = History(SqliteHistory(path))
        gone = {**closed("etl-0:gone", NOW), "status": "lost", "seen_at": NOW + 4}
        await history.start({"etl-0:gone": gone})
        try:
            tasks = {f"etl-{i}:load": closed(f"etl-{i}:load", NOW + 100 * i, took=10.0 + i) for i in range(1, 8)}
            tasks["etl-1:open"] = {**closed("etl-1:open", NOW), "status": "update"}
            history.observe(Change(tasks=tasks, removed=["etl-0:gone", "never-seen"]))
            assert count(path) == 0  # queued: nothing built or written on observe
            runs = await history.query(Query(limit=100))  # a query writes what is queued first
            shown = history.annotate({"etl-9:load": {**closed("etl-9:load", NOW), "status": "update"}})
            return runs, history.usual_of("etl:load"), shown
        finally:
            await history.close()

    runs, usual, shown = run(record())
    assert sorted((row["task_id"], row["status"]) for row in runs) == [
        ("etl-0:gone", "lost"),
        *((f"etl-{i}:load", "close") for i in range(1, 8)),
    ]
    assert usual is not None and usual["runs"] == 5 and usual["duration"] == 15.0  # the newest five: 13 to 17
    assert shown["etl-9:load"]["usual_duration"] == 15.0
    assert count(path) == 8


def test_runs_observed_just_before_close_are_written(tmp_path):
    path = tmp_path / "history.sqlite"

    async def record():
        history = History(SqliteHistory(path))
        await history.start({})
        for i in range(3000):
            history.observe(Change(tasks={f"job-{i}:step": closed(f"job-{i}:step", NOW + i)}))
            if i % 500 == 0:
                await asyncio.sleep(0)  # the writer starts a flush now and then
        await history.close()

    run(record())
    assert count(path) == 3000
