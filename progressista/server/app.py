"""The app factory: ``create_app(settings)`` builds a configured FastAPI app.

Resources (store, broadcaster, lifecycle loop) are built in ``lifespan`` onto
``app.state`` and reached through the dependency aliases of :mod:`.deps`.
Works with ``uvicorn --factory progressista.server:create_app`` (settings from
the environment) as well as from ``progressista serve``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.resources import files
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Scope

from progressista.version import __version__

from . import routes, ws
from .alerts.engine import Alerts
from .alerts.ledger import build_ledger
from .alerts.rules import load_rules
from .auth import TokenRedactingFilter
from .background import stop
from .broadcast import Broadcaster
from .docs import docs_router
from .history.recorder import History
from .history.redis import RedisHistory
from .history.sqlite import SqliteHistory
from .history.store import HistoryStore
from .lifecycle import run_lifecycle
from .limits import WebSocketLimit, connection_limit
from .metrics import Metrics
from .settings import Settings
from .store import Change, MemoryStore, StoreUnavailable, TaskStore
from .store_json import JsonFile
from .tasks import Lifecycle, Task
from .throttle import Throttle

__all__ = ["create_app"]

_LOGGERS_WITH_URLS = ("uvicorn.access", "uvicorn.error")


class DashboardFiles(StaticFiles):
    """Static files that never leak the page address (``?token=``) as a referrer, nor let other pages frame them."""

    def __init__(self, *, frame_ancestors: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.security_headers = {"Referrer-Policy": "no-referrer", **framing_headers(frame_ancestors)}

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(self.security_headers)
        return response


def framing_headers(frame_ancestors: str) -> dict[str, str]:
    """The headers that tell browsers which pages may frame the dashboard (``PROGRESSISTA_FRAME_ANCESTORS``).

    >>> framing_headers("'none'")
    {'Content-Security-Policy': "frame-ancestors 'none'", 'X-Frame-Options': 'DENY'}
    >>> framing_headers("https://intranet.example.com")  # X-Frame-Options cannot name other sites
    {'Content-Security-Policy': 'frame-ancestors https://intranet.example.com'}
    >>> framing_headers("")
    {}
    """
    sources = " ".join(frame_ancestors.split())
    if not sources:
        return {}
    headers = {"Content-Security-Policy": f"frame-ancestors {sources}"}
    legacy = {"'none'": "DENY", "'self'": "SAMEORIGIN"}.get(sources)  # for browsers without CSP frame-ancestors
    if legacy:
        headers["X-Frame-Options"] = legacy
    return headers


def build_store(settings: Settings) -> TaskStore:
    """The store the settings ask for: Redis when a URL is given, else memory (and maybe a file)."""
    if settings.redis_url:
        try:
            from .store_redis import RedisStore
        except ImportError as exc:
            raise RuntimeError(
                f"PROGRESSISTA_REDIS_URL needs the redis extra: pip install 'progressista[redis]' "
                f"({exc.name} is missing)"
            ) from exc
        # The lease outlives a few missed passes, so a dead leader is replaced quickly.
        lease = max(1.0, settings.cleanup_interval * 3)
        return RedisStore(
            settings.redis_url, settings.redis_prefix, settings.max_tasks, lease, timeout=settings.redis_timeout
        )
    file = JsonFile(settings.storage_path) if settings.storage_path else None
    return MemoryStore(settings.max_tasks, file, settings.save_interval)


async def _store_unavailable(request: Request, exc: Exception) -> Response:
    return JSONResponse(
        {"detail": f"store unavailable, retry later: {exc}"}, status_code=503, headers={"Retry-After": "1"}
    )


def _document_event_schema(app: FastAPI) -> None:
    """Add the event schemas that ``POST /progress`` refers to to the OpenAPI components."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            schema.setdefault("components", {}).setdefault("schemas", {}).update(routes.EVENT_SCHEMA_COMPONENTS)
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]


def build_history(settings: Settings) -> HistoryStore | None:
    """Redis history with a Redis store, else the SQLite file if there is one, else none."""
    if settings.redis_url:
        return RedisHistory(settings.redis_url, settings.redis_prefix, settings.redis_timeout, settings.history_max)
    path = settings.history_file
    return SqliteHistory(path, settings.history_max) if path is not None else None


async def start_history(history: History, store: TaskStore) -> None:
    """Start recording; a history that cannot be opened is logged once and left off (ingest goes on)."""
    try:
        await history.start(await store.tasks(now=time.time()))
    except Exception as exc:
        logging.getLogger("progressista.server").warning("history is off: could not open it (%s)", exc)
        history.store = None


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the Progressista server. Without ``settings``, reads ``PROGRESSISTA_*``."""
    settings = settings if settings is not None else Settings()
    # Checked before anything starts: a rule that cannot be used stops the server (RulesError names it).
    rules = load_rules(settings.alerts_file) if settings.alerts_file is not None else []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        redact = TokenRedactingFilter()
        for name in _LOGGERS_WITH_URLS:
            logging.getLogger(name).addFilter(redact)
        store = build_store(settings)
        history = History(
            build_history(settings), days=settings.history_days, on_dropped=app.state.metrics.history_dropped.inc
        )

        async def shown_tasks() -> dict[str, Task]:
            return history.annotate(await store.tasks(now=time.time()))

        broadcaster = Broadcaster(
            shown_tasks,
            interval=settings.broadcast_interval,
            queue_size=settings.ws_queue_size,
            stats=app.state.metrics.broadcast_stats(),
        )
        alerts = Alerts(
            rules,
            build_ledger(settings.redis_url, settings.redis_prefix, settings.redis_timeout),
            lambda: store.tasks(now=time.time()),
            public_url=settings.public_url,
            timeout=settings.alerts_timeout,
            first_delay=settings.alerts_retry_seconds,
            stats=app.state.metrics.alert_stats(),
        )

        def publish(change: Change) -> None:
            history.observe(change)
            if history.enabled and change.tasks:  # open tasks carry their key's usual duration
                change = Change(history.annotate(change.tasks), change.removed, change.resync)
            broadcaster.publish(change)
            alerts.observe(change)

        store.on_change = publish
        store.on_save_failure = app.state.metrics.store_save_failures.inc
        await store.start()
        await start_history(history, store)
        await broadcaster.start()
        policy = Lifecycle(
            settings.stale_seconds, settings.retention_seconds, settings.max_task_age, settings.lost_seconds
        )
        await alerts.start()  # before the lifecycle marks anything: the tasks as they are fire nothing
        lifecycle = asyncio.create_task(run_lifecycle(store, policy, settings.cleanup_interval))
        app.state.store, app.state.broadcaster, app.state.alerts = store, broadcaster, alerts
        app.state.history = history
        try:
            yield
        finally:
            await stop(lifecycle)  # not a bare cancel(): a sweep inside a Redis call can swallow one
            await alerts.close()
            await history.close()
            await broadcaster.close()
            await store.close()
            for name in _LOGGERS_WITH_URLS:
                logging.getLogger(name).removeFilter(redact)

    app = FastAPI(
        title="Progressista",
        version=__version__,
        summary="Remote progress bars: tqdm state in, live dashboards out.",
        lifespan=lifespan,
        # FastAPI's pages load Swagger UI and ReDoc from a CDN: ours (docs.py) works offline.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.grants = settings.grants()
    app.state.throttle = Throttle(settings.auth_failures)
    app.state.metrics = Metrics()
    if settings.allow_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.allow_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
    # uvicorn's limit_concurrency covers HTTP requests only: WebSocket handshakes are upgraded unchecked.
    app.add_middleware(WebSocketLimit, limit=connection_limit(settings.max_connections))
    _document_event_schema(app)
    app.add_exception_handler(StoreUnavailable, _store_unavailable)
    app.include_router(routes.router)
    app.include_router(ws.router)
    app.include_router(docs_router(app, framing_headers(settings.frame_ancestors)))
    static = DashboardFiles(
        directory=str(files("progressista") / "static"), html=True, frame_ancestors=settings.frame_ancestors
    )
    app.mount("/static", static, name="static")
    return app
