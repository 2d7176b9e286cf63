"""Realistic fake bars, to try the dashboards: what ``progressista demo`` runs.

>>> from progressista.demo import run_demo
>>> run_demo(bars=3, total=50, delay=0.05, stale=True)  # doctest: +SKIP
0

Each bar runs in its own thread with a rate, a unit, a ``loss=`` postfix and
``meta``; with ``stale=True`` one more bar stops halfway without closing, so a
server with ``PROGRESSISTA_STALE_SECONDS`` shows it as stale.
"""

from __future__ import annotations

import os
import random
import threading
import time
from typing import Any, TextIO

from . import notices
from .client import RemoteTqdm
from .config import ClientConfig, auth_headers
from .protocol.urls import progress_url

__all__ = ["run_demo"]

_STAGES = [
    ("Downloading shards", "MB"),
    ("Tokenising corpus", "docs"),
    ("Training epoch 1", "batch"),
    ("Embedding passages", "vec"),
    ("Evaluating", "sample"),
]


def run_demo(
    bars: int = 2,
    total: int = 20,
    delay: float = 0.1,
    stale: bool = False,
    server_url: str | None = None,
    token: str | None = None,
    file: TextIO | None = None,
) -> int:
    """Run ``bars`` bars of ``total`` steps, ``delay`` seconds apart on average; returns 0.

    ``server_url``/``token`` default to ``PROGRESSISTA_SERVER_URL``/``PROGRESSISTA_API_TOKEN``.
    A refused token or an unreachable server gets a one-line warning
    (:mod:`progressista.notices`); the bars run anyway.
    """
    config = ClientConfig.from_env()
    url = server_url or config.server_url
    token = token or config.api_token
    _check_server(url, token)
    run_id = f"demo-{os.getpid()}-{int(time.time())}"
    options: dict[str, Any] = {"server_url": url, "headers": auth_headers(token), "file": file}
    threads = [
        threading.Thread(target=_work, args=(run_id, index, total, delay, options), name=f"demo-{index}")
        for index in range(bars)
    ]
    if stale:
        threads.append(threading.Thread(target=_go_quiet, args=(run_id, bars, total, delay, options)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return 0


def _work(run_id: str, index: int, total: int, delay: float, options: dict[str, Any]) -> None:
    desc, unit = _STAGES[index % len(_STAGES)]
    rng = random.Random(index)
    loss = 2.5 + rng.random()
    meta = {"demo": True, "run_id": run_id, "worker": index + 1, "dataset": f"shard-{index:03d}"}
    bar: RemoteTqdm[Any]
    with RemoteTqdm(
        total=total, desc=desc, unit=unit, position=index, task_id=f"{run_id}:{index + 1}", meta=meta, **options
    ) as bar:
        for _ in range(total):
            time.sleep(delay * rng.uniform(0.5, 1.5))
            loss *= rng.uniform(0.85, 0.99)
            bar.set_postfix(loss=f"{loss:.3f}", refresh=False)
            bar.update(1)


def _go_quiet(run_id: str, index: int, total: int, delay: float, options: dict[str, Any]) -> None:
    meta = {"demo": True, "run_id": run_id, "note": "stops reporting halfway"}
    bar: RemoteTqdm[Any] = RemoteTqdm(
        total=total, desc="Waiting on a lock", position=index, task_id=f"{run_id}:stale", meta=meta, **options
    )
    for _ in range(max(1, total // 2)):
        time.sleep(delay)
        bar.update(1)
    bar.refresh()
    bar.detach()  # no close event: the server keeps it open until it turns stale
    bar.close()


def _check_server(url: str, token: str | None) -> None:
    """One line on stderr if the bars would not show (a refused token, no server): as the bars post."""
    notice = notices.check_server(progress_url(url), auth_headers(token), ClientConfig.from_env().request_timeout)
    if notice is not None:
        notices.say(*notice)
