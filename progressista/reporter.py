"""Phase-based progress, streamed to Progressista.

:class:`PhaseReporter` satisfies the ``ProgressReporter`` protocol of the
sortition-algorithms library (``start_phase`` / ``update`` / ``end_phase``)
without importing it, and works for any code that runs in phases:

>>> from sortition_algorithms.core import run_stratification  # doctest: +SKIP
>>> with PhaseReporter(run_id="assembly-2026") as reporter:  # doctest: +SKIP
...     run_stratification(features, people, 100, settings, progress_reporter=reporter)

>>> with PhaseReporter(run_id="nightly-etl") as phases:  # doctest: +SKIP
...     phases.start_phase("extract", total=len(tables), message="Extracting tables")
...     for done, table in enumerate(tables, 1):
...         extract(table)
...         phases.update(done, message=f"Extracted {table}")
...     phases.start_phase("dedupe", message="Removing duplicates")  # total unknown: a counter
...     for rounds in dedupe_rounds():
...         phases.update(rounds)

Each phase is its own bar under one run: task id ``"{run_id}:{phase name}"``
(so the dashboards group them), ``desc`` the human message, ``meta.phase`` the
machine name. Phases are flat: a new ``start_phase`` ends the previous one. A
``total`` of ``None`` makes an indeterminate counter.

Each phase is a :class:`~progressista.client.RemoteTqdm` (without a console
bar unless ``console=True``), so phases share the process's one sender with
every other bar: ``update`` can be called hundreds of times a second (tqdm and
the sender throttle it), while phase starts and ends go out at once. Nothing
here raises into the library: with the server down, the run completes as usual.

To report to several places, fan out as the sortition-algorithms docs show::

    reporter = CompositeProgressReporter(PhaseReporter(run_id=run), RichProgressReporter())
"""

from __future__ import annotations

import logging
import os
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

from .client import RemoteTqdm
from .client.bar import NULL_FILE
from .config import ENV_RUN_ID, ClientOptions, check_options, clean_run_id, new_run_id

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["PhaseReporter"]

log = logging.getLogger("progressista")


class PhaseReporter:
    """Streams ``start_phase`` / ``update`` / ``end_phase`` to a Progressista server.

    ``run_id`` names the run (default: ``$PROGRESSISTA_RUN_ID``, else a fresh
    ``run-<date>-<time>-<random>``; a ``:`` becomes ``-``); ``console=True`` draws
    each phase's console bar too. The client options
    (:class:`~progressista.config.ClientOptions`: ``server_url``, ``push_every``,
    ``request_timeout``, ``headers``, ``meta``) and their environment defaults are
    :class:`~progressista.client.RemoteTqdm`'s; ``meta`` is added to every phase's.
    """

    def __init__(self, run_id: str | None = None, *, console: bool = False, **options: Unpack[ClientOptions]) -> None:
        check_options("PhaseReporter", options)
        self.run_id = clean_run_id(run_id) or clean_run_id(os.environ.get(ENV_RUN_ID)) or new_run_id()
        self._meta = dict(options.pop("meta", None) or {})
        self._options = cast(dict[str, Any], options)  # the client options, meta apart
        self._console = console
        self._bar: RemoteTqdm[Any] | None = None

    # -- the ProgressReporter protocol ---------------------------------------------

    def start_phase(self, name: str, total: int | None = None, *, message: str | None = None) -> None:
        """End the current phase, if any, and start ``name`` (reported at once)."""
        self.end_phase()
        try:
            self._bar = RemoteTqdm(
                total=total,
                desc=message or name,
                task_id=f"{self.run_id}:{name}",
                meta={**self._meta, "phase": name, "run_id": self.run_id},
                leave=False,
                file=None if self._console else NULL_FILE,
                **self._options,
            )
        except Exception:  # a reporter must never break the run it reports on
            log.debug("progressista: could not start phase %r", name, exc_info=True)
            self._bar = None

    def update(self, current: int, *, message: str | None = None) -> None:
        """Progress within the phase: ``current`` is absolute (an iteration count when total is None)."""
        bar = self._bar
        if bar is None:
            return
        try:
            if message is not None and message != bar.desc:
                bar.set_description_str(message, refresh=False)
            # tqdm's update takes a delta and throttles the display (and so the report).
            bar.update(current - bar.n)
        except Exception:
            log.debug("progressista: could not report progress", exc_info=True)

    def end_phase(self) -> None:
        """Close the current phase (reported at once)."""
        self._finish(None)

    # -- context manager and closing -----------------------------------------------

    def close(self) -> None:
        """End the open phase, if any."""
        self.end_phase()

    def __enter__(self) -> PhaseReporter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """An exception in the block ends the open phase as ``error``."""
        self._finish(exc)

    def _finish(self, exc: BaseException | None) -> None:
        bar, self._bar = self._bar, None
        if bar is None:
            return
        try:
            # RemoteTqdm's own context exit turns an exception into an ``error`` status.
            bar.__exit__(type(exc) if exc is not None else None, exc, exc.__traceback__ if exc else None)
        except Exception:
            log.debug("progressista: could not end phase", exc_info=True)
