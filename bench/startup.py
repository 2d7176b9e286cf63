"""Startup benchmark: what ``from progressista import RemoteTqdm`` and ``progressista --help`` cost.

Run: ``python bench/startup.py [--repeat 25]``

- ``from progressista import RemoteTqdm`` (the package root is lazy: ``import
  progressista`` alone loads nearly nothing) against ``import tqdm, requests`` (the client's own
  dependencies, so the floor): each timed inside a fresh interpreter, from just
  before the import statement to just after, so interpreter start-up is left
  out; the runs alternate, and the median of ``--repeat`` counts. Target <= 1.3x.
  Every command here runs with its modules' bytecode cached, as an installed package has it
  (pip compiles the ``.pyc`` files at install): the cache goes to a temporary
  ``PYTHONPYCACHEPREFIX``, filled by a first, untimed import, so a checkout run
  with ``PYTHONDONTWRITEBYTECODE`` does not time the compiling of every module
  of ours (about 2 ms each, over 20 modules) against the compiled modules of tqdm
  and requests.
- The import must not load the server or TUI stacks: a fresh interpreter
  imports the client and lists which of fastapi, starlette, uvicorn,
  pydantic_settings, textual, redis ended up in ``sys.modules``. Target: none.
- ``progressista --help`` wall time (a whole process, the console script when it
  is on PATH) against ``python -c "import typer"``; median of ``--repeat``.
  Reported, no target.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, Row, options, print_table  # noqa: E402

FORBIDDEN = ("fastapi", "starlette", "uvicorn", "pydantic_settings", "textual", "redis")

TIMED_IMPORT = "import time; t = time.perf_counter(); {}; print(time.perf_counter() - t)"
#: The root is lazy (``import progressista`` alone loads nearly nothing): time what a job imports.
CLIENT_IMPORT = "from progressista import RemoteTqdm"
#: The client's own dependencies: the floor.
FLOOR_IMPORT = "import tqdm, requests"


def import_seconds(statement: str, env: Mapping[str, str] | None = None) -> float:
    out = subprocess.run(
        [sys.executable, "-c", TIMED_IMPORT.format(statement)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    ).stdout
    return float(out)


def compiled_env(cache: str) -> dict[str, str]:
    """The environment with bytecode written to and read from ``cache``, as an installed package has it."""
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = cache
    return env


def wall_seconds(argv: list[str], env: Mapping[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, cwd=ROOT, env=env)
    return time.perf_counter() - started


def forbidden_loaded() -> list[str]:
    code = f"import sys; {CLIENT_IMPORT}; print(' '.join(m for m in {FORBIDDEN!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT)
    return out.stdout.split()


TYPER = [sys.executable, "-c", "import typer"]


def help_command() -> list[str]:
    script = shutil.which("progressista")
    return (
        [script, "--help"] if script else [sys.executable, "-c", "from progressista.cli import main; main()", "--help"]
    )


def run(repeat: int = 25) -> list[Row]:
    ours, floor, cli, typer = [], [], [], []
    command = help_command()
    with tempfile.TemporaryDirectory(prefix="progressista-pyc-") as cache:
        env = compiled_env(cache)
        for statement in (CLIENT_IMPORT, FLOOR_IMPORT):
            import_seconds(statement, env)  # fills the bytecode cache
        for _ in range(repeat):
            ours.append(import_seconds(CLIENT_IMPORT, env))
            floor.append(import_seconds(FLOOR_IMPORT, env))
        for argv in (command, TYPER):
            wall_seconds(argv, env)  # fills the bytecode cache
        for _ in range(max(5, repeat // 2)):
            cli.append(wall_seconds(command, env))
            typer.append(wall_seconds(TYPER, env))
    ours_s, floor_s = statistics.median(ours), statistics.median(floor)
    cli_s, typer_s = statistics.median(cli), statistics.median(typer)
    loaded = forbidden_loaded()
    return [
        Row(
            f"startup: `{CLIENT_IMPORT}` (in-process, bytecode cached, median)",
            f"{ours_s * 1000:.0f} ms",
            f"`{FLOOR_IMPORT}` {floor_s * 1000:.0f} ms",
            ours_s / floor_s,
            "<= 1.3x",
            ours_s / floor_s <= 1.3,
        ),
        Row(
            f"startup: server/TUI modules loaded by `{CLIENT_IMPORT}`",
            ", ".join(loaded) or "none",
            f"checked: {len(FORBIDDEN)}",
            None,
            "none",
            not loaded,
        ),
        Row(
            "startup: `progressista --help` wall time (median)",
            f"{cli_s * 1000:.0f} ms",
            f"`python -c 'import typer'` {typer_s * 1000:.0f} ms",
            cli_s / typer_s,
        ),
    ]


def main() -> None:
    args = options(__doc__, repeat=25)
    print_table(run(args.repeat))


if __name__ == "__main__":
    main()
