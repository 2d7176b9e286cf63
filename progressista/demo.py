"""A minute of realistic bars that shows every state the dashboards know: what ``progressista demo`` runs.

>>> from progressista.demo import run_demo
>>> run_demo(duration=60)  # doctest: +SKIP
0

Two runs, each a group (the tasks of a run share its id as their prefix):

- ``prep-…``: a download and a tokeniser that finish early, so the group is done;
- ``train-…``: training bars that run the whole time and finish at the end;
  an evaluation that fails with an exception (``error``, its reason shown); a
  bar that stops making progress but stays open (``stale``, once the server's
  stale window has passed); and a worker whose process "dies" (it stops
  reporting at all: ``lost``, once the server's lost window has passed).

Every moment is a share of ``duration``, so a short demo (the tests') shows
the same story faster. :func:`timeline` is the plan, printed before it runs.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from . import notices
from .client import RemoteTqdm
from .config import ClientConfig, auth_headers
from .protocol.format import format_duration
from .protocol.urls import progress_url, server_urls

__all__ = ["Demo", "run_demo", "timeline"]


@dataclass(frozen=True)
class Demo:
    """The plan: ids, and when (a share of ``duration``) each thing happens."""

    stamp: str
    duration: float
    workers: int = 3

    @property
    def prep(self) -> str:
        return f"prep-{self.stamp}"

    @property
    def train(self) -> str:
        return f"train-{self.stamp}"

    def at(self, share: float) -> float:
        return share * self.duration


#: When each event happens, as a share of the demo's duration.
DIES, GOES_QUIET, DOWNLOADED, TOKENISED, FAILS, ENDS = 0.1, 0.2, 0.3, 0.4, 0.5, 1.0


def timeline(demo: Demo, dashboard: str) -> list[str]:
    """What the demo will show, when; the lines it prints first."""

    def when(share: float) -> str:
        return format_duration(demo.at(share))

    return [
        f"Demo for {format_duration(demo.duration)}: two runs, {demo.prep} and {demo.train}.",
        f"  Dashboard: {dashboard}",
        f"  Terminal:  progressista watch --url {server_urls(dashboard).base}",
        f"  {when(0)}  {demo.workers + 4} bars start (Active)",
        f"  {when(DIES)}  {demo.train}:worker-{demo.workers + 1} stops reporting: lost after the server's lost window",
        f"  {when(GOES_QUIET)}  {demo.train}:lock stops making progress: stale after the server's stale window",
        f"  {when(DOWNLOADED)}  {demo.prep}:download finishes (Completed)",
        f"  {when(TOKENISED)}  {demo.prep}:tokenise finishes: the prep run is done",
        f"  {when(FAILS)}  {demo.train}:eval fails: RuntimeError: CUDA out of memory (an error with its reason)",
        f"  {when(ENDS)}  the training bars finish",
    ]


def run_demo(
    duration: float = 60.0,
    workers: int = 3,
    server_url: str | None = None,
    token: str | None = None,
    file: TextIO | None = None,
    out: Callable[[str], None] = print,
) -> int:
    """Run the demo for ``duration`` seconds with ``workers`` training bars; returns 0.

    ``server_url``/``token`` default to ``PROGRESSISTA_SERVER_URL``/``PROGRESSISTA_API_TOKEN``.
    A refused token or an unreachable server gets a one-line warning
    (:mod:`progressista.notices`); the bars run anyway. ``out`` prints the plan.
    """
    config = ClientConfig.from_env()
    url = server_url or config.server_url
    token = token or config.api_token
    _check_server(url, token)
    demo = Demo(time.strftime("%H%M%S"), duration, workers)
    dashboard = server_urls(url).base + "/" + (f"?token={token}" if token else "")
    for line in timeline(demo, dashboard):
        out(line)
    options: dict[str, Any] = {"server_url": url, "headers": auth_headers(token), "file": file, "mininterval": 0.05}
    start = time.monotonic()
    actors: list[Callable[[], None]] = [
        lambda: _steady(demo, f"{demo.prep}:download", "Downloading shards", "MB", DOWNLOADED, 0, options, start),
        lambda: _steady(demo, f"{demo.prep}:tokenise", "Tokenising corpus", "docs", TOKENISED, 1, options, start),
        *(
            (
                lambda i=i: _steady(
                    demo, f"{demo.train}:worker-{i}", f"Training, worker {i}", "batch", ENDS, i + 1, options, start
                )
            )
            for i in range(1, workers + 1)
        ),
        lambda: _dies(demo, options, start),
        lambda: _goes_quiet(demo, options, start),
        lambda: _fails(demo, options, start),
    ]
    threads = [threading.Thread(target=actor, name=f"demo-{index}") for index, actor in enumerate(actors)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return 0


def _until(start: float, moment: float) -> None:
    time.sleep(max(0.0, start + moment - time.monotonic()))


def _bar(demo: Demo, task_id: str, desc: str, unit: str, position: int, options: dict[str, Any]) -> RemoteTqdm[Any]:
    meta = {"demo": True, "run": task_id.split(":", 1)[0]}
    return RemoteTqdm(total=100, desc=desc, unit=unit, position=position, task_id=task_id, meta=meta, **options)


def _advance(bar: RemoteTqdm[Any], rng: random.Random, start: float, until: float, share: float = 1.0) -> None:
    """Move ``bar`` to ``share`` of its total by ``until`` (monotonic), in steps, with a loss that falls."""
    steps = max(1, round(float(bar.total or 100) * share) - int(bar.n))
    loss = 2.5 + rng.random()
    for step in range(steps):
        _until(start, (until - start) * (step + 1) / steps)
        loss *= rng.uniform(0.97, 0.999)
        bar.set_postfix(loss=f"{loss:.3f}", refresh=False)
        bar.update(1)


def _steady(
    demo: Demo, task_id: str, desc: str, unit: str, ends: float, position: int, options: dict[str, Any], start: float
) -> None:
    with _bar(demo, task_id, desc, unit, position, options) as bar:
        _advance(bar, random.Random(task_id), start, start + demo.at(ends))


def _dies(demo: Demo, options: dict[str, Any], start: float) -> None:
    task_id = f"{demo.train}:worker-{demo.workers + 1}"
    bar = _bar(demo, task_id, f"Training, worker {demo.workers + 1}", "batch", demo.workers + 2, options)
    _advance(bar, random.Random(task_id), start, start + demo.at(DIES), share=0.15)
    bar.refresh()
    bar.detach()  # as if its process were killed: no close, no heartbeat; the server marks it lost
    bar.close()


def _goes_quiet(demo: Demo, options: dict[str, Any], start: float) -> None:
    bar = _bar(demo, f"{demo.train}:lock", "Waiting on a lock", "step", demo.workers + 3, options)
    _advance(bar, random.Random("lock"), start, start + demo.at(GOES_QUIET), share=0.4)
    bar.refresh()
    _until(start, demo.at(ENDS))  # open and heard from (the heartbeat), without progress: stale
    bar.detach()  # left open when the demo ends
    bar.close()


def _fails(demo: Demo, options: dict[str, Any], start: float) -> None:
    try:
        with _bar(demo, f"{demo.train}:eval", "Evaluating", "sample", demo.workers + 4, options) as bar:
            _advance(bar, random.Random("eval"), start, start + demo.at(FAILS), share=0.6)
            raise RuntimeError("CUDA out of memory: tried to allocate 2.10 GiB")
    except RuntimeError:
        pass  # the bar ended as an error, with this reason


def _check_server(url: str, token: str | None) -> None:
    """One line on stderr if the bars would not show (a refused token, no server): as the bars post."""
    notice = notices.check_server(progress_url(url), auth_headers(token), ClientConfig.from_env().request_timeout)
    if notice is not None:
        notices.say(*notice)
