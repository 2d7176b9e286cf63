"""Probe benchmark: what one ``GET /health`` costs with 10,000 tasks against 100, memory and Redis.

Run: ``python bench/health.py [--probes 200] [--rounds 5]`` (needs Debian's ``redis-server``).

``/health`` (and ``/metrics``) are open to all and polled by load balancers and
Prometheus, so their cost must not grow with the tasks held: both read counts the
store keeps as it goes.

- Probe latency: for each store two servers (``uvicorn --factory``, lifecycle
  passes off; with Redis, two prefixes on one Redis) hold 100 and 10,000 tasks;
  ``--probes`` sequential probes on one keep-alive connection give a median
  latency, in ``--rounds`` alternating rounds. The figure is the median of the
  per-round ratios (10,000 over 100 tasks), with their lowest and highest as
  the spread. Target <= 2x.
- Under a flood (Redis, 10,000 tasks): the median latency of ``POST
  /progress`` (one event, to an existing task, 100 a second, timed from when
  each was due) while another connection sends
  ``FLOOD_PER_SECOND`` probes a second (over ``FLOOD_CONNECTIONS`` connections) (about 3x the flood that once raised it
  a hundredfold), against no flood; alternating rounds, median of the rounds'
  ratios with their range. Target <= 2x.
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Row, Server, options, print_table, server  # noqa: E402
from scale_out import redis_server  # noqa: E402

SIZES = (100, 10_000)
TARGET = 2.0
FLOOD_PER_SECOND = 20
FLOOD_CONNECTIONS = 4  # so slow probes still arrive at about the rate asked for
POST_INTERVAL = 0.01  # a worker's posts, 100 a second


def fill(url: str, count: int) -> None:
    """Tasks ``t0`` … ``t<count - 1>``, in requests the new-task limit (a tenth of the cap) allows."""
    with requests.Session() as http:
        for first in range(0, count, 1000):
            events = [{"task_id": f"t{i}", "n": 1, "total": 10} for i in range(first, min(count, first + 1000))]
            http.post(url + "/progress", json=events, timeout=30).raise_for_status()


def median_latency(http: requests.Session, url: str, count: int) -> float:
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        http.get(url + "/health", timeout=10).raise_for_status()
        latencies.append(time.perf_counter() - started)
    return statistics.median(latencies)


@contextmanager
def redis_url(kind: str) -> Iterator[str | None]:
    """A Redis of this run's own for the Redis store; ``None`` for memory."""
    if kind == "memory":
        yield None
        return
    with redis_server() as url:
        yield url


def probed_server(redis: str | None, prefix: str) -> AbstractContextManager[Server]:
    """A server with lifecycle passes off; on ``redis`` under ``prefix`` when given."""
    if redis is None:
        return server(PROGRESSISTA_CLEANUP_INTERVAL="3600")
    return server(PROGRESSISTA_CLEANUP_INTERVAL="3600", PROGRESSISTA_REDIS_URL=redis, PROGRESSISTA_REDIS_PREFIX=prefix)


def measure(kind: str, probes: int, rounds: int) -> Row:
    small: list[float] = []
    large: list[float] = []
    with (
        redis_url(kind) as redis,
        probed_server(redis, "bench-health-few:") as few,
        probed_server(redis, "bench-health-many:") as many,
        requests.Session() as http,
    ):
        fill(few.url, SIZES[0])
        fill(many.url, SIZES[1])
        for _ in range(rounds):  # alternate, so a busy moment of the machine hits both sizes
            small.append(median_latency(http, few.url, probes))
            large.append(median_latency(http, many.url, probes))
    return ratio_row(
        f"health: `/health` latency, {kind} store, {SIZES[1]:,} vs {SIZES[0]} tasks (median of rounds)",
        large,
        small,
        f"{SIZES[0]} tasks",
    )


def ratio_row(measure: str, values: list[float], baselines: list[float], baseline_name: str) -> Row:
    """Medians of paired rounds, the median of their ratios and its range, against TARGET."""
    ratios = sorted(v / b for v, b in zip(values, baselines, strict=True))
    ratio = statistics.median(ratios)
    return Row(
        measure,
        f"{statistics.median(values) * 1000:.2f} ms (ratios {ratios[0]:.2f}-{ratios[-1]:.2f}x)",
        f"{baseline_name} {statistics.median(baselines) * 1000:.2f} ms",
        ratio,
        f"<= {TARGET:g}x",
        ratio <= TARGET,
    )


def post_latency(http: requests.Session, url: str, seconds: float) -> float:
    """Median latency of one-event posts (each a change) due every POST_INTERVAL for ``seconds``.

    Timed from when each was due, not when it could be sent: a stall then counts for
    every post it held up, as it does for workers that keep posting (else the many
    fast posts between stalls would hide them).
    """
    latencies: list[float] = []
    began = time.perf_counter()
    for i in range(int(seconds / POST_INTERVAL)):
        due = began + i * POST_INTERVAL
        time.sleep(max(0.0, due - time.perf_counter()))
        http.post(url + "/progress", json={"task_id": f"t{i}", "n": 2}, timeout=30).raise_for_status()
        latencies.append(time.perf_counter() - due)
    return statistics.median(latencies)


def flood(url: str, stop: threading.Event) -> None:
    """One of FLOOD_CONNECTIONS connections, each sending its share of FLOOD_PER_SECOND."""
    with requests.Session() as http:
        while not stop.wait(FLOOD_CONNECTIONS / FLOOD_PER_SECOND):
            http.get(url + "/health", timeout=30)


def under_flood(seconds: float, rounds: int) -> Row:
    quiet: list[float] = []
    flooded: list[float] = []
    with redis_url("redis") as redis, probed_server(redis, "bench-health-flood:") as target, requests.Session() as http:
        fill(target.url, SIZES[1])
        for _ in range(rounds):
            quiet.append(post_latency(http, target.url, seconds))
            stop = threading.Event()
            flooders = [threading.Thread(target=flood, args=(target.url, stop)) for _ in range(FLOOD_CONNECTIONS)]
            for flooder in flooders:
                flooder.start()
            try:
                flooded.append(post_latency(http, target.url, seconds))
            finally:
                stop.set()
                for flooder in flooders:
                    flooder.join(30)
    return ratio_row(
        f"health: `POST /progress` p50 under {FLOOD_PER_SECOND} `/health`/s, redis store, {SIZES[1]:,} tasks",
        flooded,
        quiet,
        "no flood",
    )


def run(probes: int = 200, rounds: int = 5, flood_seconds: float = 2.0) -> list[Row]:
    return [*(measure(kind, probes, rounds) for kind in ("memory", "redis")), under_flood(flood_seconds, rounds)]


def main() -> None:
    args = options(__doc__, probes=200, rounds=5)
    print_table(run(args.probes, args.rounds))


if __name__ == "__main__":
    main()
