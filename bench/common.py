"""What the benchmarks share: a server in a subprocess, /proc readings, and the result table.

Every benchmark module has a ``run(...) -> list[Row]`` that ``bench/run_all.py``
calls, and a ``main()`` so it still runs alone (``python bench/<name>.py``).
"""

from __future__ import annotations

import argparse
import math
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Row:
    """One line of the result table.

    ``value`` and ``baseline`` are formatted text; ``ratio`` is value over
    baseline (``None`` when the two do not divide); ``target`` is text such as
    ``"<= 1.05x"``; ``passed`` is ``None`` for a figure reported without a target.
    """

    measure: str
    value: str
    baseline: str = ""
    ratio: float | None = None
    target: str = ""
    passed: bool | None = None


def print_table(rows: Sequence[Row], file: object = None) -> None:
    """The rows as a Markdown table: measure / value / baseline / ratio / target / pass."""
    header = ("measure", "value", "baseline", "ratio", "target", "pass")
    cells = [
        (
            r.measure,
            r.value,
            r.baseline,
            "" if r.ratio is None else f"{r.ratio:.2f}x",
            r.target,
            "" if r.passed is None else ("yes" if r.passed else "**MISSED**"),
        )
        for r in rows
    ]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
    out = sys.stdout if file is None else file

    def line(values: Sequence[str]) -> None:
        print("| " + " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)) + " |", file=out)

    line(header)
    print("| " + " | ".join("-" * w for w in widths) + " |", file=out)
    for c in cells:
        line(c)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A server subprocess: its base URL and process."""

    url: str
    proc: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def ws_url(self) -> str:
        return "ws" + self.url.removeprefix("http") + "/ws"


def server_env(**settings: str) -> dict[str, str]:
    """This environment without PROGRESSISTA_*, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROGRESSISTA_")}
    env.update(settings)
    return env


@contextmanager
def server(
    app: str = "progressista.server:create_app",
    pythonpath: str | None = None,
    nice: int = 0,
    cli: bool = False,
    **settings: str,
) -> Iterator[Server]:
    """``uvicorn --factory app`` in a subprocess (one worker, access log off), up and answering /health.

    ``cli=True`` runs ``progressista serve`` instead (log level warning), with the uvicorn options it sets.
    """
    port = free_port()
    env = server_env(**settings)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    if cli:
        env["PROGRESSISTA_LOG_LEVEL"] = "warning"
        command = [sys.executable, "-c", "from progressista.cli import main; main()", "serve"]
        command += ["--host", "127.0.0.1", "--port", str(port)]
    else:
        command = [sys.executable, "-m", "uvicorn", "--factory", app, "--host", "127.0.0.1", "--port", str(port)]
        command += ["--log-level", "warning", "--no-access-log"]
    proc = subprocess.Popen(command, env=env, preexec_fn=(lambda: os.nice(nice)) if nice else None)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(url + "/health", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"server {app} did not start")
            time.sleep(0.05)
        yield Server(url, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def run_wrk(url: str, lua: str, seconds: int, connections: int, *, latency: bool = False) -> str:
    """wrk's report of one run of the Lua script ``lua`` against ``url``; raises if a request failed."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua)
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", *(["--latency"] if latency else []), "-s"]
    try:
        out = subprocess.run([*command, script.name, url], check=True, capture_output=True, text=True).stdout
    finally:
        os.unlink(script.name)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        raise RuntimeError(f"{url}: {non_2xx.group(1)} failed requests\n{out}")
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime (fields 14, 15)


def rss_bytes(pid: int, field: str = "VmRSS") -> int:
    """Resident set size of a process (``VmRSS`` in ``/proc/<pid>/status``; ``VmHWM``: its peak so far)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} for pid {pid}")


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of ``values`` (``fraction`` from 0 to 1)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def options(doc: str | None, **defaults: int) -> argparse.Namespace:
    """A benchmark's command line: ``--name N`` for each default (``tasks=100_000`` gives ``--tasks``)."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    for name, default in defaults.items():
        parser.add_argument("--" + name.replace("_", "-"), type=int, default=default)
    return parser.parse_args()
