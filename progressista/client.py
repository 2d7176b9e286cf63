"""RemoteTqdm: the console bar you know, also streamed to a Progressista server.

>>> from progressista import RemoteTqdm, trange
>>> for record in RemoteTqdm(records, desc="Ingesting", unit="records"):  # doctest: +SKIP
...     ingest(record)
>>> with RemoteTqdm(total=500, desc="Embedding", meta={"model": "all-MiniLM"}) as bar:  # doctest: +SKIP
...     for batch in batches:
...         bar.update(len(batch))
...         bar.set_postfix(loss=0.31)

Extra keyword arguments, all optional (defaults from ``PROGRESSISTA_*``, see
:mod:`progressista.config`): ``server_url``, ``task_id``, ``push_every``,
``request_timeout``, ``meta``, ``headers``.

How it stays cheap: the bar adds no work per iteration. It reports from
``display()``, which tqdm already throttles (``mininterval``/``miniters``), and
from ``close()``; each report builds one event with the bar's full state and
hands it to the process's single sender thread (:mod:`progressista.sender`).

Task ids: ``task_id=`` is used exactly as given. Without one the bar makes up
``{host}-{time ms}-{pid}-{n}``, prefixed with ``{run_id}:`` when
``PROGRESSISTA_RUN_ID`` is set (``progressista run`` sets it for the program and
every child process), so all the bars of one run form one group.

Statuses: ``start`` when created, ``update`` on each display (and, for an
open bar that has not reported for ``PROGRESSISTA_HEARTBEAT_INTERVAL`` seconds,
15 by default, a heartbeat from the sender thread re-sending its state, so the
server tells a slow job from a dead one), ``close`` on
``close()``, ``error`` when a ``with`` block around the bar raises, or when the
program dies (uncaught exception, or ``progressista run``'s target crashes)
with the bar open. A ``for`` loop left by an exception closes its bar from the
generator's cleanup, before anyone can know whether the exception is fatal:
that ``close`` is held back for :data:`INTERRUPT_GRACE` seconds so the crash can
still turn it into ``error``. A bar ended by ``KeyboardInterrupt`` (Ctrl-C,
SIGINT) says so: ``meta["signal"] = "SIGINT"`` on its ``error``; ``progressista
run`` does the same for SIGTERM and SIGHUP (see :mod:`progressista.run`).

``disable=True`` bars send nothing. ``disable=None`` (tqdm: "hide on a non-TTY")
hides the console bar but keeps reporting: a bar nobody sees in a CI log is
exactly the one worth watching remotely.

Network errors never reach your code; see the ``progressista`` logger at DEBUG.
To observe the posts, override :meth:`RemoteTqdm._post` in a subclass.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import numbers
import operator
import os
import socket
import sys
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

import requests
from tqdm.std import tqdm as std_tqdm

from . import sender as _sender
from .api import post_events
from .config import (
    ENV_API_TOKEN,
    ENV_PUSH_INTERVAL,
    ENV_REQUEST_TIMEOUT,
    ENV_RUN_ID,
    ENV_SERVER_URL,
    ClientConfig,
    auth_headers,
)
from .protocol.task import MAX_DESC, MAX_HOST, MAX_META_BYTES, MAX_POSTFIX, MAX_TASK_ID, MAX_UNIT
from .protocol.urls import progress_url

__all__ = ["INTERRUPT_GRACE", "RemoteTqdm", "finish_open_bars", "remote_trange", "tqdm", "trange"]

log = logging.getLogger("progressista")

_T = TypeVar("_T")


# What a heartbeat compares with the last event: if none changed, the bar made no progress.
_PROGRESS_FIELDS = ("n", "total", "desc", "unit", "postfix", "meta")

#: Seconds a ``close`` from an interrupted ``for`` loop waits, in case the exception kills the job.
INTERRUPT_GRACE = 1.0

HOST = socket.gethostname()[:MAX_HOST] or "localhost"
_bar_numbers = itertools.count(1)


class _NullFile:
    """Where the console bar of a ``disable=None`` bar on a non-TTY goes."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


_NULL_FILE = _NullFile()


class _Remote:
    """A bar's reporting state (kept apart from tqdm's attributes)."""

    __slots__ = (
        "failed",
        "failure_meta",
        "finished",
        "generation",
        "held",
        "last_event",
        "last_push",
        "meta",
        "meta_size",
        "pid",
        "route",
        "seq",
        "task_id",
    )

    def __init__(self, task_id: str, route: _sender.Route, meta: dict[str, Any], meta_size: int) -> None:
        self.task_id = task_id
        self.route = route
        self.meta = meta
        self.meta_size = meta_size
        self.seq = 0
        self.pid = os.getpid()
        self.generation = _sender.generation
        self.finished = False
        self.failed = False
        self.failure_meta: dict[str, Any] | None = None  # added to the meta of the final error
        self.held = False
        self.last_push = 0.0
        self.last_event: dict[str, Any] | None = None


if TYPE_CHECKING:
    _Tqdm = std_tqdm
else:

    class _Tqdm:
        """``_Tqdm[_T]`` as a base class means ``std_tqdm``: tqdm's stubs make it
        generic, but at run time it is not subscriptable."""

        def __class_getitem__(cls, item):
            return _TqdmBase()

    class _TqdmBase:
        def __mro_entries__(self, bases):
            return (std_tqdm,)


class RemoteTqdm(_Tqdm[_T]):
    """A ``tqdm.std.tqdm`` that also reports to a Progressista server.

    Every tqdm argument works as usual. Extra keyword arguments:

    - ``server_url``: base, ``/progress`` or ``ws(s)://`` URL
      (``PROGRESSISTA_SERVER_URL``, else ``http://localhost:8000/progress``);
    - ``task_id``: unique id of this bar, used as given (default: hostname, time, pid,
      counter, after ``"{PROGRESSISTA_RUN_ID}:"`` when that is set);
    - ``push_every``: minimum seconds between posts of updates (``PROGRESSISTA_PUSH_INTERVAL``, 0.25);
    - ``request_timeout``: HTTP timeout in seconds (``PROGRESSISTA_REQUEST_TIMEOUT``, 2);
    - ``meta``: a JSON-able dict shown by the dashboards (non-JSON values become strings);
    - ``headers``: extra HTTP headers; ``PROGRESSISTA_API_TOKEN`` adds
      ``Authorization: Bearer ...`` unless an ``Authorization`` header is given.

    >>> with RemoteTqdm(total=3, task_id="demo:rank-0", meta={"run": 7}) as bar:  # doctest: +SKIP
    ...     bar.update(3)
    """

    #: Defaults for the extra arguments, set on the classes :mod:`progressista.patch` installs.
    _remote_defaults: ClassVar[dict[str, Any]] = {}
    _remote: _Remote | None = None  # None: not reporting (disabled, or not initialised yet)

    if not TYPE_CHECKING:

        def __class_getitem__(cls, item):  # RemoteTqdm[int] in annotations evaluated at run time
            return cls

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        post = cls.__dict__.get("_post")
        if post is not None and not isinstance(post, (classmethod, staticmethod)):
            # The sender posts batches of many bars, so _post is called on the
            # class; a plain-method override receives the class as `self`.
            cls._post = classmethod(post)  # type: ignore[method-assign,assignment]

    def __init__(
        self,
        *args: Any,
        server_url: str | None = None,
        task_id: str | None = None,
        push_every: float | None = None,
        request_timeout: float | None = None,
        meta: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        if "disable" in kwargs and kwargs["disable"] is None:
            kwargs["disable"] = False
            if not _isatty(kwargs.get("file") or sys.stderr):
                kwargs["file"] = _NULL_FILE
        super().__init__(*args, **kwargs)
        if self.disable:
            return
        try:
            self._remote = self._remote_setup(server_url, task_id, push_every, request_timeout, meta, headers)
        except Exception:
            log.debug("progressista: this bar will not report", exc_info=True)
            return
        self._push("start", urgent=True)

    # -- the overridden tqdm hooks -------------------------------------------------

    def display(self, *args: Any, **kwargs: Any) -> Any:
        """tqdm's display (already throttled by tqdm), then report the state."""
        shown = super().display(*args, **kwargs)
        if self._remote is not None and not self.disable:
            self._push("update")
        return shown

    def close(self) -> None:
        """Close as tqdm does, then report ``close`` (or ``error``, see the module doc)."""
        remote = self._remote
        if remote is None or remote.finished:
            return super().close()
        # An exception in flight here: a loop left early (GeneratorExit), an iterable that raised, or
        # a close() in an except block. Whether it kills the job is not known yet: hold the close.
        interrupted = sys.exc_info()[1] is not None and not self._complete()
        try:
            super().close()
        finally:
            if remote.failed:
                self._finish("error", meta=remote.failure_meta)
            else:
                self._finish("close", hold=INTERRUPT_GRACE if interrupted else 0.0)

    def __exit__(self, exc_type: Any, exc_value: Any, traceback: Any) -> None:
        remote = self._remote
        if remote is not None and exc_type is not None and _is_failure(exc_value):
            remote.failed = True
            remote.failure_meta = _signal_meta(exc_value)
            if remote.finished and remote.held:  # a loop inside the block closed the bar already
                self._finish("error", meta=remote.failure_meta)
        return super().__exit__(exc_type, exc_value, traceback)

    # -- public extras --------------------------------------------------------------

    @property
    def task_id(self) -> str | None:
        """The id this bar reports under (``None`` when it does not report)."""
        return None if self._remote is None else self._remote.task_id

    def detach(self) -> None:
        """Stop reporting this bar, without a final status.

        The server keeps its last state (``stale`` after ``PROGRESSISTA_STALE_SECONDS``);
        the console bar goes on as usual. ``progressista demo --stale`` uses it.
        """
        self._remote = None

    def set_meta(self, meta: Mapping[str, Any], refresh: bool = True) -> None:
        """Replace the ``meta`` dict sent with every event."""
        if self._remote is not None:
            self._remote.meta, self._remote.meta_size = _safe_meta(meta)
        if refresh:
            self.refresh()

    @classmethod
    def _post(
        cls,
        session: requests.Session,
        url: str,
        payload: list[dict[str, Any]],
        headers: dict[str, str],
        timeout: float,
    ) -> requests.Response | None:
        """Post one batch of events (from any bars of this class); runs on the sender thread.

        Override it to observe or reroute posts. It is called on the class,
        because one batch holds events of many bars: declare it a
        ``classmethod`` (a plain method also works and gets the class as
        ``self``). Return the response; raising a ``requests`` exception or
        returning 5xx/429 keeps the events for a retry; return ``None`` when you
        handled them yourself.

        >>> class AuditedTqdm(RemoteTqdm):  # doctest: +SKIP
        ...     @classmethod
        ...     def _post(cls, session, url, payload, headers, timeout):
        ...         response = super()._post(session, url, payload, headers, timeout)
        ...         audit.info("posted %d events: HTTP %s", len(payload), response.status_code)
        ...         return response
        """
        return post_events(session, url, payload, headers, timeout)

    # -- reporting -----------------------------------------------------------------

    def _remote_setup(
        self,
        server_url: str | None,
        task_id: str | None,
        push_every: float | None,
        request_timeout: float | None,
        meta: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
    ) -> _Remote:
        defaults = self._remote_defaults
        route, run_id = _route_for(type(self), defaults, server_url, push_every, request_timeout, headers)
        default_meta = defaults.get("meta")
        safe_meta: dict[str, Any]
        if meta is None and not default_meta:
            safe_meta, meta_size = {}, 2
        else:
            merged = dict(default_meta or {})
            if isinstance(meta, Mapping):
                merged.update(meta)
            elif meta is not None:
                log.debug("progressista: meta must be a dict, got %s; ignored", type(meta).__name__)
            safe_meta, meta_size = _safe_meta(merged)
        if task_id is None:  # made up here: prefixed with the run, so a run's bars group together
            task_id = f"{HOST}-{int(time.time() * 1000)}-{os.getpid()}-{next(_bar_numbers)}"
            if run_id is not None:
                task_id = f"{run_id}:{task_id}"
        return _Remote(str(task_id)[:MAX_TASK_ID] or "bar", route, safe_meta, meta_size)

    def _complete(self) -> bool:
        return self.total is not None and self.n >= self.total

    def _finish(self, status: str, hold: float = 0.0, meta: Mapping[str, Any] | None = None) -> None:
        remote = self._remote
        if remote is None:
            return
        remote.finished = True
        remote.held = hold > 0
        self._push(status, urgent=True, hold=hold, meta=meta)

    def _push(
        self,
        status: str,
        urgent: bool = False,
        hold: float = 0.0,
        heartbeat: bool = False,
        meta: Mapping[str, Any] | None = None,
    ) -> None:
        remote = self._remote
        if remote is None or remote.generation != _sender.generation:
            return  # not reporting, or inherited through fork from the parent process
        remote.last_push = time.monotonic()
        try:
            event = self._event(remote, status)
            last = remote.last_event
            if heartbeat and last is not None and all(event.get(k) == last.get(k) for k in _PROGRESS_FIELDS):
                # Nothing moved: resend the last timing too, so the server counts contact, not progress.
                event["elapsed"], event["rate"] = last.get("elapsed"), last.get("rate")
            if meta:  # e.g. the signal that ended the bar, on its final event only
                event["meta"] = _meta_with(remote.meta, meta)
            remote.last_event = event
            size = 400 + remote.meta_size + len(event["desc"] or "") + len(event["postfix"] or "")
            _sender.get_sender().submit(remote.route, remote.task_id, event, urgent, hold, size)
        except Exception:
            log.debug("progressista: could not report %r", remote.task_id, exc_info=True)

    def _event(self, remote: _Remote, status: str) -> dict[str, Any]:
        """The bar's full state, as the wire format wants it (fast paths for the usual types)."""
        bar: Any = self  # tqdm's private timing attributes are not in its stubs
        remote.seq += 1
        n = bar.n
        if type(n) is not int:
            n = _number(n)
        elapsed = bar._time() - bar.start_t if hasattr(bar, "start_t") else 0.0
        ema_dt = bar._ema_dt()
        rate = bar._ema_dn() / ema_dt if ema_dt else None
        if rate is None and elapsed and n is not None:
            rate = (n - bar.initial) / elapsed  # what tqdm shows when it has no smoothed rate
        if rate is not None and not math.isfinite(rate):
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
            "task_id": remote.task_id,
            "status": status,
            "desc": desc[:MAX_DESC] or None,
            "unit": unit[:MAX_UNIT],
            "timestamp": time.time(),
            "elapsed": elapsed,
            "rate": rate,
            "postfix": postfix,
            "meta": remote.meta,
            "seq": remote.seq,
            "host": HOST,
            "pid": remote.pid,
        }
        if n is not None:  # a non-finite count is left out: the server keeps the last one
            event["n"] = n
        total = bar.total
        if total is None or type(total) is int:
            event["total"] = total
        elif (total := _number(total)) is not None:
            event["total"] = total
        return event


_routes: dict[tuple[Any, ...], tuple[Mapping[str, Any], _sender.Route, str | None]] = {}
_ENV_NAMES = (ENV_SERVER_URL, ENV_PUSH_INTERVAL, ENV_REQUEST_TIMEOUT, ENV_API_TOKEN, ENV_RUN_ID)
# os.environ.get() encodes and decodes on every call (about 1 us each); the raw
# mapping behind it answers in nanoseconds. Fall back where it is not a dict.
_ENV_DATA = getattr(os.environ, "_data", None)
_ENV_KEYS = (
    tuple(os.environ.encodekey(name) for name in _ENV_NAMES)
    if isinstance(_ENV_DATA, dict) and hasattr(os.environ, "encodekey")
    else None
)


def _environment() -> tuple[Any, ...]:
    """The raw PROGRESSISTA_* values, as a cache key."""
    if _ENV_KEYS is not None:
        data = cast(dict[Any, Any], _ENV_DATA)
        return tuple([data.get(key) for key in _ENV_KEYS])
    return tuple([os.environ.get(name) for name in _ENV_NAMES])


def _route_for(
    cls: type[RemoteTqdm[Any]],
    defaults: Mapping[str, Any],
    server_url: str | None,
    push_every: float | None,
    request_timeout: float | None,
    headers: Mapping[str, str] | None,
) -> tuple[_sender.Route, str | None]:
    """Where a bar posts, from its arguments, its class's defaults and the environment; and the run id.

    Cached: creating many bars with the same settings must stay cheap.
    """
    env = _environment()
    key = (cls, id(defaults), server_url, push_every, request_timeout, tuple(headers.items()) if headers else (), env)
    cached = _routes.get(key)
    if cached is not None and cached[0] is defaults:
        return cached[1], cached[2]
    config = ClientConfig.from_env()
    url = progress_url(str(_pick(server_url, defaults.get("server_url"), config.server_url)))
    timeout = _seconds(_pick(request_timeout, defaults.get("request_timeout")), config.request_timeout, 0.001)
    interval = _seconds(_pick(push_every, defaults.get("push_every")), config.push_interval, 0.0)
    all_headers = {str(k): str(v) for k, v in {**defaults.get("headers", {}), **(headers or {})}.items()}
    if not any(name.lower() == "authorization" for name in all_headers):
        all_headers.update(auth_headers(config.api_token))
    route = _sender.route(url, all_headers, timeout, interval, cls._post)
    if len(_routes) > 256:
        _routes.clear()
    _routes[key] = (defaults, route, config.run_id)
    return route, config.run_id


def remote_trange(*args: int, **kwargs: Any) -> RemoteTqdm[int]:
    """``RemoteTqdm(range(*args), **kwargs)``."""
    return RemoteTqdm(range(*args), **kwargs)


def _open_bars() -> list[RemoteTqdm[Any]]:
    """This process's reporting bars that are still open."""
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
        if isinstance(bar, RemoteTqdm)
        and bar._remote is not None
        and not bar._remote.finished
        and bar._remote.generation == _sender.generation
    ]


def finish_open_bars(status: str = "close", meta: Mapping[str, Any] | None = None) -> int:
    """Report ``status`` for every reporting bar of this process still open; returns how many.

    With ``"error"``, closes held back from interrupted loops become errors
    too. ``meta`` is added to each bar's meta in that final event (e.g.
    ``{"signal": "SIGTERM"}``; left out if the result would pass the size limit).
    The console bars are left alone. ``progressista run`` and the exit hook call this.
    """
    count = 0
    for bar in _open_bars():
        bar._finish(status, meta=meta)
        count += 1
    sender = _sender.current()
    if status == "error" and sender is not None:
        extend = None
        if meta:
            extra = dict(meta)

            def extend(event: dict[str, Any]) -> None:
                event["meta"] = _meta_with(event.get("meta") or {}, extra)

        count += sender.fail_held(extend)
    return count


def _exit_hook() -> None:
    # sys.last_value (3.12+: last_exc) is set when the interpreter printed an uncaught exception.
    died = getattr(sys, "last_exc", None) or getattr(sys, "last_value", None)
    finish_open_bars("error" if died is not None else "close", _signal_meta(died))


def _heartbeat() -> None:
    # On the sender thread: re-send the open bars that have not reported for a
    # heartbeat interval (a slow loop, or tqdm skipping displays), so the server
    # marks them stale, not lost, while this process lives.
    interval = _heartbeat_interval()
    now = time.monotonic()
    for bar in _open_bars():
        remote = bar._remote
        if remote is not None and now - remote.last_push >= interval * 0.9:
            bar._push("update", heartbeat=True)


def _heartbeat_interval() -> float:
    return ClientConfig.from_env().heartbeat_interval


_sender.before_exit(_exit_hook)
_sender.periodically(_heartbeat, _heartbeat_interval)


def _signal_meta(exc: BaseException | None) -> dict[str, Any] | None:
    """``{"signal": "SIGINT"}`` for a ``KeyboardInterrupt`` (what Python makes of SIGINT), else ``None``."""
    return {"signal": "SIGINT"} if isinstance(exc, KeyboardInterrupt) else None


def _meta_with(meta: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``meta`` updated with ``extra``; just ``meta`` if that would pass the server's size limit."""
    merged = {**meta, **extra}
    try:
        size = len(json.dumps(merged, allow_nan=False, separators=(",", ":")))
    except (TypeError, ValueError):
        return dict(meta)
    return merged if size <= MAX_META_BYTES else dict(meta)


def _is_failure(exc: BaseException | None) -> bool:
    if isinstance(exc, GeneratorExit):
        return False
    if isinstance(exc, SystemExit):
        return exc.code not in (None, 0)
    return True


def _isatty(file: Any) -> bool:
    try:
        return bool(file.isatty())
    except Exception:
        return False


def _pick(*values: Any) -> Any:
    return next((value for value in values if value is not None), None)


def _seconds(value: Any, default: float, minimum: float) -> float:
    if value is None:
        return default
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = math.nan
    if math.isfinite(seconds) and seconds >= minimum:
        return seconds
    log.debug("progressista: ignoring invalid interval %r; using %s", value, default)
    return default


def _number(value: Any) -> int | float | None:
    """A JSON number the server accepts (finite int or float), or ``None``."""
    kind = type(value)
    if kind is int:
        return cast(int, value)
    if kind is float:
        return cast(float, value) if math.isfinite(value) else None
    if value is None:
        return None
    try:
        if isinstance(value, numbers.Integral):
            return operator.index(value)
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _safe_meta(meta: Any) -> tuple[dict[str, Any], int]:
    """``meta`` as JSON the server accepts, and its size; ``{}`` when that is impossible."""
    if not isinstance(meta, Mapping):
        log.debug("progressista: meta must be a dict, got %s; dropped", type(meta).__name__)
        return {}, 2
    safe = cast(dict[str, Any], _json_safe(meta, 0))
    try:
        size = len(json.dumps(safe, allow_nan=False, separators=(",", ":")))
    except (TypeError, ValueError):  # cannot happen after _json_safe, but never raise into the user
        log.debug("progressista: meta is not JSON; dropped", exc_info=True)
        return {}, 2
    if size > MAX_META_BYTES:
        log.debug("progressista: meta is %d bytes of JSON, over the %d limit; dropped", size, MAX_META_BYTES)
        return {}, 2
    return safe, size


def _json_safe(value: Any, depth: int) -> Any:
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if depth > 32:
        return str(value)
    if isinstance(value, Mapping):
        return {str(key): _json_safe(item, depth + 1) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_json_safe(item, depth + 1) for item in value]
    if isinstance(value, numbers.Number):
        number = _number(value)
        return number if number is not None else str(value)
    return str(value)


# Aliases, as in tqdm's contrib modules: `from progressista.client import tqdm, trange`.
tqdm = RemoteTqdm
trange = remote_trange
