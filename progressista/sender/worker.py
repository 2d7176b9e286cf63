"""The :class:`Sender`: one daemon thread that coalesces, batches, throttles and posts events.

Its rules (what is kept, dropped, when a route posts, the backoff) are the
pure functions of :mod:`.rules`; this module holds the thread, the lock and the
network calls around them. Use the process-wide instance,
:func:`progressista.sender.get_sender`.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import requests

from .. import notices
from ..protocol.statuses import FINAL
from ..threads import start_without_signals
from .routes import Route
from .rules import (
    BATCH_BYTES,
    DONE,
    MAX_PENDING,
    RETRY,
    SPLIT,
    Entry,
    Hook,
    RouteState,
    backoff,
    chunks,
    due_hooks,
    forget_idle,
    outcome,
    put,
    requeue,
    retry_after,
    take_due,
)
from .session import Session

__all__ = ["THREAD_NAME", "Sender"]

log = logging.getLogger("progressista")

#: Name of the sender thread (one per process).
THREAD_NAME = "progressista-sender"

_Batch = list[tuple[str, Entry]]


class Sender:
    """Coalesces, batches, throttles and posts events on one daemon thread.

    ``periodic`` hooks run on that thread (the live list is read, so hooks
    added later run too). Use the process-wide instance from
    :func:`~progressista.sender.get_sender`.
    """

    def __init__(self, periodic: Sequence[Hook] = ()) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)  # the sender thread waits here
        self._idle = threading.Condition(self._lock)  # flush() waits here
        self._pending: dict[Route, dict[str, Entry]] = {}
        self._states: dict[Route, RouteState] = {}
        self._thread: threading.Thread | None = None
        self._wake_at = -math.inf  # when the waiting thread wakes anyway; -inf while it works
        self._inflight = 0
        self._draining = 0
        self._deadline = math.inf
        self._closed = False
        self._periodic = periodic
        self._hook_at: dict[Callable[[], None], float] = {}
        #: Counters for tests and benchmarks: posts made, events posted, failed posts, events dropped.
        self.stats = {"posts": 0, "events": 0, "failures": 0, "dropped": 0}

    # -- the bars' side: cheap, never blocks on the network ----------------------

    def submit(
        self,
        route: Route,
        task_id: str,
        event: dict[str, Any],
        urgent: bool = False,
        hold: float = 0.0,
        size: int = 512,
        now: float | None = None,
    ) -> None:
        """Queue ``event`` as the latest state of ``task_id``; replaces a pending one (:func:`.rules.put`).

        ``urgent`` events (start/close/error) go out within ``URGENT_GAP``; a
        ``hold`` keeps the event back that many seconds (see :meth:`fail_held`).
        ``size`` estimates its JSON bytes, to split huge batches. ``now`` is
        ``time.monotonic()``, if the caller just read it.
        """
        # Every bar's every report comes here: the usual case (a new task, the thread awake or
        # sleeping until a post that comes first anyway) calls no further Python function.
        if now is None:
            now = time.monotonic()
        entry = Entry(event, urgent, now + hold, size, hold > 0)
        with self._lock:
            if self._closed:
                return
            entries = self._pending.get(route)
            if entries is None:
                entries = self._pending[route] = {}
            if task_id not in entries and len(entries) < MAX_PENDING:
                entries[task_id] = entry  # what put() does for a task with nothing pending
            else:
                dropped = put(entries, task_id, entry, MAX_PENDING)
                if dropped:
                    self._dropped(dropped)
            if self._thread is None:
                self._start()
            # Wake the thread only if it would otherwise sleep past the moment this entry is due
            # (never before `now`: a thread awake, _wake_at -inf, needs nothing).
            wake_at = self._wake_at
            if wake_at <= now:
                return
            if wake_at != math.inf:  # a thread asleep for good wakes for anything
                if hold > 0:
                    due = entry.ready_at
                else:
                    due = now if urgent else now + route.interval
                    state = self._states.get(route)
                    if state is not None:
                        due = max(due, state.retry_at, state.due(route.interval, urgent))
                if wake_at <= due:
                    return
            self._wake_at = -math.inf
            self._wake.notify()

    def fail_held(self, extend: Callable[[dict[str, Any]], None] | None = None) -> int:
        """Turn held (interrupted) ``close`` events into ``error`` and send them now; returns how many.

        A loop broken by an exception closes its bar from the generator's
        cleanup, before anyone knows whether the exception will kill the job;
        such closes are held briefly so that a crash handler can call this.
        ``extend(event)`` may amend each such event (the client names the
        signal that ended the job in its ``meta``).
        """
        count = 0
        with self._lock:
            for entries in self._pending.values():
                for entry in entries.values():
                    if entry.held:
                        entry.held = False
                        entry.event["status"] = "error"
                        if extend is not None:
                            try:
                                extend(entry.event)
                            except Exception:
                                log.debug("progressista: could not amend a held event", exc_info=True)
                        entry.ready_at = 0.0
                        entry.urgent = True
                        count += 1
            if count:
                self._wake_at = -math.inf
                self._wake.notify()
        return count

    def flush(self, timeout: float | None = None) -> bool:
        """Post everything pending now, waiting at most ``timeout`` seconds.

        ``None`` means the largest ``request_timeout`` among the routes with
        something to send. Held events and backoff are ignored; a route that
        fails is not retried within this flush. True when nothing is left.
        """
        with self._lock:
            if timeout is None:
                timeout = self._flush_timeout()
            deadline = time.monotonic() + timeout
            thread = self._thread
            if thread is None or not thread.is_alive():
                return not any(self._pending.values())
            self._draining += 1
            self._deadline = deadline
            self._wake_at = -math.inf
            self._wake.notify()
            try:
                while self._sendable() or self._inflight:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._idle.wait(remaining)
                return not self._inflight and not any(self._pending.values())
            finally:
                self._draining -= 1
                if not self._draining:
                    self._deadline = math.inf
                    for state in self._states.values():
                        state.drain_failed = False

    def close(self) -> None:
        """Refuse new events and let the thread end (after :meth:`flush`, at exit)."""
        with self._lock:
            self._closed = True
            self._wake_at = -math.inf
            self._wake.notify()

    @property
    def thread(self) -> threading.Thread | None:
        """The sender thread, once started."""
        return self._thread

    def pending_count(self) -> int:
        """How many tasks have an event waiting."""
        with self._lock:
            return sum(len(entries) for entries in self._pending.values())

    # -- helpers, called with the lock held ------------------------------------------

    def _start(self) -> None:
        # requests imports netrc on its first request. Left to the sender thread, that
        # import may be half done when the program forks (multiprocessing), and the
        # child's own first request then waits forever on the module's import lock,
        # held by a thread that does not exist there. Import it here, before the thread.
        import netrc  # noqa: F401

        thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
        try:
            start_without_signals(thread)  # the program's signals are for its own threads
        except RuntimeError:  # interpreter shutting down: nothing can be sent any more
            self._closed = True
            return
        self._thread = thread

    def _dropped(self, task_ids: Sequence[str]) -> None:
        self.stats["dropped"] += len(task_ids)
        log.debug("progressista: more than %d tasks pending; dropped the states of %r", MAX_PENDING, task_ids)

    def _sendable(self) -> bool:
        return any(entries and not self._state(route).drain_failed for route, entries in self._pending.items())

    def _flush_timeout(self) -> float:
        routes = [route for route, entries in self._pending.items() if entries]
        if self._inflight:
            routes += list(self._states)
        return max((route.timeout for route in routes), default=0.0)

    def _state(self, route: Route) -> RouteState:
        state = self._states.get(route)
        if state is None:
            state = self._states[route] = RouteState()
        return state

    def _requeue(self, route: Route, items: _Batch) -> None:
        """Put back events that failed to post, unless a newer state arrived meanwhile."""
        with self._lock:
            self._pending[route], dropped = requeue(self._pending.get(route, {}), items, MAX_PENDING)
            if dropped:
                self._dropped(dropped)

    # -- the sender thread ---------------------------------------------------------

    def _run(self) -> None:
        with Session() as session:  # one connection per server, reused
            self._loop(session)

    def _loop(self, session: requests.Session) -> None:
        while True:
            with self._lock:
                while True:
                    now = time.monotonic()
                    batches, wake_at = take_due(self._pending, self._states, now, self._draining > 0)
                    forget_idle(self._states, self._pending, now)
                    hooks, hooks_at = due_hooks(self._periodic, self._hook_at, now)
                    if batches or hooks:
                        break
                    self._idle.notify_all()
                    if self._closed:
                        return
                    self._wake_at = wake_at = min(wake_at, hooks_at)
                    self._wake.wait(None if wake_at == math.inf else max(0.0, wake_at - now))
                    self._wake_at = -math.inf
                self._inflight += 1
            try:
                for hook in hooks:  # outside the lock: hooks submit events
                    try:
                        hook()
                    except Exception:
                        log.debug("progressista: periodic hook failed", exc_info=True)
                for route, items in batches:
                    self._send(session, route, items)
            except Exception:  # a bug here must not kill the thread
                log.debug("progressista: sender error", exc_info=True)
            finally:
                with self._lock:
                    self._inflight -= 1
                    self._idle.notify_all()

    def _send(self, session: requests.Session, route: Route, items: _Batch) -> None:
        batches = chunks(items, BATCH_BYTES)
        for index, chunk in enumerate(batches):
            unsent = self._post(session, route, chunk)
            if unsent:  # the server is failing: keep those, and the batches not tried, for the retry
                self._requeue(route, unsent + [item for rest in batches[index + 1 :] for item in rest])
                return

    def _post(self, session: requests.Session, route: Route, chunk: _Batch) -> _Batch:
        """Post one chunk; returns the entries to keep for a retry (none: posted, or dropped for good)."""
        state = self._state(route)
        now = state.last_post = time.monotonic()
        timeout = route.timeout
        if self._draining:
            timeout = max(0.05, min(timeout, self._deadline - now))
        payload = [entry.event for _, entry in chunk]
        self.stats["posts"] += 1
        try:
            response = route.post(session, route.url, payload, dict(route.headers), timeout)
        except (requests.RequestException, OSError) as exc:
            if not state.answered:  # the first batch: say so once; a later outage stays silent
                notices.say(notices.UNREACHABLE, notices.unreachable_line(route.url, notices.connection_reason(exc)))
            self._failed(route, state, f"{type(exc).__name__}: {exc}", None)
            return chunk
        except Exception:
            log.debug("progressista: posting to %s raised; dropping %d events", route.url, len(chunk), exc_info=True)
            self.stats["dropped"] += len(chunk)
            return []
        status = getattr(response, "status_code", None) or 200  # an override may return None: handled
        state.answered = True
        verdict = outcome(status, len(chunk))
        if verdict == DONE:
            state.failures = 0
            state.retry_at = 0.0
            self.stats["events"] += len(chunk)
            return []
        if verdict == RETRY:
            self._failed(route, state, f"HTTP {status}", retry_after(_header(response, "Retry-After")))
            return chunk
        if verdict == SPLIT:
            for index, item in enumerate(chunk):
                if self._post(session, route, [item]):
                    return chunk[index:]  # the server started failing midway: these wait for the retry
            return []
        notice = notices.line_for_status(route.url, status, _has_token(route))
        if notice is not None:
            notices.say(*notice)
        finals = sum(1 for _, entry in chunk if entry.event.get("status") in FINAL)
        log.debug(
            "progressista: %s refused %d events (%d final) with HTTP %s: %s",
            route.url,
            len(chunk),
            finals,
            status,
            (getattr(response, "text", "") or "")[:300],
        )
        self.stats["dropped"] += len(chunk)
        return []

    def _failed(self, route: Route, state: RouteState, reason: str, wait: float | None) -> None:
        state.failures += 1
        delay = backoff(state.failures, wait, random.uniform(0.8, 1.2))
        state.retry_at = time.monotonic() + delay
        if self._draining:
            state.drain_failed = True
        self.stats["failures"] += 1
        log.debug("progressista: cannot post to %s (%s); retrying in %.1fs", route.url, reason, delay)


def _has_token(route: Route) -> bool:
    return any(name.lower() == "authorization" for name, _ in route.headers)


def _header(response: Any, name: str) -> Any:
    try:
        return response.headers[name]
    except (AttributeError, KeyError, TypeError):
        return None
