"""What a task card and a group row say: their text as styled spans, written by :mod:`progressista.protocol.format`.

Pure: the standard library and :mod:`progressista.protocol` only. Every number on
a row is a figure of ``task_figures`` or ``group_figures``, the same text the
browser's cards show; a task whose key has history also says how long it usually
takes (:func:`usual_figure`) and, once it runs
:data:`~progressista.protocol.history.SLOW_FACTOR` times that, that it is slower
than usual (:func:`is_slow`). ``progressista watch`` fits a :class:`RowText` to
its column (:mod:`progressista.tui.rows`); ``progressista tasks ls`` draws its
bars with :func:`bar_parts`.

>>> card = task_row("etl:extract", {"status": "update", "n": 40, "total": 100, "rate": 4.0, "updated_at": 20.0},
...                 now=35.0, indent=1)
>>> card.plain
['  ▍ etl:extract 15s ago', '  ▍ 40%', '  ▍ 40/100 it · 4.00 it/s · ETA 00:15', '  ▍ ']
>>> group_row("etl", {"status": "error", "members": 2, "counts": {"active": 1, "error": 1}}, now=0).details
(('2 tasks: ', 'details'), ('1 active', 'gutter-active'), (' · ', 'details'), ('1 error', 'gutter-error'))
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from progressista.protocol.format import (
    format_age,
    format_duration,
    format_since,
    fraction,
    group_figures,
    task_figures,
)
from progressista.protocol.history import USUAL_FIELD, slower_than_usual
from progressista.protocol.reasons import reason
from progressista.protocol.statuses import STATUS_LABELS
from progressista.protocol.task import finite
from progressista.protocol.text import shown_id, shown_text

from .board import seen_at, updated_at

__all__ = [
    "SLOW_MARK",
    "SLOW_TONE",
    "TONES",
    "USUAL_LABEL",
    "RowText",
    "Span",
    "bar_parts",
    "group_clock",
    "group_numbers",
    "group_row",
    "is_slow",
    "shown_figures",
    "task_clock",
    "task_row",
    "usual_figure",
]

Task = Mapping[str, Any]


def bar_parts(share: float | None, width: int) -> tuple[str, str]:
    """A bar ``width`` cells wide as (done, remaining) text, to style apart.

    Half-cell resolution with ``━``/``╸``; an unknown total gives ``("", "╍╍╍…")``.

    >>> bar_parts(0.55, 10)
    ('━━━━━╸', '━━━━')
    """
    width = max(0, width)
    if share is None:
        return "", "╍" * width
    halves = math.floor(min(1.0, max(0.0, share)) * width * 2)
    full, half = divmod(halves, 2)
    done = "━" * full + ("╸" if half else "")
    return done, "━" * (width - len(done))


Span = tuple[str, str]
"""Some text and the names of its styles, space separated (``""``: none); the TUI draws
``"gutter-error"`` with its ``task-list--gutter-error`` component class."""

#: Which colour a status (a task's, or a group's worst) is drawn in; also the names of the count buckets.
TONES = {"start": "active", "update": "active", "stale": "stale", "lost": "lost", "close": "done", "error": "error"}
_MARKS = {"start": "◌ ", "close": "✓ ", "error": "✗ "}
#: What a group row says after its name when its worst member needs a look.
_BADGES = {"stale": "STALE", "lost": "LOST", "error": "ERROR"}
_DOT = " · "
#: What a card's usual duration starts with: ``usual 12:23`` (the duration written as elapsed and ETA are).
USUAL_LABEL = "usual "
#: What a card says after its usual duration while the task runs slower than usual.
SLOW_MARK = "slower than usual"
#: The colour of a running card slower than usual (gutter, bar and mark): none of the statuses' own.
SLOW_TONE = "slow"


@dataclass(frozen=True)
class RowText:
    """What one row says, a task card or a group row, before it is fit to a width.

    Four lines behind a coloured ``lead`` (the gutter): the ``title`` with the
    ``age`` flush right; a bar of ``share`` (``None``: unknown total) drawn in
    ``bar`` style, with ``percent``; the ``numbers``; the ``details``.
    """

    lead: Span
    title: tuple[Span, ...]
    age: str
    share: float | None
    bar: str
    percent: str
    numbers: tuple[Span, ...]
    details: tuple[Span, ...]

    @property
    def plain(self) -> list[str]:
        """The four lines as plain text, nothing cut, the bar left out (the percentage stays)."""
        lead = self.lead[0]
        title = "".join(text for text, _ in self.title)
        return [
            f"{lead}{title} {self.age}".rstrip(),
            f"{lead}{self.percent}".rstrip(),
            lead + "".join(text for text, _ in self.numbers),
            lead + "".join(text for text, _ in self.details),
        ]


def shown_figures(figures: Mapping[str, str]) -> dict[str, str]:
    """Figures as shown: the unit in them is task text (:func:`~progressista.protocol.text.shown_text`).

    >>> shown_figures(task_figures({"n": 3, "total": None, "unit": "rows\\x1b[2J"}))["amount"]
    '3 rows<U+001B>[2J'
    """
    return {key: shown_text(text) for key, text in figures.items()}


def task_clock(task: Task, now: float) -> tuple[str, str]:
    """A card's text that moves with the clock: its age, and how long a lost task is silent or a stale one idle."""
    age = format_age(now - updated_at(task)) if task else ""
    status = task.get("status")
    if status == "lost":
        return age, format_since(now - seen_at(task))
    return age, format_since(now - updated_at(task)) if status == "stale" else ""


def usual_figure(task: Task) -> str:
    """``usual 12:23``: how long the task's key usually takes (its ``usual_duration``), ``""`` without one.

    >>> usual_figure({"usual_duration": 743.2}), usual_figure({"usual_duration": 7300}), usual_figure({})
    ('usual 12:23', 'usual 2:01:40', '')
    """
    seconds = finite(task.get(USUAL_FIELD))
    return "" if seconds is None or seconds < 0 else USUAL_LABEL + format_duration(seconds)


def is_slow(task: Task, now: float) -> bool:
    """Whether an open task with a usual duration has run :data:`~progressista.protocol.history.SLOW_FACTOR`
    times it by ``now`` (:func:`~progressista.protocol.history.slower_than_usual`); it moves with the clock.

    >>> task = {"status": "update", "created_at": 100.0, "usual_duration": 10.0}
    >>> is_slow(task, now=114.0), is_slow(task, now=116.0), is_slow({**task, "status": "close"}, now=116.0)
    (False, True, False)
    """
    return finite(task.get(USUAL_FIELD)) is not None and slower_than_usual(task, now)


def group_clock(group: Mapping[str, Any], now: float) -> str:
    """A group row's age: since its newest member moved."""
    stamp = finite(group.get("updated_at"))
    return format_age(now - stamp) if stamp is not None else ""


def task_row(task_id: str, task: Task, now: float, indent: int = 0) -> RowText:
    """A task card: status mark and description (else the id); bar; amount, rate, then ETA (running),
    ``idle …`` (stale) or ``no contact for …`` (lost), then ``usual …`` (:func:`usual_figure`) and, past
    it, ``slower than usual`` (:func:`is_slow`: a running card, gutter and bar, takes :data:`SLOW_TONE`;
    a stale one keeps its own), then elapsed; why it failed
    (:func:`~progressista.protocol.reasons.reason`, first: a narrow column cuts the rest), postfix, id and host:pid.

    The figures are the browser card's, to the letter (:func:`~progressista.protocol.format.task_figures`).

    >>> task_row("a", {"status": "update", "desc": "Alpha", "n": 40, "total": 100, "rate": 4.0}, 0).plain
    ['▍ Alpha just now', '▍ 40%', '▍ 40/100 it · 4.00 it/s · ETA 00:15', '▍ a']
    """
    status = str(task.get("status", ""))
    figures = shown_figures(task_figures(task))
    age, since = task_clock(task, now)
    slow = is_slow(task, now)
    tone = TONES.get(status, "active")
    if slow and tone == "active":
        tone = SLOW_TONE
    desc = task.get("desc")
    named = isinstance(desc, str) and bool(desc) and desc != task_id
    name = shown_text(desc) if named and isinstance(desc, str) else shown_id(task_id)
    style = "error" if status == "error" else "title"
    title = [(_MARKS.get(status, ""), style)]
    if status == "lost":
        title += [(" ⚠ LOST ", "badge-lost"), (" ", "")]
    title.append((name, style))
    numbers = [figures["amount"], figures["rate"]]
    if status == "stale":
        numbers.append(f"idle {since}")
    elif status != "lost":
        numbers.append(figures["eta"])  # "" unless it runs
    line: list[Span] = [(_DOT.join(text for text in numbers if text), "numbers")]
    if status == "lost":
        line += [(_DOT, "numbers"), (f"no contact for {since}", "lost")]
    usual = usual_figure(task)
    if usual:
        line += [(_DOT, "numbers"), (usual, "numbers")]
    if slow:
        line += [(_DOT, "numbers"), (SLOW_MARK, SLOW_TONE)]
    if figures["elapsed"]:  # last: a narrow column cuts it before the ETA or the state
        line += [(_DOT, "numbers"), (figures["elapsed"], "numbers")]
    details = []
    postfix = task.get("postfix")
    if isinstance(postfix, str) and postfix:
        details.append(shown_text(postfix))
    if named:
        details.append(shown_id(task_id))
    host, pid = task.get("host"), task.get("pid")
    if isinstance(host, str) and host:
        details.append(f"{shown_text(host)}:{pid}" if isinstance(pid, int) else shown_text(host))
    why = shown_text(reason(task))
    failure: list[Span] = [(why, "error")] if why else []
    if why and details:
        failure.append((_DOT, "details"))
    return RowText(
        lead=("  " * indent + "▍ ", f"gutter-{tone}"),
        title=tuple(title),
        age=age,
        share=fraction(task),
        bar="gutter-lost" if status == "lost" else f"gutter-{SLOW_TONE}" if tone == SLOW_TONE else "bar-done",
        percent=figures["percent"],
        numbers=tuple(line),
        details=(*failure, (_DOT.join(details), "details")),
    )


def group_numbers(group: Mapping[str, Any]) -> list[str]:
    """The figures of a :func:`progressista.protocol.groups.aggregate` on a group row, empty ones left out.

    >>> group_numbers({"n": 30, "total": 200, "unit": "it", "rate": 3.0, "eta": 56.7, "unknown_totals": 1})
    ['30/200 it', '1 without total', '3.00 it/s', 'ETA 00:57']
    """
    figures = shown_figures(group_figures(group))
    return [text for key in ("amount", "unknown", "rate", "eta") if (text := figures[key])]


def group_row(prefix: str, group: Mapping[str, Any], now: float, collapsed: bool = False) -> RowText:
    """A group row: fold mark, prefix, a badge for a worst member that needs a look and the run's command;
    the aggregate's bar; summed amount, rate and ETA; the run's state and exit code, member counts (each
    bucket in its colour) and the run's reason (its ``run``, :func:`~progressista.protocol.groups.run_head`).

    Drawn in its worst member's colour; a running group's bar takes the column's, as a card's does.

    >>> run = {"command": "python train.py", "status": "error", "exit": "exit 1", "reason": "KeyError: 'id'"}
    >>> row = group_row("r", {"status": "error", "members": 1, "counts": {"done": 1}, "run": run}, now=0)
    >>> row.plain[0], row.plain[3]
    ('▌ ▾ r   ERROR   $ python train.py', "▌ run: error · exit 1 · 1 task: 1 done · KeyError: 'id'")
    """
    figures = group_figures(group)
    worst = str(group.get("status", "update"))
    tone = TONES.get(worst, "active")
    title: list[Span] = [(("▸ " if collapsed else "▾ ") + shown_id(prefix), f"group gutter-{tone}")]
    badge = _BADGES.get(worst)
    if badge:
        title += [("  ", ""), (f" {badge} ", f"badge-{worst}")]
    run = group.get("run")
    head = run if isinstance(run, Mapping) else None
    if head is not None:  # after the badge, which a long command must not push out of a narrow column
        title += [("  $ ", "details"), (shown_text(str(head.get("command", ""))), "title")]
    # "5 tasks: 2 active · 1 lost · 2 done", split back into its buckets to colour each.
    tally, colon, buckets = figures["counts"].partition(": ")
    counts: list[Span] = [(tally + colon, "details")] if tally else []
    for index, part in enumerate(buckets.split(_DOT) if buckets else ()):
        counts += [(_DOT, "details")] if index else []
        counts.append((part, f"gutter-{part.partition(' ')[2]}"))
    if head is not None:  # the short parts first, the long reason last: a narrow column cuts only that
        counts = _joined(_run_state(head), counts, _run_reason(head))
    return RowText(
        lead=("▌ ", f"gutter-{tone}"),
        title=tuple(title),
        age=group_clock(group, now),
        share=finite(group.get("progress")),
        bar="bar-done" if tone == "active" else f"gutter-{tone}",
        percent=figures["percent"],
        numbers=((_DOT.join(group_numbers(group)), "numbers"),),
        details=tuple(counts),
    )


def _run_state(head: Mapping[str, Any]) -> list[Span]:
    """``run: error · exit 1``: the run's state in its colour, and its exit code."""
    status = str(head.get("status", "update"))
    spans: list[Span] = [
        ("run: ", "details"),
        (STATUS_LABELS.get(status, status), f"gutter-{TONES.get(status, 'active')}"),
    ]
    code = head.get("exit")
    return spans + [(_DOT, "details"), (code, "details")] if isinstance(code, str) and code else spans


def _run_reason(head: Mapping[str, Any]) -> list[Span]:
    why = head.get("reason")
    return [(shown_text(why), "error")] if isinstance(why, str) and why else []


def _joined(*parts: list[Span]) -> list[Span]:
    """The non-empty ``parts``, one after the other, `` · `` between them."""
    spans: list[Span] = []
    for part in parts:
        if part:
            spans += [(_DOT, "details"), *part] if spans else part
    return spans
