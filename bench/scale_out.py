"""Scale-out benchmark: ingest with the memory store vs Redis, one process vs two, and
fan-out latency across processes.

Run: ``python bench/scale_out.py [--seconds 4] [--rounds 3]`` (needs Debian's ``wrk`` and ``redis-server``).

In one run, alternating rounds (the figures are medians, with the range of the rounds):
a memory-store server and a Redis-backed server (one uvicorn process each) take
POSTs from ``wrk``, one event each and arrays of 100 events each (the
baselines: the memory store on the same requests); then two Redis-backed
processes on the same Redis take the same load split over two ``wrk``
instances (the baseline: the one Redis-backed process). Also the same
Redis-backed process writing every waiting request in one write
(:func:`one_write_for_all_app`, what the store did before a write took half of
the clients when its work for them outlasts a round trip): the per-round ratio
of the two, for each kind of request. Then a WebSocket dashboard on process B
times 200 events POSTed to process A (p50/p99). Every run's events carry seqs
above the last run's (:func:`fresh`), so each changes its task, as real traffic
does: a run that began the counter again would post events the stores ignore
as late. On this 2-core machine servers, Redis and the load
generators share the CPU: the two-process figure shows contention as much as scaling.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import requests
from websockets.sync.client import connect

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import Row, free_port, options, percentile, print_table, server  # noqa: E402
from ingest import BATCH_LUA, SINGLE_LUA, fresh, wrk  # noqa: E402

APP = "progressista.server:create_app"


def one_write_for_all_app() -> Any:
    """The server writing every waiting request at once, whatever it spends on its clients (the baseline)."""
    from progressista.server import create_app, store_redis

    store_redis.in_halves = lambda clients, trip, per_client: False
    return create_app()


@contextmanager
def redis_server() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if not binary:
        raise RuntimeError("redis-server is not installed (Debian: apt-get install redis-server)")
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", folder],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        try:
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            proc.terminate()
            proc.wait(10)


def fan_out_latency(post_to: str, watch: str, count: int = 200) -> list[float]:
    latencies = []
    with (
        connect(
            "ws" + watch.removeprefix("http") + "/ws?mode=delta", open_timeout=5, max_size=None
        ) as ws,  # the snapshot of the batch runs' tasks exceeds the default 1 MiB
        requests.Session() as http,
    ):
        json.loads(ws.recv(timeout=5))
        for i in range(count):
            sent = time.perf_counter()
            http.post(post_to + "/progress", json={"task_id": "latency", "n": i + 1}, timeout=5)
            while True:
                message = json.loads(ws.recv(timeout=5))
                if message["tasks"].get("latency", {}).get("n") == i + 1:
                    break
            latencies.append(time.perf_counter() - sent)
            time.sleep(0.02)
    return latencies


def _spread(values: list[float], unit: str = "req/s") -> str:
    return f"{statistics.median(values):,.0f} {unit} ({min(values):,.0f}-{max(values):,.0f})"


def run(seconds: int = 4, connections: int = 16, rounds: int = 3) -> list[Row]:
    if not shutil.which("wrk"):
        raise RuntimeError("wrk is not installed (Debian: apt-get install wrk)")
    secs, conns = seconds, connections
    kinds = {"single": SINGLE_LUA, "batch": BATCH_LUA}
    results: dict[str, list[float]] = {f"{where} {kind}": [] for where in ("memory", "redis", "two") for kind in kinds}
    results.update({f"whole {kind}": [] for kind in kinds})
    with redis_server() as redis_url, ExitStack() as stack:
        memory = stack.enter_context(server(PROGRESSISTA_MAX_TASKS="100000")).url
        one, a, b, whole = (
            stack.enter_context(
                server(
                    app,
                    pythonpath=str(HERE),
                    PROGRESSISTA_MAX_TASKS="100000",
                    PROGRESSISTA_REDIS_URL=redis_url,
                    PROGRESSISTA_REDIS_PREFIX=prefix,
                )
            ).url
            for prefix, app in (
                ("one:", APP),
                ("two:", APP),
                ("two:", APP),
                ("whole:", "scale_out:one_write_for_all_app"),
            )
        )
        for url in (memory, one, a, b, whole):
            for lua in kinds.values():
                wrk(url + "/progress", fresh(lua), 1, conns)  # warm-up
        for i in range(rounds):
            for kind, lua in kinds.items():
                results[f"memory {kind}"].append(wrk(memory + "/progress", fresh(lua), secs, conns))
                pair = [("redis", one), ("whole", whole)]
                for where, url in pair if i % 2 == 0 else reversed(pair):
                    results[f"{where} {kind}"].append(wrk(url + "/progress", fresh(lua), secs, conns))
                with ThreadPoolExecutor(2) as pool:
                    two = [pool.submit(wrk, url + "/progress", fresh(lua), secs, conns // 2) for url in (a, b)]
                    results[f"two {kind}"].append(sum(f.result() for f in two))
        latencies = fan_out_latency(a, b)

    median = {name: statistics.median(values) for name, values in results.items()}
    p50 = statistics.median(latencies) * 1000
    p99 = percentile(latencies, 0.99) * 1000
    of = f"median, range of {rounds}"
    single = median["redis single"] / median["memory single"]
    batch = median["redis batch"] / median["memory batch"]
    two_batch = median["two batch"] / median["redis batch"]
    halves = {
        kind: [h / w for h, w in zip(results[f"redis {kind}"], results[f"whole {kind}"], strict=True)] for kind in kinds
    }
    return [
        Row(
            f"scale-out: Redis store, 1 process, 1 event/request ({of})",
            _spread(results["redis single"]),
            f"memory store {_spread(results['memory single'])}",
            single,
            ">= 0.70x",
            single >= 0.7,
        ),
        Row(
            f"scale-out: Redis store, 1 process, arrays of 100 events/request ({of})",
            _spread(results["redis batch"]),
            f"memory store {_spread(results['memory batch'])}",
            batch,
            ">= 0.60x",
            batch >= 0.6,
        ),
        *(
            Row(
                f"scale-out: the same, {label}, writes of half of the clients vs one for all ({of} of the pairs)",
                _spread(results[f"redis {kind}"]),
                f"one write for all {_spread(results[f'whole {kind}'])}; "
                f"rounds {min(halves[kind]):.2f}-{max(halves[kind]):.2f}x",
                statistics.median(halves[kind]),
            )
            for kind, label in (("single", "1 event/request"), ("batch", "arrays of 100"))
        ),
        Row(
            f"scale-out: 2 processes on one Redis, 1 event/request ({of})",
            _spread(results["two single"]),
            f"1 process {median['redis single']:,.0f} req/s",
            median["two single"] / median["redis single"],
        ),
        Row(
            f"scale-out: 2 processes on one Redis, arrays of 100 ({of}; servers, Redis, wrk share 2 cores)",
            _spread(results["two batch"]),
            f"1 process {median['redis batch']:,.0f} req/s",
            two_batch,
            ">= 1.50x",
            two_batch >= 1.5,
        ),
        Row("scale-out: POST to process A -> delta on a dashboard of B, p99", f"{p99:.0f} ms", f"p50 {p50:.0f} ms"),
    ]


def main() -> None:
    args = options(__doc__, seconds=4, connections=16, rounds=3)
    print_table(run(args.seconds, args.connections, args.rounds))
    print(
        f"(wrk -t1 -c{args.connections} for one process, two wrk -c{args.connections // 2} for two; "
        f"{args.seconds} s runs, {args.rounds} rounds; {os.cpu_count()} CPUs shared by servers, redis-server and wrk; "
        "broadcast interval 0.1 s)"
    )


if __name__ == "__main__":
    main()
