"""Every Python process of a run reports: what a run's child processes inherit.

``progressista run`` and ``exec`` put :data:`BOOT_DIR` first on ``PYTHONPATH``
(with the server, token, push interval and run id in ``PROGRESSISTA_*``), so
every Python process started below them, by ``multiprocessing`` (spawn,
forkserver or fork), ``concurrent.futures.ProcessPoolExecutor``,
``subprocess`` or ``os.exec*``, runs :mod:`progressista.boot.sitecustomize`
before the program: once that process imports tqdm, tqdm reports (the patch)
and a SIGTERM or SIGHUP ends its open bars as ``error`` before it dies
(:mod:`progressista.signals`), as in the run's own process. A user's own
``sitecustomize`` still runs.

>>> env = child_environment({"PYTHONPATH": "/my/lib"})
>>> env["PYTHONPATH"] == os.pathsep.join([BOOT_DIR, "/my/lib"])
True
"""

from __future__ import annotations

import os
from collections.abc import Mapping

__all__ = ["BOOT_DIR", "ENV_PYTHONPATH", "child_environment", "on_tqdm_import"]

#: The folder holding only the run's ``sitecustomize.py``.
BOOT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "boot")
ENV_PYTHONPATH = "PYTHONPATH"


def child_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` with :data:`BOOT_DIR` first on ``PYTHONPATH`` (once)."""
    entries = [entry for entry in environ.get(ENV_PYTHONPATH, "").split(os.pathsep) if entry and entry != BOOT_DIR]
    return {**environ, ENV_PYTHONPATH: os.pathsep.join([BOOT_DIR, *entries])}


def on_tqdm_import() -> None:
    """In a child process of a run, right after tqdm was imported: patch it, and report on fatal signals.

    (Not in a ``multiprocessing.Pool`` worker: there the bars flush as they end, see
    :func:`~progressista.client.reporting.in_pool_worker`.)
    """
    from . import signals
    from .patch import install, installed

    if not installed():
        install()
    signals.install()
