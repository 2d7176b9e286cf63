"""The bar: :class:`RemoteTqdm`, tqdm's own bar that also reports its state.

It overrides only what reporting needs: ``__init__`` (set up, report
``start``), ``display`` (report an ``update``), ``close`` and ``__exit__``
(report ``close`` or ``error``), as tqdm's ``contrib.telegram`` does. What an
event holds is :mod:`.event`'s, where it goes :mod:`.routes`', the sending the
process's one sender's (:mod:`progressista.sender`).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import requests
from tqdm.std import tqdm as std_tqdm

from .. import sender as _sender
from ..api import post_events
from ..protocol.task import MAX_TASK_ID
from .event import bar_event, new_task_id, same_progress
from .meta import bar_meta, failure_meta, meta_with, safe_meta
from .routes import route_for

__all__ = ["INTERRUPT_GRACE", "NULL_FILE", "RemoteTqdm", "remote_trange"]

log = logging.getLogger("progressista")

_T = TypeVar("_T")

#: Seconds a ``close`` from an interrupted ``for`` loop waits, in case the exception kills the job.
INTERRUPT_GRACE = 1.0


class _NullFile:
    """A console that shows nothing: for a ``disable=None`` bar on a non-TTY, and phases without a console bar."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


NULL_FILE = _NullFile()


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
                kwargs["file"] = NULL_FILE
        super().__init__(*args, **kwargs)
        if self.disable:
            return
        try:
            defaults = self._remote_defaults
            route, run_id = route_for(type(self), defaults, server_url, push_every, request_timeout, headers)
            safe, size = bar_meta(defaults.get("meta"), meta)
            given = None if task_id is None else str(task_id)[:MAX_TASK_ID]
            self._remote = _Remote(given or new_task_id(run_id), route, safe, size)
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
        """Close as tqdm does, then report ``close`` (or ``error``, see :mod:`progressista.client`)."""
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
            remote.failure_meta = failure_meta(exc_value)
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
            self._remote.meta, self._remote.meta_size = safe_meta(meta)
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
            remote.seq += 1
            event = bar_event(self, status, remote.task_id, remote.seq, remote.meta, remote.pid)
            last = remote.last_event
            if heartbeat and last is not None and same_progress(event, last):
                # Nothing moved: resend the last timing too, so the state the server keeps is the one
                # the dashboards were last told of (timing is bookkeeping, not progress, to the server).
                event["elapsed"], event["rate"] = last.get("elapsed"), last.get("rate")
            if meta:  # e.g. the signal that ended the bar, on its final event only
                event["meta"] = meta_with(remote.meta, meta)
            remote.last_event = event
            size = 400 + remote.meta_size + len(event["desc"] or "") + len(event["postfix"] or "")  # JSON, roughly
            _sender.get_sender().submit(remote.route, remote.task_id, event, urgent, hold, size)
        except Exception:
            log.debug("progressista: could not report %r", remote.task_id, exc_info=True)


def remote_trange(*args: int, **kwargs: Any) -> RemoteTqdm[int]:
    """``RemoteTqdm(range(*args), **kwargs)``."""
    return RemoteTqdm(range(*args), **kwargs)


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
