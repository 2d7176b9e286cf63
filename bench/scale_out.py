"""Scale-out benchmark: ingest with the memory store vs Redis, one process vs two, and
fan-out latency across processes.

Run: ``python bench/scale_out.py [--seconds 4]`` (needs Debian's ``wrk`` and ``redis-server``).

In one run: a memory-store server and a Redis-backed server (one uvicorn process
each) take single-event POSTs from ``wrk``; then two Redis-backed processes
on the same Redis take the same load split over two ``wrk`` instances. Then a
WebSocket dashboard on process B times 200 events POSTed to process A
(p50/p99). On this 2-core machine servers, Redis and the load generators share
the CPU: the two-process figure shows contention as much as scaling.
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

import requests
from websockets.sync.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Row, free_port, options, percentile, print_table, server  # noqa: E402
from ingest import SINGLE_LUA, wrk  # noqa: E402


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
        connect("ws" + watch.removeprefix("http") + "/ws?mode=delta", open_timeout=5) as ws,
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


def run(seconds: int = 4, connections: int = 16) -> list[Row]:
    if not shutil.which("wrk"):
        raise RuntimeError("wrk is not installed (Debian: apt-get install wrk)")
    secs, conns = seconds, connections
    with redis_server() as redis_url, ExitStack() as stack:
        memory = stack.enter_context(server(PROGRESSISTA_MAX_TASKS="100000")).url
        one, a, b = (
            stack.enter_context(
                server(
                    PROGRESSISTA_MAX_TASKS="100000", PROGRESSISTA_REDIS_URL=redis_url, PROGRESSISTA_REDIS_PREFIX=prefix
                )
            ).url
            for prefix in ("one:", "two:", "two:")
        )
        for url in (memory, one, a, b):
            wrk(url + "/progress", SINGLE_LUA, 1, conns)  # warm-up

        memory_rps = max(wrk(memory + "/progress", SINGLE_LUA, secs, conns) for _ in range(2))
        redis_rps = max(wrk(one + "/progress", SINGLE_LUA, secs, conns) for _ in range(2))
        with ThreadPoolExecutor(2) as pool:
            two = [pool.submit(wrk, url + "/progress", SINGLE_LUA, secs, conns // 2) for url in (a, b)]
            two_rps = sum(f.result() for f in two)
        latencies = fan_out_latency(a, b)

    p50 = statistics.median(latencies) * 1000
    p99 = percentile(latencies, 0.99) * 1000
    return [
        Row(
            "scale-out: Redis store, 1 process, 1 event/request (best of 2)",
            f"{redis_rps:,.0f} req/s",
            f"memory store {memory_rps:,.0f} req/s",
            redis_rps / memory_rps,
        ),
        Row(
            "scale-out: 2 processes on one Redis (servers, Redis, wrk share 2 cores)",
            f"{two_rps:,.0f} req/s",
            f"1 process {redis_rps:,.0f} req/s",
            two_rps / redis_rps,
        ),
        Row("scale-out: POST to process A -> delta on a dashboard of B, p99", f"{p99:.0f} ms", f"p50 {p50:.0f} ms"),
    ]


def main() -> None:
    args = options(__doc__, seconds=4, connections=16)
    print_table(run(args.seconds, args.connections))
    print(
        f"(wrk -t1 -c{args.connections} for one process, two wrk -c{args.connections // 2} for two; "
        f"{args.seconds} s runs; {os.cpu_count()} CPUs shared by servers, redis-server and wrk; "
        "broadcast interval 0.1 s)"
    )


if __name__ == "__main__":
    main()
