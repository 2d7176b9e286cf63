"""What RemoteTqdm costs beyond tqdm, in CPU instructions: the same figure from run to run on a shared machine.

    python bench/client_instructions.py               # needs valgrind (Debian: apt-get install valgrind)
    python bench/client_instructions.py --bars 50     # shorter

Wall-clock ratios on a busy two-core machine move by 10% and more from run to
run; instruction counts do not. Each case runs in a child interpreter under
``valgrind --tool=callgrind --separate-threads=yes``, and the instructions of
its main thread (the user's loop, where tqdm and RemoteTqdm do their work) are
counted. A child that only imports, makes its warm-up bars and exits is counted
too and subtracted, so start-up, imports and the first bar (the sender
thread's start) are left out. The sender thread's instructions are shown apart:
how many posts it makes depends on timing, and under valgrind everything is
about 50 times slower, so that figure is only indicative.

tqdm decides when to redraw by the clock (``mininterval`` 0.1 s), and under
valgrind the clock runs 50 times too fast for the code: the children give tqdm a
virtual clock (``tqdm.std.time``) so that bars refresh exactly as often as they
would at full speed:

- **per display**: one open bar, ``refresh()`` called ``--displays`` times
  (instructions per refresh, tqdm's drawing plus, for RemoteTqdm, the event
  built and handed to the sender);
- **per iteration at tqdm's default refresh rate**: one bar of ``--iterations``
  iterations (2,000,000, as in ``client_overhead.py``) on a clock tied to the
  loop, ``--pace`` seconds per iteration (250 ns: this machine's pace for an
  empty tqdm loop), so it refreshes every 0.1 s of virtual time as at full speed;
- **short bars**: ``--bars`` sequential bars of 1,000 iterations on a clock
  advancing 1 us per reading (a bar lasts about 1 ms, as at full speed: drawn
  when it opens and when it closes), per bar; the ratio is the 1,000-bar case's.

The server is live (a subprocess outside valgrind, at the lowest CPU
priority), as in ``client_overhead.py``.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Row, print_table, server  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CASES = ("baseline", "display", "iterations", "bars")
CLASSES = ("tqdm", "RemoteTqdm")
#: Goals (RemoteTqdm over tqdm) for the cases that have one (see issue 20).
TARGETS = {"iterations": 1.03, "bars": 1.10}


def child(case: str, kind: str, url: str, count: int, pace: float, iterations: int) -> None:
    """The counted program: imports, warm-up bars, then ``count`` units of ``case`` with ``kind``'s class."""
    sys.path.insert(0, str(ROOT))
    import tqdm.std
    from tqdm import tqdm as plain

    from progressista.client import RemoteTqdm

    # Virtual clocks, C callables costing about what time.time() costs: one reading each call.
    def clock(step: float) -> Callable[[], float]:
        return itertools.count(1_000_000.0, step).__next__

    # tqdm's monitor thread (started by the first bar, as at full speed) compares its own clock with the
    # bars': give it one that stands still (float() is 0.0), so it never acts. At full speed it would
    # not act either: it looks every 10 s, and no bar here lasts a second.
    cast(Any, tqdm.std).TMonitor._test["time"] = float
    tqdm.std.time = clock(1e-6)  # type: ignore[attr-defined]  # a bar takes it as its _time
    devnull = open(os.devnull, "w")  # noqa: SIM115
    cls = plain if kind == "tqdm" else RemoteTqdm
    options: dict[str, Any] = {} if kind == "tqdm" else {"server_url": url}
    warm = {"tqdm": plain(total=None, file=devnull), "RemoteTqdm": RemoteTqdm(total=None, file=devnull, server_url=url)}
    warm_up: tuple[tuple[Any, dict[str, Any]], ...] = ((plain, {}), (RemoteTqdm, {"server_url": url}))
    for warm_cls, warm_options in warm_up:
        for _ in warm_cls(range(10), file=devnull, **warm_options):  # lazy imports, the sender thread
            pass
    if case == "display":
        bar = warm[kind]
        for _ in range(count):
            bar.n += 1
            bar.refresh()
    elif case == "iterations":
        tqdm.std.time = clock(pace)  # type: ignore[attr-defined]  # read once an iteration until the first redraw
        for _ in range(count):
            for _ in cls(range(iterations), file=devnull, **options):
                pass
    elif case == "bars":
        for _ in range(count):
            for _ in cls(range(1_000), file=devnull, **options):
                pass
    for bar in warm.values():
        bar.close()


def thread_instructions(out: Path) -> tuple[int, int]:
    """Instructions of the main thread and of all the others, from callgrind's per-thread files ``out-NN``."""
    main = others = 0
    for path in sorted(out.parent.glob(out.name + "-*")):
        match = re.search(r"^totals: (\d+)", path.read_text(errors="replace"), re.MULTILINE)
        total = int(match.group(1)) if match else 0
        if path.name.endswith("-01"):
            main = total
        else:
            others += total
    return main, others


@dataclass(frozen=True)
class Job:
    """One counted child: a case, a class and how many units of the case."""

    case: str
    kind: str
    count: int


def counted(job: Job, url: str, pace: float, iterations: int, work: Path) -> tuple[int, int]:
    """Run one child under callgrind; its main thread's instructions and the other threads'."""
    out = work / f"{job.case}.{job.kind}.{job.count}"
    command = ["valgrind", "--tool=callgrind", "--separate-threads=yes", f"--callgrind-out-file={out}"]
    command += [sys.executable, __file__, "--child", job.case, "--kind", job.kind, "--url", url]
    command += ["--count", str(job.count), "--pace", repr(pace), "--iterations", str(iterations)]
    # A fixed hash seed: set and dict layouts, and so the instructions, are the same from run to run.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROGRESSISTA_")}
    env.update(PYTHONHASHSEED="0", PROGRESSISTA_QUIET="1")
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return thread_instructions(out)


#: Per case and class: (main-thread instructions per unit, other threads' per unit), start-up subtracted.
Result = dict[str, dict[str, tuple[float, float]]]


def measure(bars: int = 100, displays: int = 2_000, iterations: int = 2_000_000, pace: float = 2.5e-7) -> Result:
    """Count every case for both classes (two children at a time: counts do not depend on the load)."""
    counts = {"baseline": 0, "display": displays, "iterations": 1, "bars": bars}
    jobs = [Job(case, kind, count) for case, count in counts.items() for kind in CLASSES]
    with server(nice=19, PROGRESSISTA_MAX_TASKS="100000") as live, tempfile.TemporaryDirectory() as tmp:
        with ThreadPoolExecutor(2) as pool:
            found = dict(
                zip(jobs, pool.map(lambda job: counted(job, live.url, pace, iterations, Path(tmp)), jobs), strict=True)
            )
    result: Result = {}
    for job, (main, others) in found.items():
        if job.count:
            base_main, base_others = found[Job("baseline", job.kind, 0)]
            result.setdefault(job.case, {})[job.kind] = (
                (main - base_main) / job.count,
                (others - base_others) / job.count,
            )
    return result


LABELS = {
    "display": "instructions per display()",
    "iterations": "instructions per iteration, one bar of {iterations}, default refresh",
    "bars": "instructions per short bar (1,000 iterations; {bars} bars)",
}


def rows(result: Result, bars: int, iterations: int, pace: float) -> list[Row]:
    """The table rows; the long bar's figure with every redraw it would make at full speed (see the docstring)."""
    table = []
    # The long bar's clock advances once a reading: after its first redraw, when tqdm starts reading it only
    # every `miniters` iterations, virtual time slows down, and the redraws due later are missing. Add them.
    missing = max(0.0, iterations * pace / 0.1 - 1)
    for case, label in LABELS.items():
        plain, _ = result[case]["tqdm"]
        remote, sender = result[case]["RemoteTqdm"]
        unit = 1
        if case == "iterations":
            plain += missing * result["display"]["tqdm"][0]
            remote += missing * result["display"]["RemoteTqdm"][0]
            unit = iterations
        ratio = remote / plain
        target = TARGETS.get(case)
        text = label.format(iterations=f"{iterations:,}", bars=bars)
        table.append(
            Row(
                f"client (callgrind): {text}",
                f"{remote / unit:,.1f} (+ sender {sender / unit:,.1f})",
                f"tqdm {plain / unit:,.1f}",
                ratio,
                "" if target is None else f"<= {target:.2f}x",
                None if target is None else ratio <= target,
            )
        )
    return table


def run(bars: int = 100, displays: int = 2_000, iterations: int = 2_000_000, pace: float = 2.5e-7) -> list[Row]:
    """For ``bench/run_all.py``: the table rows (one row saying so when valgrind is missing)."""
    if shutil.which("valgrind") is None:
        return [Row("client (callgrind): valgrind is not installed", "skipped")]
    return rows(measure(bars, displays, iterations, pace), bars, iterations, pace)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bars", type=int, default=100, help="short bars counted")
    parser.add_argument("--displays", type=int, default=2_000, help="refresh() calls counted")
    parser.add_argument("--iterations", type=int, default=2_000_000, help="iterations of the long bar")
    parser.add_argument("--pace", type=float, default=2.5e-7, help="virtual seconds per iteration of the long bar")
    parser.add_argument("--child", choices=CASES, help=argparse.SUPPRESS)
    parser.add_argument("--kind", choices=CLASSES, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.child:
        child(options.child, options.kind, options.url, options.count, options.pace, options.iterations)
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed", file=sys.stderr)
        return 2
    print_table(run(options.bars, options.displays, options.iterations, options.pace))
    return 0


if __name__ == "__main__":
    sys.exit(main())
