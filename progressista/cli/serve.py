"""``progressista serve``: settings from flags and ``PROGRESSISTA_*``, then uvicorn."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from .errors import fail

__all__ = ["serve"]

#: Seconds open connections get to finish when the server is asked to stop.
SHUTDOWN_GRACE = 10


def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (env PROGRESSISTA_HOST, 0.0.0.0)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (env PROGRESSISTA_PORT, 8000)")] = None,
    storage_path: Annotated[
        Path | None, typer.Option(help="JSON file that keeps tasks across restarts (env PROGRESSISTA_STORAGE_PATH)")
    ] = None,
    retention_seconds: Annotated[
        float | None, typer.Option(help="Keep completed tasks this long (env PROGRESSISTA_RETENTION_SECONDS, 86400)")
    ] = None,
    cleanup_interval: Annotated[
        float | None, typer.Option(help="Seconds between cleanup passes (env PROGRESSISTA_CLEANUP_INTERVAL, 5)")
    ] = None,
    allow_origins: Annotated[
        str | None, typer.Option(help="Comma separated CORS allow-list (env PROGRESSISTA_ALLOW_ORIGINS)")
    ] = None,
    stale_seconds: Annotated[
        float | None, typer.Option(help="Idle seconds before a task is stale, 0 off (env PROGRESSISTA_STALE_SECONDS)")
    ] = None,
    max_task_age: Annotated[
        float | None, typer.Option(help="Drop tasks older than this, 0 off (env PROGRESSISTA_MAX_TASK_AGE)")
    ] = None,
    log_level: Annotated[
        str | None, typer.Option(help="critical, error, warning, info, debug (env PROGRESSISTA_LOG_LEVEL, info)")
    ] = None,
    redis_url: Annotated[
        str | None, typer.Option(help="Keep tasks in Redis, shared by several servers (env PROGRESSISTA_REDIS_URL)")
    ] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes; more than 1 needs --redis-url")] = 1,
) -> None:
    """Run the server: REST API, WebSocket and dashboards."""
    from pydantic import ValidationError

    try:
        import uvicorn

        from progressista.server import Settings, create_app
    except ImportError as exc:
        fail(f"the server needs its extra: pip install 'progressista[server]' ({exc.name} is missing)")

    overrides: dict[str, Any] = {
        key: value
        for key, value in {
            "host": host,
            "port": port,
            "storage_path": storage_path,
            "retention_seconds": retention_seconds,
            "cleanup_interval": cleanup_interval,
            "allow_origins": allow_origins,
            "stale_seconds": stale_seconds,
            "max_task_age": max_task_age,
            "log_level": log_level,
            "redis_url": redis_url,
        }.items()
        if value is not None
    }
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = ".".join(str(part) for part in first["loc"])
        fail(f"invalid setting {field}: {first['msg']}", 2)
    if workers > 1 and not settings.redis_url:
        fail("--workers above 1 needs a shared store: give --redis-url (each worker would have its own tasks)", 2)
    if settings.redis_url:
        _check_redis(settings.redis_url)
    # A bounded graceful shutdown: a stuck client connection must not keep the server from exiting.
    common: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "proxy_headers": True,
        "timeout_graceful_shutdown": SHUTDOWN_GRACE,
    }
    if workers > 1:
        # Workers are separate processes that build their own app: hand them the
        # settings through the environment they read.
        for name, value in overrides.items():
            os.environ[f"PROGRESSISTA_{name.upper()}"] = str(value)
        uvicorn.run("progressista.server:create_app", factory=True, workers=workers, **common)
    else:
        uvicorn.run(create_app(settings), **common)


def _check_redis(url: str) -> None:
    """Fail with one line unless Redis answers (the server would not start without it)."""
    try:
        import redis
    except ImportError:
        fail("--redis-url needs the redis extra: pip install 'progressista[redis]'")
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
        client.ping()
        client.close()
    except (redis.RedisError, OSError, ValueError) as exc:
        fail(f"cannot reach Redis at {url}: {exc}")
