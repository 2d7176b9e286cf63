"""``progressista pipe`` throughput, against ``cat`` and ``python -m tqdm`` in the same run.

Run: ``python bench/pipe.py [--lines 5000000] [--rounds 5] [--copies 8]``

Each case is a real pipeline, ``cat FILE... | COMMAND > /dev/null``, timed as a
whole (the command's interpreter start-up included, as a user waits for it)
from the start of ``cat`` to the end of the command. The commands run in turn,
round after round; each figure is the best of ``--rounds`` (the least noisy
estimate on a shared machine), with the range of all rounds beside it.

- lines: ``seq 1 --lines`` (6.9 bytes a line at 5e6) through ``progressista
  pipe`` (reporting to a server in a subprocess), ``python -m tqdm`` and
  ``cat``. Target: at least 200,000 lines/s.
- bytes: that file ``--copies`` times over (311 MB at the defaults) through
  ``progressista pipe --bytes``, ``python -m tqdm --bytes`` and ``cat``.
- start-up: an empty input through ``progressista pipe`` (interpreter, imports,
  the task's ``start`` and ``close`` posts) and ``python -m tqdm``: the fixed
  cost inside the figures above, and what a short pipe costs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Row, options, print_table, server  # noqa: E402

#: Lines a second the pipe must carry at least.
TARGET_LINES_PER_SECOND = 200_000
PIPE = [sys.executable, "-c", "from progressista.cli import main; main()", "pipe"]
TQDM = [sys.executable, "-m", "tqdm"]
CAT = ["cat"]


def through(command: Sequence[str], sources: Sequence[Path], env: dict[str, str]) -> float:
    """Seconds ``cat sources... | command > /dev/null`` takes; the command must succeed."""
    started = time.perf_counter()
    with subprocess.Popen(["cat", *map(str, sources)], stdout=subprocess.PIPE) as producer:
        done = subprocess.run(
            list(command), stdin=producer.stdout, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
        )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}: {done.stderr.decode()[-500:]}")
    return seconds


def timed(
    cases: dict[str, list[str]], sources: Sequence[Path], env: dict[str, str], count: int
) -> dict[str, list[float]]:
    """Every case's seconds over ``count`` rounds, the cases in turn within a round."""
    seconds: dict[str, list[float]] = {name: [] for name in cases}
    through(cases[next(iter(cases))], sources, env)  # warm the page cache and the imports
    for _ in range(count):
        for name, command in cases.items():
            seconds[name].append(through(command, sources, env))
    return seconds


def rate(amount: int, seconds: list[float], unit: str) -> str:
    """The best rate, and the range over all rounds: ``8.1 M lines/s (6.9-8.1)``."""
    best, worst = amount / min(seconds), amount / max(seconds)
    return f"{best / 1e6:,.2f} M {unit}/s ({worst / 1e6:,.2f}-{best / 1e6:,.2f})"


def write_lines(path: Path, lines: int) -> int:
    """``seq 1 lines`` into ``path``; its size in bytes."""
    with path.open("wb") as out:
        step = 100_000
        for first in range(1, lines + 1, step):
            out.write(b"".join(b"%d\n" % i for i in range(first, min(first + step, lines + 1))))
    return path.stat().st_size


def run(lines: int = 5_000_000, rounds: int = 5, copies: int = 8) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="progressista-pipe-") as folder, server() as live:
        source = Path(folder) / "lines.txt"
        size = write_lines(source, lines) * copies
        empty = Path(folder) / "empty.txt"
        empty.write_bytes(b"")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PROGRESSISTA_")}
        env["PROGRESSISTA_SERVER_URL"] = live.url
        by_lines = timed({"pipe": PIPE, "cat": CAT, "tqdm": TQDM}, [source], env, rounds)
        by_bytes = timed(
            {"pipe": [*PIPE, "--bytes"], "cat": CAT, "tqdm": [*TQDM, "--bytes"]}, [source] * copies, env, rounds
        )
        startup = timed({"pipe": PIPE, "tqdm": TQDM}, [empty], env, rounds)
    best = {name: min(seconds) for name, seconds in by_lines.items()}
    label = f"{lines / 1e6:g}e6 lines, best of {rounds}"
    ms = {name: (min(seconds) * 1000, max(seconds) * 1000) for name, seconds in startup.items()}
    return [
        Row(
            f"pipe: lines through `progressista pipe` ({label})",
            rate(lines, by_lines["pipe"], "lines"),
            f"`python -m tqdm` {rate(lines, by_lines['tqdm'], 'lines')}",
            best["tqdm"] / best["pipe"],
            f">= {TARGET_LINES_PER_SECOND:,} lines/s",
            lines / best["pipe"] >= TARGET_LINES_PER_SECOND,
        ),
        Row(
            f"pipe: the same, against `cat` ({label})",
            rate(lines, by_lines["pipe"], "lines"),
            f"`cat` {rate(lines, by_lines['cat'], 'lines')}",
            best["cat"] / best["pipe"],
        ),
        Row(
            f"pipe: `--bytes` ({size / 1e6:.0f} MB, best of {rounds})",
            rate(size, by_bytes["pipe"], "B"),
            f"`python -m tqdm --bytes` {rate(size, by_bytes['tqdm'], 'B')}; `cat` {rate(size, by_bytes['cat'], 'B')}",
            min(by_bytes["tqdm"]) / min(by_bytes["pipe"]),
        ),
        Row(
            f"pipe: start-up, empty input (best of {rounds})",
            f"{ms['pipe'][0]:.0f} ms ({ms['pipe'][0]:.0f}-{ms['pipe'][1]:.0f})",
            f"`python -m tqdm` {ms['tqdm'][0]:.0f} ms ({ms['tqdm'][0]:.0f}-{ms['tqdm'][1]:.0f})",
            ms["pipe"][0] / ms["tqdm"][0],
        ),
    ]


def main() -> None:
    args = options(__doc__, lines=5_000_000, rounds=5, copies=8)
    print_table(run(args.lines, args.rounds, args.copies))


if __name__ == "__main__":
    main()
