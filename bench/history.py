"""History benchmark: ingest with history on vs off, and ``GET /history?key=`` with 100,000 runs kept.

Run: ``python bench/history.py [--seconds 3] [--rounds 5] [--rows 100000] [--requests 300]``
(needs Debian's ``wrk`` and ``redis-server``).

Ingest: two servers (one uvicorn process each, memory task store), the same
but for history: one with ``PROGRESSISTA_HISTORY_PATH`` (SQLite), one without.
``wrk`` (one thread, 16 connections) posts arrays of 100 events in which 20
tasks each start, move three times and close, so every POST ends 20 runs and
the recorder writes rows all the time (past ``history_max`` the oldest go too,
as in a server that has run for a while); closed tasks are purged after 1 s
(``retention_seconds``), so the task store stays under ``max_tasks``. Alternating rounds (the order
swapped each round) give per-round ratios, on over off, of events a second
and of the server's CPU a POST (all its threads, ``/proc``); the figure is
their median with the lowest and highest; and, 2 s after each round (the
recorder writes every 0.5 s), the runs that round left in the history over the
runs it posted (at most ``history_max``: a fast round posts more than the history keeps): the recorder
drops its oldest past ``MAX_WAITING`` (50,000) waiting. Then the same with the Redis task
store, where history is always in Redis: the "off" server is the same app with
history forced off (:func:`app_without_history`). Goal: >= 0.9x.

Reading: a SQLite history file is filled with ``--rows`` runs over 1,000 keys
(100 runs a key, through :class:`SqliteHistory` itself), a server started on
it, and ``--requests`` ``GET /history?key=K`` (random keys, the default limit
of 100, so every answer has 100 runs) timed one after another from one
client: p50 / p99, goal p99 <= 20 ms, beside ``GET /health`` on the same
server. The same for Redis (filled with ``RedisHistory.add``). The server's
start time (process start to the first ``/health`` answer; it loads every
key's usual duration) with that history and with an empty one: the median of
alternating starts.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack, closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import Row, cpu_seconds, options, percentile, print_table, run_wrk, server  # noqa: E402
from scale_out import redis_server  # noqa: E402

if TYPE_CHECKING:
    from fastapi import FastAPI

CONNECTIONS = 16
TASKS_PER_POST = 20  # each: start, 3 updates, close = 5 events
EVENTS_PER_POST = TASKS_PER_POST * 5
KEYS = 1000
INGEST_TARGET = 0.9
#: The servers' history_max (the default): runs kept at most, the oldest dropped first.
HISTORY_MAX = 100_000
P99_TARGET_MS = 20.0
# Closed tasks purged within about 2 s, so the task store stays under its cap: at the cap the memory store
# scans every task for each new one (tasks.evictions), which would be the figure instead of history.
SETTINGS = {
    "PROGRESSISTA_MAX_TASKS": "100000",
    "PROGRESSISTA_RETENTION_SECONDS": "1",
    "PROGRESSISTA_CLEANUP_INTERVAL": "1",
    "PROGRESSISTA_HISTORY_MAX": str(HISTORY_MAX),  # the default, said here: the "kept" figure relies on it
}

# ``PREFIX`` is filled in per round, so every round's tasks are new (a run is a task's first start to
# its close). The task ids carry a run counter in their group, so the keys are ``hist:step0`` ...
# ``hist:step999``, as a real job's tasks keep their key from one run to the next.
LUA = """
local batch = 0
request = function()
  batch = batch + 1
  local parts = {}
  for t = 0, TASKS - 1 do
    local id = string.format('hist-PREFIX-%d:step%d', batch, (batch * TASKS + t) % KEYS)
    local head = '{"task_id":"' .. id .. '","total":4,"desc":"Step","unit":"it","seq":'
    parts[#parts + 1] = head .. '1,"status":"start","n":0}'
    for n = 1, 3 do
      parts[#parts + 1] = head .. (n + 1) .. ',"status":"update","n":' .. n .. ',"elapsed":' .. n .. '}'
    end
    parts[#parts + 1] = head .. '5,"status":"close","n":4,"elapsed":4}'
  end
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, "[" .. table.concat(parts, ",") .. "]")
end
"""


def app_without_history() -> FastAPI:
    """The Progressista app with history off whatever the settings: with ``redis_url`` there is no setting for it."""
    import progressista.server.app as app_module

    app_module.build_history = lambda settings: None  # type: ignore[assignment]
    return app_module.create_app()


def _lua(prefix: str) -> str:
    return LUA.replace("PREFIX", prefix).replace("TASKS", str(TASKS_PER_POST)).replace("KEYS", str(KEYS))


def wrk(url: str, lua: str, seconds: int) -> tuple[float, int]:
    """Requests a second and requests answered, as wrk measured them."""
    out = run_wrk(url, lua, seconds, CONNECTIONS)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    assert rps and total, out
    return float(rps.group(1)), int(total.group(1))


def sqlite_counter(path: Path) -> Callable[[float, float], int]:
    """Runs in the SQLite file that ended between two times."""

    def count(began: float, ended: float) -> int:
        with closing(sqlite3.connect(path)) as db:
            sql = "SELECT COUNT(*) FROM runs WHERE ended_at BETWEEN ? AND ?"
            return int(db.execute(sql, (began, ended)).fetchone()[0])

    return count


def redis_counter(url: str, prefix: str) -> Callable[[float, float], int]:
    """Runs in the Redis history under ``prefix`` that ended between two times."""

    def count(began: float, ended: float) -> int:
        import redis

        client = redis.Redis.from_url(url)
        try:
            return int(client.zcount(prefix + "history:time", began, ended))
        finally:
            client.close()

    return count


def _spread(values: list[float]) -> tuple[float, float, float]:
    return min(values), statistics.median(values), max(values)


# -- ingest, history on vs off -------------------------------------------------------------


def measure_ingest(
    on: dict[str, Any], off: dict[str, Any], recorded: Callable[[float, float], int], seconds: int, rounds: int
) -> dict[str, list[float]]:
    """Per round: events/s and server CPU seconds a POST of the ``on`` and ``off`` servers (``server()`` kwargs),
    and of the ``on`` server the runs ``recorded`` over the runs posted, or over :data:`HISTORY_MAX` when a
    round posts more (wrk counts the requests answered; the up to 16 in flight when it stops are recorded
    too, so a ratio a little over 1 is all kept)."""
    if not shutil.which("wrk"):
        raise RuntimeError("wrk is not installed (Debian: apt-get install wrk)")
    found: dict[str, list[float]] = {"on": [], "off": [], "on_cpu": [], "off_cpu": [], "kept": []}
    with ExitStack() as stack:
        live = {"on": stack.enter_context(server(**on)), "off": stack.enter_context(server(**off))}
        for name, one in live.items():
            wrk(one.url + "/progress", _lua(f"warm{name}"), 1)
        for i in range(rounds):
            for name in ("on", "off") if i % 2 == 0 else ("off", "on"):
                began, cpu = time.time(), cpu_seconds(live[name].pid)
                rps, answered = wrk(live[name].url + "/progress", _lua(f"r{i}"), seconds)
                found[name].append(rps * EVENTS_PER_POST)
                found[name + "_cpu"].append((cpu_seconds(live[name].pid) - cpu) / answered)
                if name == "on":
                    ended = time.time()
                    time.sleep(2)  # the recorder writes every 0.5 s; give it time to catch up
                    # Past history_max the oldest go (by design): a round that posts more than it keeps only that.
                    keepable = min(answered * TASKS_PER_POST, HISTORY_MAX)
                    found["kept"].append(recorded(began, ended + 1) / keepable)
        for name, one in live.items():
            body = requests.get(one.url + "/history", params={"limit": 1}, timeout=30).json()
            found[name + "_recorded"] = [float(bool(body["runs"]))]
    if not found["on_recorded"][0] or found["off_recorded"][0]:
        raise RuntimeError(f"history was not on and off as meant: {found}")
    return found


def ingest_rows(label: str, found: dict[str, list[float]], rounds: int) -> list[Row]:
    rps = sorted(a / b for a, b in zip(found["on"], found["off"], strict=True))
    cpu = sorted(a / b for a, b in zip(found["on_cpu"], found["off_cpu"], strict=True))
    low, mid, high = _spread(rps)
    spread = f"median, range of {rounds}"
    return [
        Row(
            f"history: ingest, {label}, every task starts and closes ({spread})",
            f"{statistics.median(found['on']):,.0f} events/s (ratios {low:.2f}-{high:.2f}x)",
            f"history off {statistics.median(found['off']):,.0f} events/s",
            mid,
            f">= {INGEST_TARGET:.2f}x",
            mid >= INGEST_TARGET,
        ),
        Row(
            f"history: the same, server CPU a POST of {EVENTS_PER_POST} events, every thread ({spread})",
            f"{statistics.median(found['on_cpu']) * 1e3:.2f} ms (ratios {cpu[0]:.2f}-{cpu[-1]:.2f}x)",
            f"history off {statistics.median(found['off_cpu']) * 1e3:.2f} ms",
            statistics.median(cpu),
        ),
        Row(
            f"history: the same, runs recorded / runs posted (at most history_max), worst round of {rounds}",
            f"{min(found['kept']):.3f} (median {statistics.median(found['kept']):.3f})",
            "every run: >= 1.000",
            None,
            ">= 0.999",
            min(found["kept"]) >= 0.999,
        ),
    ]


# -- reading 100,000 runs ------------------------------------------------------------------


def history_rows(count: int, keys: int = KEYS) -> list[dict[str, Any]]:
    """``count`` runs over ``keys`` keys (``nightly:stepK``), one run of each key every 6 hours, 1 in 20 an error."""
    from progressista.server.history.rows import row_of

    rng = random.Random(18)
    now = time.time()
    runs = count // keys
    found = []
    for i in range(count):
        run, step = divmod(i, keys)
        created = now - (runs - run) * 6 * 3600
        status = "error" if rng.random() < 0.05 else "close"
        task = {
            "status": status,
            "created_at": created,
            "updated_at": created + rng.uniform(60, 3600),
            "n": 1000,
            "total": 1000,
            "unit": "rows",
            "desc": f"Step {step}",
            "host": "worker-3",
            "pid": 4000 + step,
            "meta": {"error": "RuntimeError: bench"} if status == "error" else {"shard": step % 8},
        }
        found.append(row_of(f"nightly-{run}:step{step}", task))
    return found


def fill_sqlite(path: Path, rows: list[dict[str, Any]]) -> None:
    from progressista.server.history.sqlite import SqliteHistory

    async def fill() -> None:
        store = SqliteHistory(path, max_rows=max(len(rows), 100))
        await store.start()
        await store.add(rows)
        await store.close()

    asyncio.run(fill())


def fill_redis(url: str, prefix: str, rows: list[dict[str, Any]]) -> None:
    from progressista.server.history.redis import RedisHistory

    async def fill() -> None:
        store = RedisHistory(url, prefix, timeout=30, max_rows=max(len(rows), 100))
        await store.start()
        for start in range(0, len(rows), 1000):
            await store.add(rows[start : start + 1000])
        await store.close()

    asyncio.run(fill())


def latencies(url: str, path: str, params: Callable[[], dict[str, Any]], count: int) -> list[float]:
    """Seconds each of ``count`` sequential GETs took (after 20 not counted)."""
    found = []
    with requests.Session() as http:
        for i in range(count + 20):
            began = time.perf_counter()
            response = http.get(url + path, params=params(), timeout=30)
            took = time.perf_counter() - began
            response.raise_for_status()
            if i >= 20:
                found.append(took)
    return found


def read_figures(settings: dict[str, str], count: int, rows: int) -> dict[str, float]:
    """p50/p99 (ms) of ``GET /history?key=`` and of ``GET /health`` on a server with ``settings``."""
    rng = random.Random(7)
    with server(**{**SETTINGS, **settings}) as live:
        sample = requests.get(live.url + "/history", params={"key": "nightly:step0"}, timeout=30).json()
        expected = min(100, rows // KEYS)
        if len(sample["runs"]) != expected or "nightly:step0" not in sample["usual"]:
            raise RuntimeError(f"the history was not as filled: {len(sample['runs'])} runs, {sample['usual']}")
        history = latencies(live.url, "/history", lambda: {"key": f"nightly:step{rng.randrange(KEYS)}"}, count)
        health = latencies(live.url, "/health", dict, count)
    return {
        "p50": percentile(history, 0.5) * 1e3,
        "p99": percentile(history, 0.99) * 1e3,
        "health_p50": percentile(health, 0.5) * 1e3,
        "health_p99": percentile(health, 0.99) * 1e3,
    }


def start_seconds(full: dict[str, str], empty: dict[str, str], repeat: int) -> tuple[float, float]:
    """Median seconds from process start to the first ``/health`` answer, with the full and the empty history."""
    times: dict[str, list[float]] = {"full": [], "empty": []}
    for i in range(repeat):
        for name in ("full", "empty") if i % 2 == 0 else ("empty", "full"):
            began = time.perf_counter()
            with server(**{**SETTINGS, **(full if name == "full" else empty)}):
                times[name].append(time.perf_counter() - began)
    return statistics.median(times["full"]), statistics.median(times["empty"])


def read_rows(label: str, figures: dict[str, float], rows: int, count: int, starts: tuple[float, float]) -> list[Row]:
    return [
        Row(
            f"history: GET /history?key= ({min(100, rows // KEYS)} runs each), {rows:,} in {label}, p99 of {count}",
            f"{figures['p99']:.2f} ms (p50 {figures['p50']:.2f} ms)",
            f"GET /health {figures['health_p99']:.2f} ms (p50 {figures['health_p50']:.2f} ms)",
            figures["p99"] / figures["health_p99"],
            f"<= {P99_TARGET_MS:.0f} ms",
            figures["p99"] <= P99_TARGET_MS,
        ),
        Row(
            f"history: server start to first /health, {rows:,} runs in {label} (median)",
            f"{starts[0] * 1e3:.0f} ms",
            f"empty history {starts[1] * 1e3:.0f} ms",
            starts[0] / starts[1],
        ),
    ]


# -- the run -------------------------------------------------------------------------------


def run(seconds: int = 3, rounds: int = 5, rows: int = 100_000, requests_: int = 300, starts: int = 5) -> list[Row]:
    table: list[Row] = []
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="progressista-bench-history-")))

        # SQLite history beside the memory task store.
        ingest_file = folder / "ingest.sqlite"
        on = {**SETTINGS, "PROGRESSISTA_HISTORY_PATH": str(ingest_file)}
        found = measure_ingest(on, dict(SETTINGS), sqlite_counter(ingest_file), seconds, rounds)
        table += ingest_rows("SQLite history", found, rounds)

        # Redis task store, history in Redis (off: the same app with history forced off).
        redis_url = stack.enter_context(redis_server())
        redis = {**SETTINGS, "PROGRESSISTA_REDIS_URL": redis_url}
        found = measure_ingest(
            {**redis, "PROGRESSISTA_REDIS_PREFIX": "on:"},
            {
                **redis,
                "PROGRESSISTA_REDIS_PREFIX": "off:",
                "app": "history:app_without_history",
                "pythonpath": str(HERE),
            },
            redis_counter(redis_url, "on:"),
            seconds,
            rounds,
        )
        table += ingest_rows("Redis store and history", found, rounds)

        # Reading: the history filled, then served.
        made = history_rows(rows)
        full_file, empty_file = folder / "full.sqlite", folder / "empty.sqlite"
        fill_sqlite(full_file, made)
        fill_sqlite(empty_file, [])
        full = {"PROGRESSISTA_HISTORY_PATH": str(full_file)}
        figures = read_figures(full, requests_, rows)
        began = start_seconds(full, {"PROGRESSISTA_HISTORY_PATH": str(empty_file)}, starts)
        table += read_rows("SQLite", figures, rows, requests_, began)

        fill_redis(redis_url, "full:", made)
        full = {**redis, "PROGRESSISTA_REDIS_PREFIX": "full:"}
        figures = read_figures(full, requests_, rows)
        began = start_seconds(full, {**redis, "PROGRESSISTA_REDIS_PREFIX": "empty:"}, starts)
        table += read_rows("Redis", figures, rows, requests_, began)
    return table


def main() -> None:
    args = options(__doc__, seconds=3, rounds=5, rows=100_000, requests=300, starts=5)
    print_table(run(args.seconds, args.rounds, args.rows, args.requests, args.starts))
    print(
        f"(wrk -t1 -c{CONNECTIONS}, {EVENTS_PER_POST} events a POST ({TASKS_PER_POST} runs), {args.seconds} s a "
        f"round, alternating; {os.cpu_count()} CPUs shared by the servers, redis-server and wrk)"
    )


if __name__ == "__main__":
    main()
