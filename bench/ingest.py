"""Ingest benchmark: ``POST /progress`` against a no-op FastAPI endpoint, same uvicorn.

Run: ``python bench/ingest.py [--seconds 4] [--rounds 3]`` (needs Debian's ``wrk``).

One uvicorn process (one worker, access log off, the same for both routes)
serves the Progressista app with an extra ``/noop`` route. ``wrk`` (one thread,
on the other core) drives each in turn, alternating rounds; the best round of
each is kept. Targets: single-event ingest >= 0.8x the no-op endpoint; batch
ingest (100 events per POST) >= 50,000 events/s.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import Row, free_port, run_wrk, server  # noqa: E402

__all__ = ["BATCH_LUA", "SINGLE_LUA", "free_port", "run", "wrk"]

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

NOOP_LUA = SINGLE_LUA  # the same requests, to an endpoint that ignores them


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
    results: dict[str, list[float]] = {"noop": [], "single": [], "batch": []}
    with server("ingest_app:app_with_noop", pythonpath=str(HERE), PROGRESSISTA_MAX_TASKS="100000") as live:
        base = live.url
        wrk(base + "/noop", NOOP_LUA, 1, connections)  # warm-up
        wrk(base + "/progress", SINGLE_LUA, 1, connections)
        for _ in range(rounds):
            results["noop"].append(wrk(base + "/noop", NOOP_LUA, seconds, connections))
            results["single"].append(wrk(base + "/progress", SINGLE_LUA, seconds, connections))
            results["batch"].append(wrk(base + "/progress", BATCH_LUA, seconds, connections))
    return results


def run(seconds: int = 4, rounds: int = 3, connections: int = 16) -> list[Row]:
    results = measure(seconds, rounds, connections)
    noop, single, batch = (max(results[k]) for k in ("noop", "single", "batch"))
    return [
        Row(
            f"ingest: POST /progress, 1 event/request (best of {rounds})",
            f"{single:,.0f} req/s",
            f"no-op endpoint {noop:,.0f} req/s",
            single / noop,
            ">= 0.80x",
            single / noop >= 0.8,
        ),
        Row(
            f"ingest: batch, 100 events/POST (best of {rounds})",
            f"{batch * 100:,.0f} events/s",
            f"1 event/request {single:,.0f} events/s",
            batch * 100 / single,
            ">= 50,000 events/s",
            batch * 100 >= 50_000,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    results = measure(args.seconds, args.rounds, args.connections)
    noop, single, batch = (max(results[k]) for k in ("noop", "single", "batch"))
    print(f"{'measure':<34}{'value':>14}{'target':>12}")
    print(f"{'no-op FastAPI endpoint, req/s':<34}{noop:>14,.0f}{'':>12}")
    print(f"{'POST /progress (1 event), req/s':<34}{single:>14,.0f}{'':>12}")
    print(f"{'ratio /progress : no-op':<34}{single / noop:>14.2f}{'>= 0.80':>12}")
    print(f"{'batch ingest (100/POST), events/s':<34}{batch * 100:>14,.0f}{'>= 50,000':>12}")
    print(
        f"(best of {args.rounds} rounds of {args.seconds:g} s; wrk -t1 -c{args.connections}; rounds: "
        + "; ".join(f"{k} {[round(x) for x in v]}" for k, v in results.items())
        + ")"
    )


if __name__ == "__main__":
    main()
