"""The one background sender per process, shared by every bar.

Bars hand their latest state to :func:`get_sender` and return at once; a single
daemon thread (created on first use, so 1,000 bars still mean one thread)
posts it:

- **coalesces**: only the latest event per ``(route, task_id)`` is kept, so memory
  holds one pending state per task, never a queue;
- **batches**: everything pending for a route goes out as ONE ``POST /progress``
  JSON array (split only past a size limit);
- **throttles**: a route posts plain updates at most every ``push_every`` seconds,
  but ``start``, ``close`` and ``error`` skip the wait: they go out within
  ``URGENT_GAP`` of the last post. Such early posts are limited to one per
  ``EARLY_SPACING`` (or ``push_every`` when shorter), so a flood of short bars
  costs a few posts a second, not dozens (every post makes the thread compete
  for the GIL), while a phase change never waits out a long ``push_every``;
- **retries**: while the server is unreachable or answers 5xx/429 the batch is
  kept (newer states replace it) and the route backs off exponentially; a
  401/403/404/422 drops the batch with a debug log, since resending cannot help;
- **flushes at exit**: ``atexit`` (and ``multiprocessing``'s exit hooks) post what
  is pending within the largest ``request_timeout`` involved, then give up;
- **survives fork**: a forked child starts from a fresh sender (no inherited thread,
  socket or lock) and ignores the bars it inherited from its parent;
- **runs periodic hooks**: the client's heartbeat re-sends open bars from here,
  so a slow job stays "heard from" while a dead one goes quiet.

Nothing here raises into, or blocks, the code that reports progress; failures
are logged on the ``progressista`` logger at DEBUG level::

    logging.getLogger("progressista").setLevel(logging.DEBUG)

A ``route`` names where and how to post: URL, headers, timeout, interval and the
post function (``RemoteTqdm._post`` of the bar's class). :func:`flush` posts
what is pending now, e.g. before ``os._exit``:

>>> from progressista import sender
>>> sender.flush(timeout=2.0)
True
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import random
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import requests

from .protocol.statuses import FINAL

__all__ = [
    "THREAD_NAME",
    "URGENT_GAP",
    "PostFunction",
    "Route",
    "Sender",
    "before_exit",
    "current",
    "flush",
    "generation",
    "get_sender",
    "periodically",
    "route",
]

log = logging.getLogger("progressista")

#: Name of the sender thread (one per process).
THREAD_NAME = "progressista-sender"
#: Shortest gap between two posts of one route when a start/close/error is waiting.
URGENT_GAP = 0.05
#: Early (start/close/error) posts of one route are at least this far apart.
EARLY_SPACING = 0.25
#: Backoff while a server is unreachable: FIRST_BACKOFF, doubling, capped at MAX_BACKOFF (seconds).
FIRST_BACKOFF = 0.5
MAX_BACKOFF = 30.0
#: A batch is split into several POSTs past this many (estimated) bytes.
BATCH_BYTES = 256 * 1024
#: Pending tasks kept per route while a server is unreachable; past it, the oldest plain update goes.
MAX_PENDING = 10_000

_RETRY, _DONE = "retry", "done"


class PostFunction(Protocol):
    """How a batch is posted: ``RemoteTqdm._post`` and its overrides."""

    def __call__(
        self,
        session: requests.Session,
        url: str,
        payload: list[dict[str, Any]],
        headers: dict[str, str],
        timeout: float,
    ) -> Any: ...


class Route:
    """Where and how events are posted; the unit of batching. Interned by :func:`route`."""

    __slots__ = ("headers", "interval", "post", "timeout", "url")

    def __init__(
        self, url: str, headers: tuple[tuple[str, str], ...], timeout: float, interval: float, post: PostFunction
    ) -> None:
        self.url = url
        self.headers = headers
        self.timeout = timeout
        self.interval = interval
        self.post = post

    def __repr__(self) -> str:
        return f"Route({self.url!r}, timeout={self.timeout}, interval={self.interval})"


_routes: dict[tuple[Any, ...], Route] = {}
_routes_lock = threading.Lock()


def route(url: str, headers: Mapping[str, str], timeout: float, interval: float, post: PostFunction) -> Route:
    """The route for these settings; equal settings give the same object (cheap to hash)."""
    key = (url, tuple(sorted(headers.items())), timeout, interval, post)
    found = _routes.get(key)
    if found is None:
        with _routes_lock:
            found = _routes.setdefault(key, Route(url, key[1], timeout, interval, post))
    return found


class _Entry:
    """The latest event of one task, waiting to be posted."""

    __slots__ = ("event", "held", "ready_at", "size", "urgent")

    def __init__(self, event: dict[str, Any], urgent: bool, ready_at: float, size: int, held: bool) -> None:
        self.event = event
        self.urgent = urgent
        self.ready_at = ready_at
        self.size = size
        self.held = held


def _merge(old: _Entry, new: _Entry) -> _Entry:
    """Latest state wins (the higher ``seq`` among updates), but a pending ``start``
    or final status is not lost to a plain update."""
    before, after = old.event.get("status"), new.event.get("status")
    if before in FINAL and after == "update":
        return old  # only a new start reopens a finished task
    old_seq, new_seq = old.event.get("seq"), new.event.get("seq")
    if after == "update" and old_seq is not None and new_seq is not None and new_seq < old_seq:
        return old  # a heartbeat built on another thread lost the race to a newer state
    if before == "start" and after == "update":
        new.event["status"] = "start"
        new.urgent = True
    return new


class _RouteState:
    __slots__ = ("drain_failed", "failures", "last_early", "last_post", "retry_at")

    def __init__(self) -> None:
        self.last_post = -math.inf
        self.last_early = -math.inf  # the last post made before push_every had passed
        self.failures = 0
        self.retry_at = 0.0
        self.drain_failed = False

    def due(self, interval: float, urgent: bool) -> float:
        """When the route may post next, for plain updates or for start/close/error."""
        normal = self.last_post + interval
        if not urgent:
            return normal
        return min(normal, max(self.last_post + URGENT_GAP, self.last_early + min(interval, EARLY_SPACING)))


class Sender:
    """Coalesces, batches, throttles and posts events on one daemon thread.

    Use the process-wide instance from :func:`get_sender`.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)  # the sender thread waits here
        self._idle = threading.Condition(self._lock)  # flush() waits here
        self._pending: dict[Route, dict[str, _Entry]] = {}
        self._states: dict[Route, _RouteState] = {}
        self._thread: threading.Thread | None = None
        self._wake_at = -math.inf  # when the waiting thread wakes anyway; -inf while it works
        self._inflight = 0
        self._draining = 0
        self._deadline = math.inf
        self._closed = False
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
    ) -> None:
        """Queue ``event`` as the latest state of ``task_id``; replaces a pending one.

        ``urgent`` events (start/close/error) go out within ``URGENT_GAP``; a
        ``hold`` keeps the event back that many seconds (see :meth:`fail_held`).
        ``size`` estimates its JSON bytes, to split huge batches.
        """
        now = time.monotonic()
        entry = _Entry(event, urgent, now + hold, size, hold > 0)
        with self._lock:
            if self._closed:
                return
            entries = self._pending.get(route)
            if entries is None:
                entries = self._pending[route] = {}
            old = entries.get(task_id)
            if old is None:
                entries[task_id] = entry
                if len(entries) > MAX_PENDING:
                    self._shed(entries)
            else:
                entries[task_id] = _merge(old, entry)
            if self._thread is None:
                self._start()
            # Wake the thread only if it would otherwise sleep past the moment this entry is due.
            if hold > 0:
                due = entry.ready_at
            else:
                due = now if urgent else now + route.interval
                state = self._states.get(route)
                if state is not None:
                    due = max(due, state.retry_at, state.due(route.interval, urgent))
            if self._wake_at > due:
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
            thread.start()
        except RuntimeError:  # interpreter shutting down: nothing can be sent any more
            self._closed = True
            return
        self._thread = thread
        _register_multiprocessing_exit()

    def _shed(self, entries: dict[str, _Entry]) -> None:
        victim = next((tid for tid, e in entries.items() if e.event.get("status") not in FINAL), None)
        victim = victim if victim is not None else next(iter(entries))
        del entries[victim]
        self.stats["dropped"] += 1
        log.debug("progressista: more than %d tasks pending; dropped the state of %r", MAX_PENDING, victim)

    def _sendable(self) -> bool:
        return any(entries and not self._state(route).drain_failed for route, entries in self._pending.items())

    def _flush_timeout(self) -> float:
        routes = [route for route, entries in self._pending.items() if entries]
        if self._inflight:
            routes += list(self._states)
        return max((route.timeout for route in routes), default=0.0)

    def _state(self, route: Route) -> _RouteState:
        state = self._states.get(route)
        if state is None:
            state = self._states[route] = _RouteState()
        return state

    def _take_due(self, now: float) -> tuple[list[tuple[Route, list[tuple[str, _Entry]]]], float]:
        """Remove and return the batches to post now, and when to look again."""
        batches: list[tuple[Route, list[tuple[str, _Entry]]]] = []
        wake_at = math.inf
        for route, entries in list(self._pending.items()):
            if not entries:
                del self._pending[route]
                continue
            state = self._state(route)
            if self._draining:
                if not state.drain_failed:
                    batches.append((route, list(entries.items())))
                    del self._pending[route]
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
            if now < state.last_post + route.interval:
                state.last_early = now
            for tid, _ in ready:
                del entries[tid]
            batches.append((route, ready))
        return batches, wake_at

    def _due_hooks(self, now: float) -> tuple[list[Callable[[], None]], float]:
        """The periodic hooks to run now, and when the next one is due."""
        due: list[Callable[[], None]] = []
        next_at = math.inf
        for hook, interval in _periodic:
            at = self._hook_at.get(hook)
            if at is None:
                seconds = interval()
                at = self._hook_at[hook] = now + seconds if seconds > 0 else math.inf
            if at <= now:
                due.append(hook)
                seconds = interval()
                at = self._hook_at[hook] = now + seconds if seconds > 0 else math.inf
            next_at = min(next_at, at)
        return due, next_at

    def _requeue(self, route: Route, items: list[tuple[str, _Entry]]) -> None:
        """Put back events that failed to post, unless a newer state arrived meanwhile."""
        with self._lock:
            entries = self._pending.setdefault(route, {})
            for task_id, old in items:
                newer = entries.get(task_id)
                entries[task_id] = old if newer is None else _merge(old, newer)

    # -- the sender thread ---------------------------------------------------------

    def _run(self) -> None:
        with _Session() as session:  # one connection per server, reused
            self._loop(session)

    def _loop(self, session: requests.Session) -> None:
        while True:
            with self._lock:
                while True:
                    now = time.monotonic()
                    batches, wake_at = self._take_due(now)
                    hooks, hooks_at = self._due_hooks(now)
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

    def _send(self, session: requests.Session, route: Route, items: list[tuple[str, _Entry]]) -> None:
        chunks = _chunks(items, BATCH_BYTES)
        for index, chunk in enumerate(chunks):
            if self._post(session, route, chunk) == _RETRY:
                self._requeue(route, [item for rest in chunks[index:] for item in rest])
                return

    def _post(self, session: requests.Session, route: Route, chunk: list[tuple[str, _Entry]]) -> str:
        """Post one chunk; ``_RETRY`` when it should be kept for later."""
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
            return self._failed(route, state, f"{type(exc).__name__}: {exc}", None)
        except Exception:
            log.debug("progressista: posting to %s raised; dropping %d events", route.url, len(chunk), exc_info=True)
            self._dropped(chunk)
            return _DONE
        status = getattr(response, "status_code", None) or 200  # an override may return None: handled
        if status < 300:
            state.failures = 0
            state.retry_at = 0.0
            self.stats["events"] += len(chunk)
            return _DONE
        if status in (408, 429) or status >= 500:
            return self._failed(route, state, f"HTTP {status}", _retry_after(response))
        if status in (413, 422) and len(chunk) > 1:
            # One bad or huge event refuses the whole batch: send them one by one instead.
            for index, item in enumerate(chunk):
                if self._post(session, route, [item]) == _RETRY:
                    self._requeue(route, chunk[index + 1 :])
                    return _RETRY if index == 0 else _DONE
            return _DONE
        finals = sum(1 for _, entry in chunk if entry.event.get("status") in FINAL)
        log.debug(
            "progressista: %s refused %d events (%d final) with HTTP %s: %s",
            route.url,
            len(chunk),
            finals,
            status,
            (getattr(response, "text", "") or "")[:300],
        )
        self._dropped(chunk)
        return _DONE

    def _failed(self, route: Route, state: _RouteState, reason: str, retry_after: float | None) -> str:
        state.failures += 1
        delay = min(MAX_BACKOFF, FIRST_BACKOFF * 2 ** min(state.failures - 1, 16)) * random.uniform(0.8, 1.2)
        if retry_after is not None:
            delay = max(delay, min(retry_after, MAX_BACKOFF))
        state.retry_at = time.monotonic() + delay
        if self._draining:
            state.drain_failed = True
        self.stats["failures"] += 1
        log.debug("progressista: cannot post to %s (%s); retrying in %.1fs", route.url, reason, delay)
        return _RETRY

    def _dropped(self, chunk: list[tuple[str, _Entry]]) -> None:
        self.stats["dropped"] += len(chunk)


class _Session(requests.Session):
    """A ``requests.Session`` that reads its environment once per URL, not on every request.

    requests consults the environment on each request (proxy variables,
    ``REQUESTS_CA_BUNDLE``, ``~/.netrc``). Those scans and file checks are system
    calls, and each one lets the reporting program's busy thread take the GIL
    back, which is what posting costs the job. The same settings are used, read
    at the first post to each URL.
    """

    def __init__(self) -> None:
        super().__init__()
        self.trust_env = False  # the environment is applied by request() below
        self._environment: dict[str, tuple[dict[str, str], str | None, Any]] = {}

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        key = url.decode() if isinstance(url, bytes) else url
        found = self._environment.get(key)
        if found is None:
            environ = os.environ
            found = self._environment[key] = (
                requests.utils.get_environ_proxies(key),
                environ.get("REQUESTS_CA_BUNDLE") or environ.get("CURL_CA_BUNDLE"),
                requests.utils.get_netrc_auth(key),
            )
        proxies, ca_bundle, netrc_auth = found
        if kwargs.get("proxies") is None and proxies:
            kwargs["proxies"] = dict(proxies)
        if kwargs.get("verify") is None and ca_bundle:
            kwargs["verify"] = ca_bundle
        if kwargs.get("auth") is None and netrc_auth is not None and self.auth is None:
            kwargs["auth"] = netrc_auth
        return super().request(method, url, *args, **kwargs)


def _chunks(items: list[tuple[str, _Entry]], limit: int) -> list[list[tuple[str, _Entry]]]:
    chunks: list[list[tuple[str, _Entry]]] = [[]]
    size = 0
    for item in items:
        if chunks[-1] and size + item[1].size > limit:
            chunks.append([])
            size = 0
        chunks[-1].append(item)
        size += item[1].size
    return chunks


def _retry_after(response: Any) -> float | None:
    try:
        return float(response.headers["Retry-After"])
    except (AttributeError, KeyError, TypeError, ValueError):
        return None


# -- the process-wide sender ---------------------------------------------------------

_sender: Sender | None = None
_sender_lock = threading.Lock()
_before_exit: list[Callable[[], None]] = []
_periodic: list[tuple[Callable[[], None], Callable[[], float]]] = []
_exited = False
#: Bumped in a forked child: bars remember it, so the child ignores its parent's bars.
generation = 0


def get_sender() -> Sender:
    """The process's sender, created on first use."""
    global _sender
    sender = _sender
    if sender is None:
        with _sender_lock:
            if _sender is None:
                _sender = Sender()
            sender = _sender
    return sender


def current() -> Sender | None:
    """The process's sender if one was created, else ``None`` (never creates one)."""
    return _sender


def flush(timeout: float | None = None) -> bool:
    """Post pending events now (at most ``timeout`` seconds; default: the routes' request timeout).

    Call it before ``os._exit()``, which skips the exit flush. True when nothing is left.
    """
    sender = _sender
    return True if sender is None else sender.flush(timeout)


def periodically(hook: Callable[[], None], interval: Callable[[], float]) -> None:
    """Run ``hook`` on the sender thread every ``interval()`` seconds (0: never).

    The client re-sends its open bars from here (the heartbeat). ``interval`` is
    asked when the thread first schedules the hook, and after each run.
    """
    if all(hook is not known for known, _ in _periodic):
        _periodic.append((hook, interval))


def before_exit(hook: Callable[[], None]) -> None:
    """Run ``hook`` at exit before the final flush (the client finishes its open bars there)."""
    if hook not in _before_exit:
        _before_exit.append(hook)


def _at_exit() -> None:
    global _exited
    if _exited:
        return
    _exited = True
    for hook in list(_before_exit):
        try:
            hook()
        except Exception:
            log.debug("progressista: exit hook failed", exc_info=True)
    sender = _sender
    if sender is not None:
        sender.flush()
        sender.close()


def _register_multiprocessing_exit() -> None:
    # multiprocessing children end with os._exit(), skipping atexit; they run
    # multiprocessing.util's finalizers first, so flush there too.
    util = sys.modules.get("multiprocessing.util")
    if util is not None:
        util.Finalize(None, _at_exit, exitpriority=100)


def _after_fork_in_child() -> None:
    # The parent's thread does not exist here, its locks may be held and its
    # socket is shared: start from nothing. Do not close the inherited session,
    # that could disturb the parent's connection.
    global _sender, _sender_lock, _routes_lock, _exited, generation
    _sender = None
    _sender_lock = threading.Lock()
    _routes_lock = threading.Lock()
    _exited = False
    generation += 1


atexit.register(_at_exit)
if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_after_fork_in_child)
