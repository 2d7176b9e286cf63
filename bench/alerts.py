"""Alerts benchmark: ``POST /progress`` while every tenth event is an error alerting two failing targets.

Run: ``python bench/alerts.py [--seconds 2] [--rounds 10]`` (needs Debian's ``wrk``).

Two ``progressista serve`` processes, the same but for the alerts file: one
with a rule that fires on every ``error`` and notifies two targets on
loopback, one that answers HTTP 500 (counting its hits) and one that accepts
connections and never answers, so every try times out
(``PROGRESSISTA_ALERTS_TIMEOUT`` 1 s, retries after 0.2 s and 0.4 s); the
other without (the baseline). ``wrk --latency`` (one thread, 16 connections)
posts one event a request: nine in ten update one of 1,000 tasks, one in ten
is ``status: error`` on a new task, so the alerts queue is always full and
its workers always waiting on a target (alerts past the queue are dropped
and counted). Alternating rounds (``--rounds``, the order swapped each round)
give per-round ratios, alerts over baseline, of p99 and p50 latency, of
requests a second and of the server's CPU seconds a request (all its
threads, ``/proc``); the figure is their median with the lowest and highest.
Goal: delivery never slows ingest, p99 <= 1.5x and throughput >= 0.9x of the
baseline. The alerts counters are read from ``/metrics`` (no tokens set); the
alerts server's log (a warning for each failed alert) goes to a file.

The machine's two cores are shared with other work: a round in which it takes
the server's core moves p99 several-fold, which only the median of many short
paired rounds evens out; CPU a request is the figure that work does not move.
"""

from __future__ import annotations

import http.server
import os
import re
import shutil
import socket
import statistics
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import Row, cpu_seconds, options, print_table, run_wrk, server  # noqa: E402

CONNECTIONS = 16
ERROR_EVERY = 10  # one event in ten is an error
P99_TARGET = 1.5
THROUGHPUT_TARGET = 0.9
SETTINGS = {
    "PROGRESSISTA_MAX_TASKS": "100000",
    "PROGRESSISTA_ALERTS_TIMEOUT": "1",
    "PROGRESSISTA_ALERTS_RETRY_SECONDS": "0.2",
}

RULES = """\
[[rule]]
name = "every error"
on = ["error"]
notify = ["{failing}", "{silent}"]
"""

# ``PREFIX`` is filled in per run, so each run's errors are on tasks no run used before (a task
# already in error would not enter it again, and would alert nothing).
LUA = """
local i = 0
request = function()
  i = i + 1
  local body
  if i % ERROR_EVERY == 0 then
    body = string.format('{"task_id":"PREFIX-%d","status":"error","desc":"Failing",'
      .. '"meta":{"error":"RuntimeError: bench"},"seq":1,"timestamp":1700000000.5}', i)
  else
    body = string.format('{"task_id":"bench:%d","status":"update","n":%d,"total":1000000,'
      .. '"desc":"Ingesting","unit":"it","elapsed":1.5,"rate":120.5,"seq":%d,"timestamp":1700000000.5}',
      i % 1000, i, i)
  end
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
"""


@dataclass
class Load:
    """What one wrk run measured: requests a second, latency percentiles (seconds), requests in all,
    and the server's CPU seconds a request (every thread)."""

    rps: float
    p50: float
    p99: float
    requests: int
    cpu: float = 0.0


_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def _seconds(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    assert match, text
    return float(match.group(1)) * _UNITS[match.group(2)]


def wrk_latency(url: str, prefix: str, seconds: int) -> Load:
    """One ``wrk --latency`` run of :data:`LUA` against ``url``, error tasks named ``prefix-N``."""
    lua = LUA.replace("ERROR_EVERY", str(ERROR_EVERY)).replace("PREFIX", prefix)
    out = run_wrk(url, lua, seconds, CONNECTIONS, latency=True)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE)
    total = re.search(r"(\d+) requests in", out)
    assert rps and p50 and p99 and total, out
    return Load(float(rps.group(1)), _seconds(p50.group(1)), _seconds(p99.group(1)), int(total.group(1)))


# -- the two targets -------------------------------------------------------------------------


@dataclass
class Target:
    """A notification target on loopback and what reached it."""

    url: str
    hits: int = 0


@contextmanager
def failing_target() -> Iterator[Target]:
    """An HTTP server that answers every POST with 500 and counts them."""
    target = Target("")
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server name
            self.rfile.read(int(self.headers.get("content-length", 0)))
            with lock:
                target.hits += 1
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    target.url = f"json://127.0.0.1:{httpd.server_address[1]}/fail"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True, name="bench-500")
    thread.start()
    try:
        yield target
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@contextmanager
def silent_target() -> Iterator[Target]:
    """A listener that accepts every connection and never answers (``hits``: connections accepted)."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=256)
    listener.settimeout(0.2)
    target = Target(f"json://127.0.0.1:{listener.getsockname()[1]}/silent")
    held: list[socket.socket] = []
    done = threading.Event()

    def accept() -> None:
        while not done.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)  # never read, never answered: the client's read timeout ends it
            target.hits += 1

    thread = threading.Thread(target=accept, daemon=True, name="bench-silent")
    thread.start()
    try:
        yield target
    finally:
        done.set()
        thread.join(5)
        listener.close()
        for conn in held:
            conn.close()


# -- the run ---------------------------------------------------------------------------------


@contextmanager
def stderr_to(path: Path) -> Iterator[None]:
    """This process's stderr (fd 2) into ``path`` meanwhile, so a server started now logs there.

    The alerts server logs a warning for every alert that failed and whenever its queue
    overflows again: real work of the server, kept, but out of the table.
    """
    saved = os.dup(2)
    log = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        os.dup2(log, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(log)


def alert_counters(url: str) -> dict[str, float]:
    """``progressista_alerts_{sent,failed,dropped}_total`` from ``/metrics``."""
    text = requests.get(url + "/metrics", timeout=10).text
    found = {}
    for name in ("sent", "failed", "dropped"):
        match = re.search(rf"^progressista_alerts_{name}_total (\S+)$", text, re.MULTILINE)
        found[name] = float(match.group(1)) if match else 0.0
    return found


def measure(seconds: int = 2, rounds: int = 10) -> dict[str, Any]:
    """Per-round :class:`Load` of the ``baseline`` and ``alerts`` servers, the counters and the targets' hits."""
    if not shutil.which("wrk"):
        raise RuntimeError("wrk is not installed (Debian: apt-get install wrk)")
    results: dict[str, list[Load]] = {"baseline": [], "alerts": []}
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="progressista-bench-alerts-")))
        failing = stack.enter_context(failing_target())
        silent = stack.enter_context(silent_target())
        rules = folder / "alerts.toml"
        rules.write_text(RULES.format(failing=failing.url, silent=silent.url))
        log = folder / "alerts-server.log"
        with stderr_to(folder / "baseline-server.log"):
            baseline = stack.enter_context(server(cli=True, **SETTINGS))
        with stderr_to(log):
            alerting = stack.enter_context(server(cli=True, PROGRESSISTA_ALERTS_FILE=str(rules), **SETTINGS))
        urls = {"baseline": baseline.url, "alerts": alerting.url}
        pids = {"baseline": baseline.pid, "alerts": alerting.pid}
        # Warm-up; on the alerts server it fills the queue, so every round runs with it full.
        warm = {name: wrk_latency(url + "/progress", f"warm-{name}", 1) for name, url in urls.items()}
        for i in range(rounds):
            order = list(urls) if i % 2 == 0 else list(reversed(urls))
            for name in order:
                began = cpu_seconds(pids[name])
                load = wrk_latency(urls[name] + "/progress", f"r{i}", seconds)
                load.cpu = (cpu_seconds(pids[name]) - began) / load.requests
                results[name].append(load)
        counters = alert_counters(urls["alerts"])
        baseline_counters = alert_counters(urls["baseline"])
        warnings = log.read_text().count("WARNING")
    errors = sum(load.requests // ERROR_EVERY for load in [warm["alerts"], *results["alerts"]])
    return {
        **results,
        "counters": counters,
        "baseline_counters": baseline_counters,
        "errors": errors,
        "failing_hits": failing.hits,
        "silent_hits": silent.hits,
        "warnings": warnings,
    }


def _ratios(alerts: list[float], baseline: list[float]) -> list[float]:
    return sorted(a / b for a, b in zip(alerts, baseline, strict=True))


def _ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.2f} ms"


def run(seconds: int = 2, rounds: int = 10) -> list[Row]:
    found = measure(seconds, rounds)
    alerts: list[Load] = found["alerts"]
    baseline: list[Load] = found["baseline"]
    p99 = _ratios([x.p99 for x in alerts], [x.p99 for x in baseline])
    p50 = _ratios([x.p50 for x in alerts], [x.p50 for x in baseline])
    rps = _ratios([x.rps for x in alerts], [x.rps for x in baseline])
    cpu = _ratios([x.cpu for x in alerts], [x.cpu for x in baseline])
    spread = f"median, range of {rounds}"
    counters, quiet = found["counters"], found["baseline_counters"]
    assert not any(quiet.values()), quiet  # the baseline has no rules: nothing to count
    return [
        Row(
            f"alerts: POST /progress p99, 1 in {ERROR_EVERY} an error alerting a 500 and a silent target ({spread})",
            f"{_ms([x.p99 for x in alerts])} (ratios {p99[0]:.2f}-{p99[-1]:.2f}x)",
            f"no alerts file {_ms([x.p99 for x in baseline])}",
            statistics.median(p99),
            f"<= {P99_TARGET:.2f}x",
            statistics.median(p99) <= P99_TARGET,
        ),
        Row(
            f"alerts: the same, p50 ({spread})",
            f"{_ms([x.p50 for x in alerts])} (ratios {p50[0]:.2f}-{p50[-1]:.2f}x)",
            f"no alerts file {_ms([x.p50 for x in baseline])}",
            statistics.median(p50),
        ),
        Row(
            f"alerts: the same, throughput ({spread})",
            f"{statistics.median(x.rps for x in alerts):,.0f} req/s (ratios {rps[0]:.2f}-{rps[-1]:.2f}x)",
            f"no alerts file {statistics.median(x.rps for x in baseline):,.0f} req/s",
            statistics.median(rps),
            f">= {THROUGHPUT_TARGET:.2f}x",
            statistics.median(rps) >= THROUGHPUT_TARGET,
        ),
        Row(
            f"alerts: the same, server CPU a request, every thread ({spread})",
            f"{statistics.median(x.cpu for x in alerts) * 1e6:.0f} us (ratios {cpu[0]:.2f}-{cpu[-1]:.2f}x)",
            f"no alerts file {statistics.median(x.cpu for x in baseline) * 1e6:.0f} us",
            statistics.median(cpu),
        ),
        Row(
            f"alerts: /metrics after {found['errors']:,} errors: dropped / sent / failed (targets)",
            f"{counters['dropped']:,.0f} / {counters['sent']:,.0f} / {counters['failed']:,.0f}",
            f"500 target {found['failing_hits']:,} hits, silent {found['silent_hits']:,} connections; "
            f"{found['warnings']:,} warnings logged",
        ),
    ]


def main() -> None:
    args = options(__doc__, seconds=2, rounds=10)
    print_table(run(args.seconds, args.rounds))
    print(
        f"(wrk -t1 -c{CONNECTIONS} --latency, {args.seconds} s per round, alternating; alerts timeout "
        f"{SETTINGS['PROGRESSISTA_ALERTS_TIMEOUT']} s a try, 3 tries; server, wrk and the targets share the CPUs)"
    )


if __name__ == "__main__":
    main()
