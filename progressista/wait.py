"""What ``progressista wait`` decides from the tasks it has seen. Pure standard library.

The command follows ``/ws?mode=delta`` and feeds every message to a
:class:`Tracker`; after each one, :func:`decide` says whether the wait is over:

>>> target = Target(task_ids=("run-42:rank-0",), groups=("run-43",))
>>> tracker = Tracker(target)
>>> tracker.snapshot({"run-42:rank-0": {"status": "close"}, "run-43:a": {"status": "update"}})
>>> tracker.verdict().outcome
'pending'
>>> tracker.delta({"run-43:a": {"status": "close"}}, removed=[])
>>> verdict = tracker.verdict()
>>> verdict.outcome, summary(verdict, elapsed=12.4)
('done', '2 tasks closed in 12.4 s')
>>> tracker.delta({"run-43:load": {"status": "error", "meta": {"error": "KeyError: 'id'"}}}, removed=[])
>>> summary(tracker.verdict(), elapsed=13.0)
"run-43:load ended error: KeyError: 'id'"

Rules (the README has them too):

- **done** when every matching task is ``close``d, every task id asked for has
  been seen, and at least ``min_tasks`` tasks match (1 by default, so an empty
  group is never done: the wait goes on until members appear, or times out);
- **failed** as soon as one matching task is ``error`` or ``lost``, even while
  others still run (a ``lost`` task may revive later; the wait does not wait
  for that);
- **pending** otherwise: tasks still open (``start``, ``update``, ``stale``: alive,
  maybe slow), or not seen yet. A group's run task (``{run_id}:run``, which
  ``progressista run`` keeps open while the program runs) is a member like any
  other, so a run pausing between two bars is not done.

Memory: the tracker keeps the last state of every matching task it has seen.
A task removed from the server (a dashboard's discard or "clear completed",
``tasks rm``, retention) keeps counting with that state if it had ended; if it
was still open it is forgotten: an explicit task id is then waited for again
(a live bar's next update or heartbeat recreates it), and a group member no
longer holds its group back. A fresh snapshot (after a reconnection, or a
server restart) is applied by the same rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .protocol.groups import group_of
from .protocol.reasons import error_text, reason
from .protocol.statuses import FINAL
from .protocol.text import shown_id, shown_text

__all__ = [
    "DONE",
    "FAILED",
    "FAILURES",
    "PENDING",
    "Target",
    "Tracker",
    "Verdict",
    "decide",
    "summary",
    "timeout_summary",
]

DONE, FAILED, PENDING = "done", "failed", "pending"
#: Task statuses that fail a wait.
FAILURES = frozenset({"error", "lost"})


@dataclass(frozen=True)
class Target:
    """What to wait for: task ids (exact), groups (``prefix`` of ``prefix:…`` ids), or both."""

    task_ids: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    min_tasks: int = 1
    """The wait is not done before this many matching tasks were seen."""

    def matches(self, task_id: str) -> bool:
        return task_id in self.task_ids or (bool(self.groups) and group_of(task_id) in self.groups)


@dataclass(frozen=True)
class Verdict:
    """The state of a wait: its outcome and the figures the summary line needs."""

    outcome: str
    """``done``, ``failed`` or ``pending``."""
    matched: int = 0
    """Matching tasks seen (and not forgotten)."""
    closed: int = 0
    open: tuple[str, ...] = ()
    """Matching tasks still open, by id."""
    missing: tuple[str, ...] = ()
    """Task ids asked for and not seen (yet, or again)."""
    failed: tuple[tuple[str, str, str | None, str | None], ...] = field(default=())
    """``(task_id, status, signal, error)`` of the failed tasks, the first to fail first: ``error`` is
    ``meta.error`` (``"KeyError: 'id'"``), ``signal`` ``meta.signal`` where that is all there is to say."""


def decide(tasks: Mapping[str, Mapping[str, Any]], target: Target) -> Verdict:
    """The verdict for ``target`` given the latest known state of ``tasks`` (others are ignored)."""
    matching = {task_id: task for task_id, task in tasks.items() if target.matches(task_id)}
    failed = sorted(
        (
            (task.get("updated_at") or 0, task_id, task)
            for task_id, task in matching.items()
            if task.get("status") in FAILURES
        ),
        key=lambda item: (item[0], item[1]),
    )
    missing = tuple(task_id for task_id in dict.fromkeys(target.task_ids) if task_id not in matching)
    open_ids = tuple(
        sorted(task_id for task_id, task in matching.items() if task.get("status") not in FINAL | FAILURES)
    )
    closed = sum(1 for task in matching.values() if task.get("status") == "close")
    if failed:
        outcome = FAILED
    elif not missing and not open_ids and len(matching) >= target.min_tasks:
        outcome = DONE
    else:
        outcome = PENDING
    return Verdict(
        outcome,
        matched=len(matching),
        closed=closed,
        open=open_ids,
        missing=missing,
        failed=tuple((task_id, str(task.get("status")), *_why(task)) for _, task_id, task in failed),
    )


class Tracker:
    """The last state of every matching task seen on the feed (see the module doc for removals)."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.tasks: dict[str, dict[str, Any]] = {}

    def snapshot(self, tasks: Mapping[str, Any]) -> None:
        """Apply the whole state: what is not in it counts as removed."""
        gone = [task_id for task_id in self.tasks if task_id not in tasks]
        self.delta(tasks, gone)

    def delta(self, tasks: Mapping[str, Any], removed: Iterable[str]) -> None:
        """Apply changed tasks, then removals."""
        for task_id, task in tasks.items():
            if isinstance(task, Mapping) and self.target.matches(task_id):
                self.tasks[task_id] = dict(task)
        for task_id in removed:
            known = self.tasks.get(task_id)
            if known is not None and known.get("status") not in FINAL:
                del self.tasks[task_id]  # removed while open: its outcome is unknown

    def verdict(self) -> Verdict:
        return decide(self.tasks, self.target)


def summary(verdict: Verdict, elapsed: float) -> str:
    """The one line for a finished wait: ``3 tasks closed in 12.4 s``, ``etl:load ended error: KeyError: 'id'``
    or ``run-42:rank-3 ended error (SIGTERM)``; the id and the reason as
    :mod:`progressista.protocol.text` shows task text, so a task cannot drive the terminal or pass for another.

    >>> summary(Verdict(FAILED, failed=(("etl:\u202eload", "error", None, "Boom\u200b"),)), 1.0)
    'etl:<U+202E>load ended error: Boom<U+200B>'
    """
    if verdict.outcome == FAILED and verdict.failed:
        task_id, status, signal, error = verdict.failed[0]
        shown = shown_id(task_id)
        line = f"{shown} is lost (no contact)" if status == "lost" else f"{shown} ended {shown_text(status)}"
        if error:
            line += f": {shown_text(error)}"
        elif signal:
            line += f" ({shown_text(signal)})"
        others = len(verdict.failed) - 1
        return line + (f"; {others} more failed" if others else "")
    return f"{_tasks(verdict.closed)} closed in {elapsed:.1f} s"


def timeout_summary(verdict: Verdict, timeout: float, target: Target) -> str:
    """The one line for a wait that timed out: ``timed out after 30 s: 2 of 5 tasks still open``."""
    head = f"timed out after {timeout:g} s: "
    waiting = len(verdict.open) + len(verdict.missing)
    total = verdict.matched + len(verdict.missing)
    if total == 0:
        names = ", ".join(repr(group) for group in target.groups)
        return head + f"no task in group{'s' if len(target.groups) > 1 else ''} {names} yet"
    if waiting == 0:  # all closed, but fewer than --min-tasks
        return head + f"{_tasks(verdict.closed)} closed, fewer than the {target.min_tasks} expected"
    if not verdict.open:
        return head + f"{waiting} of {_tasks(total)} not seen yet"
    line = head + f"{waiting} of {_tasks(total)} still open"
    return line + (f" ({len(verdict.missing)} not seen yet)" if verdict.missing else "")


def _tasks(count: int) -> str:
    return f"{count} task{'' if count == 1 else 's'}"


def _why(task: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """``(signal, error)``: the reason an ``error`` task gives (:mod:`.protocol.reasons`), as the cards say it."""
    error = error_text(task)
    return (None, error) if error else (reason(task) or None, None)
