"""How both dashboards write numbers: amounts, rates, durations, ages, ETAs and percentages.

The browser's ``static/js/format.js`` implements the same functions; the cases
in ``format_cases.json`` beside this file are checked against both (the Python
tests, and the same file run in Chromium), so a card reads the same in the
browser, in ``progressista watch`` and in ``progressista tasks ls``.

>>> task = {"status": "update", "n": 480, "total": 1000, "rate": 12.3, "elapsed": 39.0, "unit": "it"}
>>> task_figures(task)
{'percent': '48%', 'amount': '480/1,000 it', 'rate': '12.3 it/s', 'elapsed': '00:39 elapsed', 'eta': 'ETA 00:42'}
>>> format_amount(61.2, 148, "GB"), format_amount(803_442, 1_280_000)
('61.2/148 GB', '803k/1.28M it')
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .groups import BUCKETS
from .statuses import ACTIVE
from .task import finite

__all__ = [
    "eta_seconds",
    "format_age",
    "format_amount",
    "format_count",
    "format_duration",
    "format_percent",
    "format_rate",
    "format_since",
    "fraction",
    "group_counts",
    "group_figures",
    "rate_of",
    "task_figures",
]

Task = Mapping[str, Any]

_SI = ("", "k", "M", "G", "T", "P", "E")
_STEPS = {digits: Decimal(1).scaleb(-digits) for digits in range(3)}


def _unit(unit: object) -> str:
    return unit if isinstance(unit, str) and unit else "it"


def fraction(task: Task) -> float | None:
    """Done share in [0, 1], or ``None`` when the total is unknown."""
    total = finite(task.get("total"))
    if total is None or total <= 0:
        return None
    n = finite(task.get("n")) or 0.0
    return min(1.0, max(0.0, n / total))


def rate_of(task: Task) -> float | None:
    """Units per second: the bar's own ``rate``, else ``n / elapsed`` (a task posted without a rate)."""
    rate = finite(task.get("rate"))
    if rate is not None and rate > 0:
        return rate
    n, elapsed = finite(task.get("n")), finite(task.get("elapsed"))
    if n and elapsed and n > 0 and elapsed > 0:
        return n / elapsed or None  # 0.0 when the quotient underflows: no rate to divide by
    return None


def eta_seconds(task: Task) -> float | None:
    """Seconds left for a running task with a known total and rate; ``None`` otherwise."""
    if task.get("status") not in ACTIVE:
        return None
    total, rate = finite(task.get("total")), rate_of(task)
    if total is None or total <= 0 or rate is None:
        return None
    # In floats, as JavaScript: an int difference past the float range is Infinity, not OverflowError.
    return max(0.0, (float(total) - float(finite(task.get("n")) or 0.0)) / rate)


def _fixed(x: float, digits: int) -> str:
    """``x`` with ``digits`` decimals, ties away from zero: what JavaScript's ``toFixed`` gives.

    (Python's own formatting rounds an exact tie such as 1.125 to even.) From 1e21 up,
    ``toFixed`` writes the number as ``String`` does (``1e+21``); so does this, where
    ``quantize`` would raise (more digits than its context's 28).
    """
    if not math.isfinite(x):  # 1 / a subnormal rate
        return "Infinity" if x > 0 else "-Infinity"
    if abs(x) >= 1e21:
        return repr(float(x))
    return str(Decimal(x + 0.0).quantize(_STEPS[digits], rounding=ROUND_HALF_UP))  # + 0.0: no "-0.00"


def _short(x: float) -> str:
    """Three significant digits with an SI suffix from 1000 up, like tqdm."""
    index = 0
    while abs(x) >= 999.5 and index < len(_SI) - 1:
        x /= 1000
        index += 1
    size = abs(x)
    digits = 0 if size >= 99.95 else 1 if size >= 9.995 else 2
    return f"{_fixed(x, digits)}{_SI[index]}"


def format_count(x: float) -> str:
    """``1,234`` for whole numbers, ``2.50`` for fractions, ``1.28M`` from a million up."""
    if abs(x) >= 1e6:
        return _short(x)
    if x == int(x):
        return f"{int(x):,}"
    return _fixed(x, 1 if abs(x) >= 100 else 2)


def format_amount(n: object, total: object, unit: object = "it") -> str:
    """``480/1,000 it``; ``42 it`` without a total; one style for both numbers: ``803k/1.28M it``, ``61.2/148 GB``."""
    done = finite(n) or 0.0
    whole = finite(total)
    if whole is not None and whole <= 0:
        whole = None
    if whole is None:
        return f"{format_count(done)} {_unit(unit)}"
    if max(abs(done), abs(whole)) >= 1e6 or done != int(done) or whole != int(whole):
        return f"{_short(done)}/{_short(whole)} {_unit(unit)}"
    return f"{format_count(done)}/{format_count(whole)} {_unit(unit)}"


def format_rate(rate: object, unit: object = "it") -> str:
    """``12.3 it/s``, or ``2.50 s/it`` below one per second; ``""`` when unknown."""
    value = finite(rate)
    if value is None or value <= 0:
        return ""
    return f"{_short(value)} {_unit(unit)}/s" if value >= 1 else f"{_short(1 / value)} s/{_unit(unit)}"


def format_duration(seconds: object) -> str:
    """``00:42``, ``1:02:03``, or ``3d 4h`` from two days up; ``""`` when unknown."""
    value = finite(seconds)
    if value is None:
        return ""
    s = max(0, math.floor(value + 0.5))  # half up, as JavaScript's Math.round
    days = s // 86400
    if days >= 2:
        return f"{days}d {(s % 86400) // 3600}h"
    hours, s = divmod(s, 3600)
    minutes, s = divmod(s, 60)
    return f"{hours}:{minutes:02d}:{s:02d}" if hours else f"{minutes:02d}:{s:02d}"


def format_since(seconds: object) -> str:
    """A coarse span, largest unit only: ``0s``, ``12s``, ``5m``, ``3h``, ``2d``."""
    value = finite(seconds)
    if value is None or value < 0:
        return "0s"
    if value < 60:
        return f"{int(value)}s"
    if value < 3600:
        return f"{int(value // 60)}m"
    if value < 86400:
        return f"{int(value // 3600)}h"
    return f"{int(value // 86400)}d"


def format_age(seconds: object) -> str:
    """``just now``, ``12s ago``, ``5m ago``, ``3h ago``, ``2d ago``."""
    value = finite(seconds)
    if value is None or value < 2:
        return "just now"
    return f"{format_since(value)} ago"


def format_percent(share: object) -> str:
    """``48%`` (rounded down, so 100% means done); ``""`` when unknown."""
    value = finite(share)
    return "" if value is None else f"{math.floor(value * 100)}%"


def task_figures(task: Task) -> dict[str, str]:
    """The figures of a task card, as text; ``""`` for those that do not apply.

    ``percent`` and ``amount`` of the bar, ``rate`` (its own, else ``n / elapsed``),
    ``elapsed`` and, while it runs, ``eta``.
    """
    unit = task.get("unit")
    elapsed = format_duration(task.get("elapsed"))
    eta = eta_seconds(task)
    return {
        "percent": format_percent(fraction(task)),
        "amount": format_amount(task.get("n"), task.get("total"), unit),
        "rate": format_rate(rate_of(task), unit),
        "elapsed": f"{elapsed} elapsed" if elapsed else "",
        "eta": "" if eta is None else f"ETA {format_duration(eta)}",
    }


def group_figures(group: Mapping[str, Any]) -> dict[str, str]:
    """The figures of a group row (a :func:`.groups.aggregate`), as text; ``""`` for those that do not apply.

    >>> group_figures({"n": 30, "total": 200, "unit": "it", "progress": 0.15, "rate": 3.0, "eta": 56.7,
    ...                "unknown_totals": 1, "members": 3, "counts": {"active": 2, "done": 1}})["amount"]
    '30/200 it'
    """
    if finite(group.get("members")) == 0:  # only a run task, no bar yet: nothing to sum, nothing to count
        return dict.fromkeys(("percent", "amount", "unknown", "rate", "eta", "counts"), "")
    unit = group.get("unit")
    amount = ""
    if unit is None:
        amount = "mixed units"
    elif group.get("n") is not None:
        amount = format_amount(group.get("n"), group.get("total"), unit)
    unknown = finite(group.get("unknown_totals")) or 0
    eta = finite(group.get("eta"))
    return {
        "percent": format_percent(group.get("progress")),
        "amount": amount,
        "unknown": f"{int(unknown)} without total" if unknown else "",
        "rate": "" if unit is None else format_rate(group.get("rate"), unit),
        "eta": "" if eta is None else f"ETA {format_duration(eta)}",
        "counts": group_counts(group),
    }


def group_counts(group: Mapping[str, Any]) -> str:
    """``5 tasks: 2 active · 1 lost · 2 done``: members per bucket, empty buckets left out; ``""`` for none."""
    counts = group.get("counts") or {}
    if finite(group.get("members")) == 0:
        return ""
    members = int(finite(group.get("members")) or 0)
    split = " · ".join(f"{counts[bucket]} {bucket}" for bucket in BUCKETS if counts.get(bucket))
    return f"{members} task{'' if members == 1 else 's'}: {split}"
