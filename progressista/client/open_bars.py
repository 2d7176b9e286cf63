"""The process's open bars: ending them (:func:`finish_open_bars`, at exit) and keeping them heard from.

- At interpreter exit, before the sender's final flush, every reporting bar
  still open ends: ``close``, or ``error`` when an uncaught exception is
  ending the program (``meta["signal"] = "SIGINT"`` for Ctrl-C).
- The heartbeat, on the sender thread: an open bar that has not reported for
  ``PROGRESSISTA_HEARTBEAT_INTERVAL`` seconds (tqdm skips displays of a slow
  loop) is re-sent, so the server marks a slow job ``stale``, never ``lost``,
  while its process lives.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import Any, cast

from tqdm.std import tqdm as std_tqdm

from .. import sender as _sender
from ..config import ClientConfig
from . import reporting, task
from .meta import failure_meta, meta_with
from .task import finish_open_tasks

__all__ = ["finish_open_bars", "open_bars"]


def open_bars() -> list[Any]:
    """This process's reporting bars that are still open (not those inherited through fork).

    ``RemoteTqdm`` bars, and under the patch any tqdm bar.
    """
    for _ in range(5):
        try:
            bars = list(cast(Any, std_tqdm)._instances)
            break
        except RuntimeError:  # the set changed while copying it: another thread opened or closed a bar
            continue
    else:
        return []
    return [
        bar
        for bar in bars
        if (remote := reporting.remote_of(bar)) is not None
        and not remote.finished
        and remote.generation == _sender.generation
    ]


def finish_open_bars(status: str = "close", meta: Mapping[str, Any] | None = None) -> int:
    """Report ``status`` for every reporting bar of this process still open; returns how many.

    With ``"error"``, closes held back from interrupted loops become errors
    too. ``meta`` is added to each bar's meta in that final event (e.g.
    ``{"signal": "SIGTERM"}``; left out if the result would pass the size limit).
    The console bars are left alone. The open tasks that are no tqdm bars (other
    libraries' bars, see :mod:`.task`) end too. ``progressista run``, its signal
    handling and the exit hook call this.
    """
    count = finish_open_tasks(status, meta)
    for bar in open_bars():
        reporting.finish(bar, status, meta=meta)
        count += 1
    sender = _sender.current()
    if status == "error" and sender is not None:
        extend = None
        if meta:
            extra = dict(meta)

            def extend(event: dict[str, Any]) -> None:
                event["meta"] = meta_with(event.get("meta") or {}, extra)

        count += sender.fail_held(extend)
    return count


def _exit_hook() -> None:
    # sys.last_value (3.12+: last_exc) is set when the interpreter printed an uncaught exception.
    died = getattr(sys, "last_exc", None) or getattr(sys, "last_value", None)
    finish_open_bars("error" if died is not None else "close", failure_meta(died))


def _heartbeat() -> None:
    interval = _heartbeat_interval()
    now = time.monotonic()
    task.heartbeat(interval, now)  # the open tasks that are no tqdm bars, on the same beat
    for bar in open_bars():
        remote = reporting.remote_of(bar)
        if remote is not None and now - remote.last_push >= interval * 0.9:
            reporting.push(bar, "update", heartbeat=True)


def _heartbeat_interval() -> float:
    return ClientConfig.from_env().heartbeat_interval


_sender.before_exit(_exit_hook)
_sender.periodically(_heartbeat, _heartbeat_interval)
