"""The task behind another library's bar: a :class:`~progressista.client.task.RemoteTask` the adapters keep in step.

An adapter calls :meth:`CapturedTask.show` with the library's own state after
each change (cheap: an event is built at most every ``mininterval`` seconds,
the sender coalesces the rest) and :meth:`CapturedTask.end` when the bar ends,
with the exception that ended it, if any:

>>> task = CapturedTask("Downloading", total=3)  # doctest: +SKIP
>>> task.start()  # doctest: +SKIP
>>> task.show(n=2.0, total=3.0, desc="Downloading")  # 2.0 is sent as 2  # doctest: +SKIP
>>> task.end(RuntimeError("disk full"))  # error, meta.error = "RuntimeError: disk full"  # doctest: +SKIP

Ids are made up as a bar's are (``{run_id}:{host}-{process}-{n}``), so
under ``progressista run`` they join the run's group. Tasks still open end
with the open bars (:func:`~progressista.client.finish_open_bars`): at exit,
``error`` after an uncaught exception (with its reason), else ``close``; on a
fatal signal or when a run fails, ``error``.
"""

from __future__ import annotations

import logging
from typing import ClassVar

from ..client.event import new_task_id
from ..client.meta import failure_meta, is_failure
from ..client.task import RemoteTask
from ..config import ClientConfig, ClientOptions

__all__ = ["CapturedTask", "whole"]

log = logging.getLogger("progressista")


class CapturedTask(RemoteTask):
    """One bar of another library, reported under a made-up id (or ``task_id``) with :attr:`defaults`."""

    #: The client options of :func:`progressista.capture.install`, for every new task.
    defaults: ClassVar[ClientOptions] = {}

    def __init__(
        self,
        desc: str | None = None,
        total: float | None = None,
        n: float = 0,
        unit: str = "it",
        task_id: str | None = None,
    ) -> None:
        task_id = task_id or new_task_id(ClientConfig.from_env().run_id)
        super().__init__(task_id, desc=desc, total=whole(total), n=whole(n) or 0, unit=unit, options=self.defaults)

    def show(self, n: float | None, total: float | None, desc: str | None, force: bool = False) -> None:
        """The bar's state now (``total=None``: indeterminate); posted if ``mininterval`` passed, or ``force``."""
        self.n = whole(n) or 0
        self.total = whole(total)
        self.desc = desc
        self.update(force=force)

    def end(self, exc: BaseException | None = None) -> None:
        """End the task: ``error`` with the reason if ``exc`` is a failure (see :func:`is_failure`), else ``close``."""
        if is_failure(exc):
            self.fail(failure_meta(exc))
        else:
            self.close()

    def reopened(self) -> CapturedTask:
        """A new run of this ended task under the same id (a ``start`` reopens it on the server), started."""
        task = CapturedTask(self.desc, self.total, 0, self.unit, task_id=self.task_id)
        task.start()
        return task


def whole(value: float | None) -> float | None:
    """``value`` with a whole float as an int (rich counts in floats: ``3.0`` shows as ``3``).

    >>> whole(3.0), whole(2.5), whole(None), whole(7)
    (3, 2.5, None, 7)
    """
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
