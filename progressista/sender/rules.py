"""The sender's rules, as pure functions: what is kept, what is dropped, when a route posts, how it backs off.

Nothing here starts a thread, reads a clock or touches the network: the
:class:`~progressista.sender.Sender` calls these with the time and the
answers it got, and the tests call them directly.

Coalescing keeps one entry per task, the latest state, but a pending start or
final status is not lost to a plain update:

>>> pending = {}
>>> put(pending, "a", Entry({"status": "start", "seq": 1}), limit=10)  # the task ids dropped: none
()
>>> put(pending, "a", Entry({"status": "update", "seq": 2, "n": 5}), limit=10)
()
>>> pending["a"].event, pending["a"].urgent
({'status': 'start', 'seq': 2, 'n': 5}, True)

A route that keeps failing waits longer and longer, a server's ``Retry-After`` winning when longer:

>>> [backoff(failures) for failures in (1, 2, 3, 10)], backoff(1, retry_after=5.0)
([0.5, 1.0, 2.0, 30.0], 5.0)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from ..protocol.statuses import FINAL
from ..protocol.task import finite
from .routes import Route

__all__ = [
    "BATCH_BYTES",
    "DONE",
    "DROP",
    "EARLY_SPACING",
    "FIRST_BACKOFF",
    "MAX_BACKOFF",
    "MAX_PENDING",
    "RETRY",
    "SPLIT",
    "URGENT_GAP",
    "Entry",
    "Hook",
    "RouteState",
    "backoff",
    "chunks",
    "due_hooks",
    "merge",
    "outcome",
    "put",
    "requeue",
    "retry_after",
    "shed",
    "take_due",
]

#: Shortest gap between two posts of one route when a start/close/error is waiting.
URGENT_GAP = 0.05
#: Early (start/close/error) posts of one route are at least this far apart.
EARLY_SPACING = 0.25
#: Backoff while a server is unreachable: FIRST_BACKOFF, doubling, at most MAX_BACKOFF (seconds), before jitter.
FIRST_BACKOFF = 0.5
MAX_BACKOFF = 30.0
#: A batch is split into several POSTs past this many (estimated) bytes.
BATCH_BYTES = 256 * 1024
#: Pending tasks kept per route while a server is unreachable; past it, see :func:`shed`.
MAX_PENDING = 10_000

#: What a post's answer means for its events (:func:`outcome`).
DONE, RETRY, SPLIT, DROP = "done", "retry", "split", "drop"


@dataclass(eq=False, slots=True)
class Entry:
    """The latest event of one task, waiting to be posted."""

    event: dict[str, Any]
    urgent: bool = False
    """A start/close/error: skips the push interval."""
    ready_at: float = 0.0
    """Not posted before this (monotonic) time: a held ``close``."""
    size: int = 512
    """Estimated JSON bytes, to split huge batches."""
    held: bool = False
    """A close held back from an interrupted loop: :meth:`~progressista.sender.Sender.fail_held` makes it an error."""


def merge(old: Entry, new: Entry) -> Entry:
    """The entry to keep when ``new`` arrives for a task whose ``old`` one is still pending.

    The latest state wins, except that:

    - a pending ``close``/``error`` is not replaced by an ``update`` (only a new
      ``start`` reopens a finished task, as on the server);
    - an ``update`` whose ``seq`` is lower than the pending one's lost a race (a
      heartbeat is built on the sender thread) and is ignored;
    - a pending ``start`` is not lost to an ``update``: the update goes out as
      the start, at once (``new`` is changed so).
    """
    before, after = old.event.get("status"), new.event.get("status")
    if before in FINAL and after == "update":
        return old
    old_seq, new_seq = old.event.get("seq"), new.event.get("seq")
    if after == "update" and old_seq is not None and new_seq is not None and new_seq < old_seq:
        return old
    if before == "start" and after == "update":
        new.event["status"] = "start"
        new.urgent = True
    return new


def put(pending: dict[str, Entry], task_id: str, entry: Entry, limit: int) -> Sequence[str]:
    """Coalesce ``entry`` into ``pending`` (see :func:`merge`); returns the task ids dropped to stay within ``limit``.

    ``pending`` stays ordered by when each task last reported, the longest
    quiet first: the order :func:`shed` drops in.
    """
    old = pending.pop(task_id, None)
    if old is not None:
        pending[task_id] = merge(old, entry)
        return ()
    pending[task_id] = entry
    return shed(pending, limit) if len(pending) > limit else ()


def shed(pending: dict[str, Entry], limit: int) -> list[str]:
    """Drop entries until ``limit`` are left; returns the task ids dropped.

    The states of the tasks that reported longest ago go first (``pending`` is
    in that order, see :func:`put`); their bars' next report or heartbeat sends
    them again. A ``close`` or ``error`` goes only when every other entry is
    final too: it would never be sent again.
    """
    excess = len(pending) - limit
    if excess <= 0:
        return []
    victims = list(islice((tid for tid, e in pending.items() if e.event.get("status") not in FINAL), excess))
    if len(victims) < excess:
        finals = (tid for tid, e in pending.items() if e.event.get("status") in FINAL)
        victims += islice(finals, excess - len(victims))
    for task_id in victims:
        del pending[task_id]
    return victims


def requeue(
    pending: dict[str, Entry], failed: list[tuple[str, Entry]], limit: int
) -> tuple[dict[str, Entry], list[str]]:
    """``pending`` once the ``failed`` entries (taken from it, not posted) are back; and the task ids dropped.

    A failed entry goes back before everything pending (it is older), unless
    a newer state of its task arrived meanwhile: then the two merge, in the
    newer one's place. Past ``limit``, :func:`shed` decides.
    """
    merged = {task_id: entry for task_id, entry in failed if task_id not in pending}
    older = dict(failed)
    for task_id, entry in pending.items():
        old = older.get(task_id)
        merged[task_id] = entry if old is None else merge(old, entry)
    return merged, shed(merged, limit)


class RouteState:
    """How one route has been posting: when it may post next, and its backoff."""

    __slots__ = ("answered", "drain_failed", "failures", "last_early", "last_post", "retry_at")

    def __init__(self) -> None:
        self.last_post = -math.inf
        self.last_early = -math.inf  # the last post made before push_every had passed
        self.failures = 0
        self.retry_at = 0.0
        self.drain_failed = False
        self.answered = False  # the server has answered a post of this route (with any status)

    def due(self, interval: float, urgent: bool) -> float:
        """When the route may post next: plain updates once ``interval`` has passed since the last post;
        start/close/error after ``URGENT_GAP``, but such early posts at least ``EARLY_SPACING`` apart
        (``interval`` when shorter), and never later than a plain update would go."""
        normal = self.last_post + interval
        if not urgent:
            return normal
        return min(normal, max(self.last_post + URGENT_GAP, self.last_early + min(interval, EARLY_SPACING)))

    def took(self, now: float, interval: float) -> None:
        """Entries are taken for a post at ``now``: before ``interval`` has passed, that post is early."""
        if now < self.last_post + interval:
            self.last_early = now


#: Route states kept before the idle ones are forgotten (a process making bars with new header values
#: would otherwise keep one for every route it ever posted to).
MAX_ROUTE_STATES = 1024


def forget_idle(states: dict[Route, RouteState], pending: dict[Route, dict[str, Entry]], now: float) -> int:
    """Past :data:`MAX_ROUTE_STATES`, drop the states of routes with nothing pending, no failure to back
    off from, and no post within their interval (so a new state would decide the same); how many went.

    >>> states = {Route(f"http://h{i}", (), 1.0, 0.25, print): RouteState() for i in range(MAX_ROUTE_STATES + 5)}
    >>> busy = next(iter(states))
    >>> states[busy].last_post = 9.9  # posted within its interval: kept
    >>> forget_idle(states, {}, now=10.0), list(states) == [busy]
    (1028, True)
    """
    if len(states) <= MAX_ROUTE_STATES:
        return 0
    idle = [
        found
        for found, state in states.items()
        if not pending.get(found)
        and state.failures == 0
        and state.retry_at <= now
        and state.last_post + found.interval <= now
        and not state.drain_failed
    ]
    for found in idle:
        del states[found]
    return len(idle)


def take_due(
    pending: dict[Route, dict[str, Entry]], states: dict[Route, RouteState], now: float, draining: bool
) -> tuple[list[tuple[Route, list[tuple[str, Entry]]]], float]:
    """Take from ``pending`` what is to be posted at ``now``, a batch per route; and when to look again.

    A route in backoff waits for its retry time, a held entry for its
    ``ready_at``, the rest for the route's :meth:`RouteState.due` (the earlier,
    urgent one when any of its ready entries is urgent). While ``draining`` (a
    flush) everything pending goes at once, held or not, in backoff or not,
    except from routes that already failed during that flush.
    """
    batches: list[tuple[Route, list[tuple[str, Entry]]]] = []
    wake_at = math.inf
    for route, entries in list(pending.items()):
        if not entries:
            del pending[route]
            continue
        state = states.get(route)
        if state is None:
            state = states[route] = RouteState()
        if draining:
            if not state.drain_failed:
                batches.append((route, list(entries.items())))
                del pending[route]
            continue
        if now < state.retry_at:
            wake_at = min(wake_at, state.retry_at)
            continue
        ready = [(tid, e) for tid, e in entries.items() if e.ready_at <= now]
        later = [e.ready_at for e in entries.values() if e.ready_at > now]
        if later:
            wake_at = min(wake_at, *later)
        if not ready:
            continue
        due = state.due(route.interval, any(e.urgent for _, e in ready))
        if now < due:
            wake_at = min(wake_at, due)
            continue
        state.took(now, route.interval)
        for tid, _ in ready:
            del entries[tid]
        batches.append((route, ready))
    return batches, wake_at


#: A periodic hook and its interval in seconds (asked when scheduled and after each run; 0: never).
Hook = tuple[Callable[[], None], Callable[[], float]]


def due_hooks(
    periodic: Sequence[Hook], next_run: dict[Callable[[], None], float], now: float
) -> tuple[list[Callable[[], None]], float]:
    """The hooks to run at ``now`` (``next_run`` holds when each runs next, and is updated); and the next time.

    A hook seen for the first time is scheduled one interval from ``now``, not run.
    """
    due: list[Callable[[], None]] = []
    next_at = math.inf
    for hook, interval in periodic:
        at = next_run.get(hook)
        if at is None or at <= now:
            if at is not None:
                due.append(hook)
            seconds = interval()
            at = next_run[hook] = now + seconds if seconds > 0 else math.inf
        next_at = min(next_at, at)
    return due, next_at


def backoff(failures: int, retry_after: float | None = None, jitter: float = 1.0) -> float:
    """Seconds a route waits after ``failures`` failed posts in a row.

    ``FIRST_BACKOFF`` doubling per failure, at most ``MAX_BACKOFF``, times
    ``jitter`` (the sender draws it from 0.8–1.2, so that many processes
    spread their retries); a ``retry_after`` the server asked for wins when
    longer, up to ``MAX_BACKOFF``.
    """
    delay = min(MAX_BACKOFF, FIRST_BACKOFF * 2.0 ** min(max(failures, 1) - 1, 16)) * jitter
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_BACKOFF))
    return delay


def retry_after(header: object) -> float | None:
    """A ``Retry-After`` header's seconds; ``None`` when it is missing, negative or not a number.

    (The HTTP-date form is not read: the backoff applies then.)
    """
    try:
        seconds = finite(float(header))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return seconds if seconds is not None and seconds >= 0 else None


def outcome(status: int, count: int) -> str:
    """What an HTTP ``status`` in answer to a post of ``count`` events means for them.

    ``DONE``: accepted. ``RETRY``: the server is busy, down or timed out
    (408, 429, 5xx): keep them and back off. ``SPLIT``: one bad or huge event
    refuses a whole batch (413, 422): post them one by one. ``DROP``: refused
    (401, 403, 404, a lone bad event...): resending cannot help.
    """
    if status < 300:
        return DONE
    if status in (408, 429) or status >= 500:
        return RETRY
    if status in (413, 422) and count > 1:
        return SPLIT
    return DROP


def chunks(items: list[tuple[str, Entry]], limit: int) -> list[list[tuple[str, Entry]]]:
    """``items`` in order, cut into batches of at most ``limit`` estimated bytes (an entry bigger alone goes alone)."""
    batches: list[list[tuple[str, Entry]]] = []
    size = 0
    for item in items:
        if not batches or (batches[-1] and size + item[1].size > limit):
            batches.append([])
            size = 0
        batches[-1].append(item)
        size += item[1].size
    return batches
