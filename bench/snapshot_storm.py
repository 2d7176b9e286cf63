"""Snapshot-mode storm: 50 default-mode dashboards on 10,000 tasks must not starve ingestion.

Run: ``python bench/snapshot_storm.py [--seconds 8] [--rounds 3] [--dashboards 50] [--tasks 10000]
[--rate 2000] [--batch 50]``

One ``progressista serve`` subprocess (broadcast interval 0.1 s) holds
``--tasks`` open tasks (3 MB of JSON as a snapshot). A second process runs
``--dashboards`` WebSocket clients in the default (snapshot) mode, negotiating
permessage-deflate as browsers do; they note each message's arrival and the
probe it carries and parse nothing else. This process posts ``--rate``
events/s in batches of ``--batch`` over one keep-alive connection (open loop:
each POST is due at its time; a late one goes at once), each batch carrying a
``probe`` task whose ``desc`` is the time it was sent, and times every POST.

Figures, each the median of ``--rounds`` windows with the lowest and highest:
events/s accepted and the POST p99 with the dashboards connected, beside the
same poster with no dashboard (the baseline); POST -> dashboard p99 (the probe's
age when a snapshot holding it arrives) and snapshots per dashboard-second.
Then the same storm against a server whose WebSocket protocol is uvicorn's own
(``uvicorn --factory``: one compression of each snapshot per dashboard)
shows what sharing the compressed message buys. Targets (issue 20): ingest
>= 1,000 events/s with POST p99 <= 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import re
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Row, cpu_seconds, percentile, print_table, server  # noqa: E402
from fanout import Poster, event, seed  # noqa: E402

BROADCAST_INTERVAL = 0.1
PROBE = re.compile(rb'"desc":"probe:([0-9.]+)"')


def dashboards(
    url: str,
    count: int,
    ready: Any,
    stop: Any,
    out: Any,
) -> None:
    """(In its own process.) ``count`` snapshot-mode clients until ``stop``; put (arrival, probe sent) pairs."""
    from websockets.asyncio.client import connect

    async def one(arrivals: list[tuple[float, float]], closes: list[int | None]) -> None:
        async with connect(url, max_size=None, open_timeout=120, ping_interval=None) as ws:
            await ws.recv(decode=False)
            connected.append(1)
            if len(connected) == count:
                ready.set()
            try:
                while True:
                    raw = await ws.recv(decode=False)
                    found = PROBE.search(raw)  # type: ignore[arg-type]
                    if found:
                        arrivals.append((time.time(), float(found.group(1))))
            except Exception:
                closes.append(ws.close_code)

    async def main() -> None:
        arrivals: list[tuple[float, float]] = []
        closes: list[int | None] = []
        clients = [asyncio.create_task(one(arrivals, closes)) for _ in range(count)]
        while not stop.is_set():
            await asyncio.sleep(0.05)
        for client in clients:
            client.cancel()
        await asyncio.gather(*clients, return_exceptions=True)
        out.put((arrivals, closes))

    connected: list[int] = []
    asyncio.run(main())


@dataclass
class Window:
    began: float
    ended: float
    events: int
    latencies: list[float]
    cpu: float

    @property
    def events_per_second(self) -> float:
        return self.events / (self.ended - self.began)


async def post(url: str, seconds: float, rate: int, batch: int, tasks: int, start: int) -> Window:
    """Open-loop POSTs for ``seconds``: each batch is due at its time, a late one goes at once."""
    period = batch / rate
    latencies: list[float] = []
    sent = 0
    async with Poster(url) as poster:
        began = time.monotonic()
        wall = time.time()
        k = 0
        while time.monotonic() - began < seconds:
            delay = began + k * period - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            now = time.time()
            body = [event((start + sent + i) % tasks, start + sent + i, now) for i in range(batch - 1)]
            body.append({"task_id": "probe", "status": "update", "n": k, "desc": f"probe:{now:.6f}"})
            posted = time.perf_counter()
            await poster.post(json.dumps(body, separators=(",", ":")).encode())
            latencies.append(time.perf_counter() - posted)
            if poster.failures:
                raise RuntimeError("a POST failed")
            sent += batch
            k += 1
        return Window(wall, time.time(), sent, latencies, 0.0)


def windows(url: str, pid: int, seconds: float, rounds: int, rate: int, batch: int, tasks: int) -> list[Window]:
    found = []
    for round_ in range(rounds):
        cpu = cpu_seconds(pid)
        window = asyncio.run(post(url, seconds, rate, batch, tasks, (round_ + 1) * 10 * tasks))
        window.cpu = (cpu_seconds(pid) - cpu) / (window.ended - window.began)
        found.append(window)
    return found


@contextlib.contextmanager
def storm(ws_url: str, count: int) -> Iterator[list[tuple[list[tuple[float, float]], list[int | None]]]]:
    """``count`` snapshot dashboards in another process while the block runs; their results after it."""
    context = multiprocessing.get_context("spawn")
    ready, stop, out = context.Event(), context.Event(), context.Queue()
    process = context.Process(target=dashboards, args=(ws_url, count, ready, stop, out), daemon=True)
    process.start()
    results: list[tuple[list[tuple[float, float]], list[int | None]]] = []
    try:
        if not ready.wait(180):
            raise RuntimeError("the dashboards did not all connect")
        yield results
    finally:
        stop.set()
        results.append(out.get(timeout=120))
        process.join(30)


@dataclass
class Storm:
    alone: list[Window]
    loaded: list[Window]
    arrivals: list[tuple[float, float]]
    closes: list[int | None]
    dashboards: int

    def spread(self, values: list[float], fmt: str) -> str:
        return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"

    def in_windows(self) -> list[list[tuple[float, float]]]:
        return [[(a, s) for a, s in self.arrivals if w.began <= s and a <= w.ended] for w in self.loaded]


def measure(cli: bool, seconds: float, rounds: int, dashboards_: int, tasks: int, rate: int, batch: int) -> Storm:
    settings = {"PROGRESSISTA_MAX_TASKS": str(tasks * 2), "PROGRESSISTA_BROADCAST_INTERVAL": str(BROADCAST_INTERVAL)}
    with server(cli=cli, **settings) as live:
        seed(live.url, tasks)
        alone = windows(live.url, live.pid, seconds, rounds, rate, batch, tasks)
        with storm(live.ws_url, dashboards_) as results:
            windows(live.url, live.pid, 1.0, 1, rate, batch, tasks)  # warm-up
            loaded = windows(live.url, live.pid, seconds, rounds, rate, batch, tasks)
        [(arrivals, closes)] = results
    return Storm(alone, loaded, arrivals, closes, dashboards_)


def run(
    seconds: float = 8, rounds: int = 3, dashboards_: int = 50, tasks: int = 10_000, rate: int = 2_000, batch: int = 50
) -> list[Row]:
    shared = measure(True, seconds, rounds, dashboards_, tasks, rate, batch)
    own = measure(False, seconds, max(1, rounds // 2), dashboards_, tasks, rate, batch)
    label = f"{dashboards_} snapshot dashboards, {tasks:,} tasks, {rate:,} events/s offered"

    def p99(w: Window) -> float:
        return percentile(w.latencies, 0.99) * 1e3

    loaded_rate = [w.events_per_second for w in shared.loaded]
    loaded_p99 = [p99(w) for w in shared.loaded]
    alone_rate = [w.events_per_second for w in shared.alone]
    alone_p99 = [p99(w) for w in shared.alone]
    seen = shared.in_windows()
    to_dashboard = [percentile([a - s for a, s in found], 0.99) * 1e3 for found in seen if found]
    per_second = [len(f) / shared.dashboards / (w.ended - w.began) for f, w in zip(seen, shared.loaded, strict=True)]
    own_seen = own.in_windows()
    own_per_second = [len(f) / own.dashboards / (w.ended - w.began) for f, w in zip(own_seen, own.loaded, strict=True)]
    dropped = sum(code == 1013 for code in shared.closes)
    return [
        Row(
            f"snapshot storm: ingest, {label} (median of {rounds} windows, range)",
            shared.spread(loaded_rate, "{:,.0f}") + " events/s",
            "no dashboard " + shared.spread(alone_rate, "{:,.0f}"),
            statistics.median(loaded_rate) / statistics.median(alone_rate),
            ">= 1,000 events/s",
            min(loaded_rate) >= 1000,
        ),
        Row(
            "snapshot storm: POST p99, the same load",
            shared.spread(loaded_p99, "{:.0f}") + " ms",
            "no dashboard " + shared.spread(alone_p99, "{:.0f}") + " ms",
            statistics.median(loaded_p99) / statistics.median(alone_p99),
            "<= 100 ms",
            max(loaded_p99) <= 100,
        ),
        Row(
            "snapshot storm: POST -> dashboard p99 (the probe's age on arrival)",
            shared.spread(to_dashboard, "{:.0f}") + " ms" if to_dashboard else "none arrived",
        ),
        Row(
            "snapshot storm: snapshots per dashboard-second, one compression shared vs one per dashboard",
            shared.spread(per_second, "{:.2f}"),
            "uvicorn's own protocol " + own.spread(own_per_second, "{:.2f}"),
            statistics.median(per_second) / max(1e-9, statistics.median(own_per_second)),
        ),
        Row(
            "snapshot storm: server CPU with the dashboards (median window)",
            f"{statistics.median(w.cpu for w in shared.loaded) * 100:.0f}% of a core",
            f"no dashboard {statistics.median(w.cpu for w in shared.alone) * 100:.0f}%",
        ),
        Row("snapshot storm: dashboards dropped (1013)", f"{dropped}", "", None, "0", dropped == 0),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dashboards", type=int, default=50)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--rate", type=int, default=2_000)
    parser.add_argument("--batch", type=int, default=50)
    args = parser.parse_args()
    print_table(run(args.seconds, args.rounds, args.dashboards, args.tasks, args.rate, args.batch))


if __name__ == "__main__":
    main()
