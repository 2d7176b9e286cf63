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
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

HERE = Path(__file__).parent

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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wrk(url: str, lua: str, seconds: int, connections: int) -> float:
    """Requests per second that wrk measured."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua)
    try:
        out = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", script.name, url],
            check=True, capture_output=True, text=True,
        ).stdout
    finally:
        os.unlink(script.name)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        raise SystemExit(f"{url}: {non_2xx.group(1)} failed requests\n{out}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert match, out
    return float(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")

    port = free_port()
    log = tempfile.TemporaryFile()
    env = {**os.environ, "PROGRESSISTA_MAX_TASKS": "100000", "PYTHONPATH": str(HERE)}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "ingest_app:app_with_noop", "--port", str(port),
         "--log-level", "warning", "--no-access-log"],
        env=env,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                requests.get(base + "/health", timeout=1)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("server did not start") from None
                time.sleep(0.1)
        wrk(base + "/noop", NOOP_LUA, 1, args.connections)  # warm-up
        wrk(base + "/progress", SINGLE_LUA, 1, args.connections)
        noop, single, batch = [], [], []
        for _ in range(args.rounds):
            noop.append(wrk(base + "/noop", NOOP_LUA, args.seconds, args.connections))
            single.append(wrk(base + "/progress", SINGLE_LUA, args.seconds, args.connections))
            batch.append(wrk(base + "/progress", BATCH_LUA, args.seconds, args.connections))
    finally:
        server.terminate()
        server.wait(10)
        log.seek(0)
        errors = log.read().decode(errors="replace")
        if "Traceback" in errors:
            print("server errors:\n" + errors[-3000:], file=sys.stderr)

    best_noop, best_single, best_batch = max(noop), max(single), max(batch)
    print(f"{'measure':<34}{'value':>14}{'target':>12}")
    print(f"{'no-op FastAPI endpoint, req/s':<34}{best_noop:>14,.0f}{'':>12}")
    print(f"{'POST /progress (1 event), req/s':<34}{best_single:>14,.0f}{'':>12}")
    print(f"{'ratio /progress : no-op':<34}{best_single / best_noop:>14.2f}{'>= 0.80':>12}")
    print(f"{'batch ingest (100/POST), events/s':<34}{best_batch * 100:>14,.0f}{'>= 50,000':>12}")
    print(f"(best of {args.rounds} rounds of {args.seconds:g} s; wrk -t1 -c{args.connections}; rounds: "
          f"noop {[round(x) for x in noop]}, single {[round(x) for x in single]}, batch {[round(x) for x in batch]})")


if __name__ == "__main__":
    main()
