"""The bar: :class:`RemoteTqdm`, tqdm's own bar that also reports its state.

It overrides only what reporting needs: ``__init__`` (set up, report
``start``), ``refresh`` (report an ``update``), ``close`` and ``__exit__``
(report ``close`` or ``error``), as tqdm's ``contrib.telegram`` does; each hands
over to :mod:`.reporting`, which the patch's hooks on tqdm's own class use too.
What an event holds is :mod:`.event`'s, where it goes :mod:`.routes`', the
sending the process's one sender's (:mod:`progressista.sender`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import requests
from tqdm.std import tqdm as std_tqdm

from ..api import post_events
from ..threads import signals_blocked
from . import reporting
from .meta import safe_meta
from .reporting import INTERRUPT_GRACE, NULL_FILE

__all__ = ["EXTRAS", "INTERRUPT_GRACE", "NULL_FILE", "RemoteTqdm", "remote_trange"]

_T = TypeVar("_T")

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
    - ``key``: names the task across runs, for its history and usual duration (``meta.key``;
      default: the task id less its run id's dates and counters);
    - ``headers``: extra HTTP headers; ``PROGRESSISTA_API_TOKEN`` adds
      ``Authorization: Bearer ...`` unless an ``Authorization`` header is given.

    >>> with RemoteTqdm(total=3, task_id="demo:rank-0", meta={"run": 7}) as bar:  # doctest: +SKIP
    ...     bar.update(3)
    """

    #: Defaults for the extra arguments, set on the classes :mod:`progressista.patch` installs.
    _remote_defaults: ClassVar[dict[str, Any]] = {}
    _remote: reporting.Remote | None = None  # None: not reporting (disabled, or not initialised yet)

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

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        # tqdm may start its monitor thread here: keep the program's signals off it (reporting.new_bar,
        # inlined: the check runs for every bar, the thread starts once a process).
        monitor = cls.monitor
        if cls.monitor_interval and (monitor is None or not monitor.report()):  # type: ignore[no-untyped-call]
            with signals_blocked():
                return super().__new__(cls, *args, **kwargs)
        return super().__new__(cls, *args, **kwargs)

    @classmethod
    def get_lock(cls) -> Any:
        """tqdm's write lock, shared with plain tqdm's bars; like tqdm's, a deleted one comes back."""
        if "_lock" not in cls.__dict__:  # inherited, or deleted (tqdm's own tests do that)
            setattr(cls, "_lock", std_tqdm.get_lock())  # type: ignore[no-untyped-call]  # noqa: B010
        return cls.__dict__["_lock"]

    def __init__(
        self,
        *args: Any,
        server_url: str | None = None,
        task_id: str | None = None,
        push_every: float | None = None,
        request_timeout: float | None = None,
        meta: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        key: str | None = None,
        **kwargs: Any,
    ) -> None:
        if "disable" in kwargs:  # only disable=None needs a look (the call costs more than the test)
            kwargs = reporting.visible_kwargs(kwargs)
        super().__init__(*args, **kwargs)
        if not self.disable:
            reporting.start(
                self,
                type(self),
                self._remote_defaults,
                server_url,
                task_id,
                push_every,
                request_timeout,
                meta,
                headers,
                key,
            )

    # -- the overridden tqdm hooks -------------------------------------------------

    def refresh(self, *args: Any, **kwargs: Any) -> Any:
        """tqdm's refresh (already throttled by tqdm), then report the state."""
        shown = super().refresh(*args, **kwargs)
        if self._remote is not None and not self.disable:  # reporting.refreshed, inlined
            reporting.push(self, "update")
        return shown

    def close(self) -> None:
        """Close as tqdm does, then report ``close`` (or ``error``, see :mod:`progressista.client`)."""
        remote = self._remote
        if remote is None or remote.finished:  # not reporting, or closed already (tqdm closes twice: loop, __del__)
            super().close()
            return
        reporting.closing(self, super().close)

    def __exit__(self, exc_type: Any, exc_value: Any, traceback: Any) -> None:
        reporting.exiting(self, exc_value if exc_type is not None else None)
        return super().__exit__(exc_type, exc_value, traceback)

    # -- public extras (under the patch, every tqdm bar has them: see EXTRAS) ----------

    @property
    def task_id(self) -> str | None:
        """The id this bar reports under (``None`` when it does not report)."""
        remote = reporting.remote_of(self)
        return None if remote is None else remote.task_id

    def detach(self) -> None:
        """Stop reporting this bar, without a final status.

        The server keeps its last state (``stale`` after ``PROGRESSISTA_STALE_SECONDS``);
        the console bar goes on as usual. ``progressista demo`` uses it for the bar that "dies".
        """
        self._remote = None

    def set_meta(self, meta: Mapping[str, Any], refresh: bool = True) -> None:
        """Replace the ``meta`` dict sent with every event."""
        remote = reporting.remote_of(self)
        if remote is not None:
            remote.meta, remote.meta_size = safe_meta(meta)
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


#: What a reporting bar has beyond tqdm's: the patch gives every tqdm bar these.
EXTRAS = ("task_id", "detach", "set_meta")


def remote_trange(*args: int, **kwargs: Any) -> RemoteTqdm[int]:
    """``RemoteTqdm(range(*args), **kwargs)``."""
    return RemoteTqdm(range(*args), **kwargs)
