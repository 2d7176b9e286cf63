"""A bar's state as the wire event: what :class:`~progressista.client.RemoteTqdm` hands the sender.

Every event carries the bar's full state, so a server that lost its tasks
rebuilds them from the next one. Values are cut to the limits of
:mod:`progressista.protocol.task` (the server refuses longer ones) and numbers
are finite (:func:`~progressista.protocol.task.finite`: the server refuses NaN
and infinities):

>>> import io
>>> from tqdm import tqdm
>>> with tqdm(total=10, desc="Phase 1", unit="rows", file=io.StringIO()) as bar:
...     _ = bar.update(4)
...     event = bar_event(bar, "update", task_id="job:1", seq=2, meta={}, pid=42)
>>> event["desc"], event["n"], event["total"], event["unit"], event["seq"], event["pid"]
('Phase 1', 4, 10, 'rows', 2, 42)
>>> number(float("nan")), number(3.5), number(True)
(None, 3.5, 1)
"""

from __future__ import annotations

import itertools
import math
import numbers
import operator
import os
import secrets
import socket
import time
from collections.abc import Mapping
from typing import Any

from ..protocol.task import MAX_DESC, MAX_HOST, MAX_POSTFIX, MAX_TASK_ID, MAX_UNIT, PROGRESS_FIELDS, finite

__all__ = ["HOST", "bar_event", "new_task_id", "number", "same_progress"]

#: Where the bars of this process run, as every event says.
HOST = socket.gethostname()[:MAX_HOST] or "localhost"
_bar_numbers = itertools.count(1)


def new_task_id(run_id: str | None) -> str:
    """A made-up task id, ``{host}-{process}-{n}``, after ``{run_id}:`` when there is a run.

    ``process`` is this process's pid in base 36 followed by 5 random base-36
    digits (drawn again after a fork), ``n`` counts the bars of the process:
    ``gpu01-2n9ckq7x1-3``. Two live processes of a host differ by pid; a pid used
    again later, or one of another container with the same hostname, differs by
    the random digits (1 in 60 million). The run prefix makes a run's bars one group
    on the dashboards.

    >>> new_task_id("train-0605-1430-9f3a").startswith(f"train-0605-1430-9f3a:{HOST}-")
    True
    """
    pid = os.getpid()
    if _process[0] != pid:  # the first bar, or the first after a fork
        _process[:] = [pid, f"{HOST}-{_base36(pid)}{_base36(secrets.randbelow(36**5)).rjust(5, '0')}-"]
    task_id = f"{_process[1]}{next(_bar_numbers)}"
    if run_id is not None:
        task_id = f"{run_id}:{task_id}"
    return task_id[:MAX_TASK_ID]


#: ``[pid, "{host}-{process}-"]`` for the process that made the last id.
_process: list[Any] = [0, ""]


def _base36(number: int) -> str:
    """``number`` (0 or more) in base 36, lower case.

    >>> _base36(0), _base36(35), _base36(4194304)
    ('0', 'z', '2hwcg')
    """
    digits = ""
    while True:
        number, digit = divmod(number, 36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[digit] + digits
        if not number:
            return digits


def bar_event(bar: Any, status: str, task_id: str, seq: int, meta: dict[str, Any], pid: int) -> dict[str, Any]:
    """The full state of ``bar`` (a tqdm) as the wire format wants it.

    This runs for every report, so the usual types take fast paths (an ``int``
    count, ``str`` texts); anything else goes through :func:`number` or ``str``.
    A count that is no finite number is left out (the server keeps the last one).
    """
    n = bar.n
    if type(n) is not int:
        n = number(n)
    elapsed = bar._time() - bar.start_t if hasattr(bar, "start_t") else 0.0
    ema_dt = bar._ema_dt()
    rate = bar._ema_dn() / ema_dt if ema_dt else None
    if rate is None and elapsed and n is not None:
        rate = (n - bar.initial) / elapsed  # what tqdm shows when it has no smoothed rate
    if rate is not None and not math.isfinite(rate):  # a float here; finite() would cost 5x on this hot path
        rate = None
    desc = bar.desc
    if type(desc) is not str:
        desc = str(desc or "")
    if desc.endswith(": "):  # set_description() appends it for the console
        desc = desc[:-2]
    unit = bar.unit
    if type(unit) is not str:
        unit = str(unit)
    postfix = bar.postfix
    if postfix is not None:
        postfix = (postfix if type(postfix) is str else str(postfix))[:MAX_POSTFIX] or None
    event: dict[str, Any] = {
        "task_id": task_id,
        "status": status,
        "desc": desc[:MAX_DESC] or None,
        "unit": unit[:MAX_UNIT],
        "timestamp": time.time(),
        "elapsed": elapsed,
        "rate": rate,
        "postfix": postfix,
        "meta": meta,
        "seq": seq,
        "host": HOST,
        "pid": pid,
    }
    if n is not None:
        event["n"] = n
    total = bar.total
    if total is None or type(total) is int:
        event["total"] = total
    elif (total := number(total)) is not None:
        event["total"] = total
    return event


def number(value: Any) -> int | float | None:
    """``value`` as a number the server accepts (finite), or ``None``.

    Ints and floats pass as they are; other numbers (numpy's, ``Decimal``,
    ``Fraction``, a bool) are converted first.
    """
    kept = finite(value)
    if kept is not None or value is None or isinstance(value, float):
        return kept  # a finite int or float; or None, NaN or an infinity
    try:
        return finite(operator.index(value) if isinstance(value, numbers.Integral) else float(value))
    except (TypeError, ValueError, OverflowError):
        return None


def same_progress(event: Mapping[str, Any], last: Mapping[str, Any]) -> bool:
    """Does ``event`` show the progress ``last`` showed? (The same :data:`.PROGRESS_FIELDS`, the server's test too.)"""
    return all(event.get(name) == last.get(name) for name in PROGRESS_FIELDS)
