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

Task ids: ``task_id=`` is used exactly as given (cut to 256 characters). Without one (or with
``""``) the bar makes up ``{host}-{process}-{n}`` (:func:`~progressista.client.event.new_task_id`),
prefixed with ``{run_id}:`` when ``PROGRESSISTA_RUN_ID`` is set (``progressista run`` sets it for the program and
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

The package, one noun a module: :mod:`.bar` (the bar), :mod:`.event` (its
state as the wire event), :mod:`.meta` (meta the server accepts),
:mod:`.routes` (where a bar posts) and :mod:`.open_bars` (the process's open
bars: ending them at exit, the heartbeat).
"""

from __future__ import annotations

from .bar import INTERRUPT_GRACE, RemoteTqdm, remote_trange
from .open_bars import finish_open_bars

__all__ = ["INTERRUPT_GRACE", "RemoteTqdm", "finish_open_bars", "remote_trange", "tqdm", "trange"]

# Aliases, as in tqdm's contrib modules: `from progressista.client import tqdm, trange`.
tqdm = RemoteTqdm
trange = remote_trange
