"""Ingest benchmark: ``POST /progress`` against a no-op FastAPI endpoint, same uvicorn.

Run: ``python bench/ingest.py [--seconds 4] [--rounds 3]`` (needs Debian's ``wrk``).

One uvicorn process (one worker, access log off, the same for both routes)
serves the Progressista app with an extra ``/noop`` route that only reads and
``json``-parses the body. ``wrk`` (one thread, on the other core) drives each in
turn with the same requests, alternating rounds: one event per POST, then arrays
of 100 events. Each figure is the best round of each (the ratio of the bests),
with the range of the per-round ratios. Targets (issue 20): one event per POST
>= 0.9x the no-op endpoint; arrays of 100 >= 0.6x (the validation and merge
cost less than the HTTP and JSON around them).
"""

from __future__ import annotations

import argparse
import itertools
import re
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import Row, free_port, print_table, run_wrk, server  # noqa: E402

__all__ = ["BATCH_LUA", "SINGLE_LUA", "free_port", "fresh", "run", "wrk"]

# Each request updates one of 1,000 tasks with a growing n, so every event really
# changes state (an unchanged event would be cheaper than real traffic).
SINGLE_LUA = """
local i = 0
request = function()
  i = i + 1
  local body = string.format('{"task_id":"bench:%d","status":"update","n":%d,"total":1000000,'
    .. '"desc":"Ingesting","unit":"it","elapsed":1.5,"rate":120.5,"seq":%d,"timestamp":1700000000.5}',
    i % 1000, i, i)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
"""

BATCH_LUA = """
local i = 0
request = function()
  local parts = {}
  for k = 1, 100 do
    i = i + 1
    parts[k] = string.format('{"task_id":"batch:%d","status":"update","n":%d,"total":1000000,'
      .. '"desc":"Ingesting","elapsed":1.5,"rate":120.5,"seq":%d}', i % 5000, i, i)
  end
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, "[" .. table.concat(parts, ",") .. "]")
end
"""


_RUNS = itertools.count(1)


def fresh(lua: str) -> str:
    """``lua`` (:data:`SINGLE_LUA` or :data:`BATCH_LUA`) counting from above every earlier run's events.

    The scripts number events from 0, their seq too: a second run against the same server
    would post seqs below those its tasks hold, which the stores ignore without a write.
    """
    return lua.replace("local i = 0", f"local i = {next(_RUNS) * 10**8}", 1)  # a run posts far fewer


def wrk(url: str, lua: str, seconds: int, connections: int) -> float:
    """Requests per second that wrk measured."""
    out = run_wrk(url, lua, seconds, connections)
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert match, out
    return float(match.group(1))


def measure(seconds: int = 4, rounds: int = 3, connections: int = 16) -> dict[str, list[float]]:
    """req/s of each round: ``noop``, ``single`` (one event per POST), ``batch`` (100 events per POST)."""
    if not shutil.which("wrk"):
        raise RuntimeError("wrk is not installed (Debian: apt-get install wrk)")
    results: dict[str, list[float]] = {"noop": [], "single": [], "noop_batch": [], "batch": []}
    with server("ingest_app:app_with_noop", pythonpath=str(HERE), PROGRESSISTA_MAX_TASKS="100000") as live:
        base = live.url
        wrk(base + "/noop", SINGLE_LUA, 1, connections)  # warm-up
        wrk(base + "/progress", fresh(SINGLE_LUA), 1, connections)
        for _ in range(rounds):
            results["noop"].append(wrk(base + "/noop", SINGLE_LUA, seconds, connections))
            results["single"].append(wrk(base + "/progress", fresh(SINGLE_LUA), seconds, connections))
            results["noop_batch"].append(wrk(base + "/noop", BATCH_LUA, seconds, connections))
            results["batch"].append(wrk(base + "/progress", fresh(BATCH_LUA), seconds, connections))
    return results


def spread(results: dict[str, list[float]], value: str, baseline: str) -> str:
    """The range of the per-round ratios ``value / baseline``."""
    ratios = [v / b for v, b in zip(results[value], results[baseline], strict=True)]
    return f"rounds {min(ratios):.2f}-{max(ratios):.2f}x"


def run(seconds: int = 4, rounds: int = 3, connections: int = 16) -> list[Row]:
    results = measure(seconds, rounds, connections)
    noop, single, noop_batch, batch = (max(results[k]) for k in ("noop", "single", "noop_batch", "batch"))
    return [
        Row(
            f"ingest: POST /progress, 1 event/request (best of {rounds})",
            f"{single:,.0f} req/s",
            f"no-op endpoint {noop:,.0f} req/s; {spread(results, 'single', 'noop')}",
            single / noop,
            ">= 0.90x",
            single / noop >= 0.9,
        ),
        Row(
            f"ingest: arrays of 100 events/POST (best of {rounds})",
            f"{batch * 100:,.0f} events/s",
            f"no-op endpoint {noop_batch * 100:,.0f} events/s; {spread(results, 'batch', 'noop_batch')}",
            batch / noop_batch,
            ">= 0.60x",
            batch / noop_batch >= 0.6,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    print_table(run(args.seconds, args.rounds, args.connections))


if __name__ == "__main__":
    main()
