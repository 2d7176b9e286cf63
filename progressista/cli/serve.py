"""``progressista serve``: settings from flags and ``PROGRESSISTA_*``, then uvicorn."""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from progressista.protocol.roles import ROLES, Grant, TokenEntryError

from .errors import fail

__all__ = ["dashboard_urls", "describe_grants", "serve"]

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
    token: Annotated[
        str | None,
        typer.Option(
            metavar="TOKEN",
            help="One admin token that clients must send (env PROGRESSISTA_API_TOKEN); "
            "tokens with roles: --tokens-file or PROGRESSISTA_API_TOKENS",
            show_default=False,
        ),
    ] = None,
    stale_seconds: Annotated[
        float | None,
        typer.Option(
            help="Seconds without progress before a task is stale, 0 off (env PROGRESSISTA_STALE_SECONDS, 300)"
        ),
    ] = None,
    lost_seconds: Annotated[
        float | None,
        typer.Option(help="Seconds without contact before a task is lost, 0 off (env PROGRESSISTA_LOST_SECONDS, 45)"),
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
    alerts: Annotated[
        Path | None,
        typer.Option(help="TOML file of alert rules, checked at start (env PROGRESSISTA_ALERTS_FILE)"),
    ] = None,
    tokens_file: Annotated[
        Path | None,
        typer.Option(help="Tokens with roles, one 'ROLE TOKEN' a line (env PROGRESSISTA_TOKENS_FILE)"),
    ] = None,
    max_connections: Annotated[
        int | None, typer.Option(help="Connections served at once, 503 past it (env PROGRESSISTA_MAX_CONNECTIONS)")
    ] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes; more than 1 needs --redis-url")] = 1,
) -> None:
    """Run the server: REST API, WebSocket and dashboards.

    Every setting can also come from the environment (PROGRESSISTA_*, see the
    README); a flag wins. Without a token (--token or PROGRESSISTA_API_TOKEN,
    PROGRESSISTA_API_TOKENS, --tokens-file) anyone who can reach the server may
    report, read and remove tasks: it says so as it starts, when it listens
    beyond this machine.
    """
    from pydantic import ValidationError

    try:
        import uvicorn

        from progressista.server import Settings, create_app
        from progressista.server.deflate import WebSocketProtocol
        from progressista.server.limits import connection_limit, raise_nofile_limit
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
            "api_token": token,
            "stale_seconds": stale_seconds,
            "lost_seconds": lost_seconds,
            "max_task_age": max_task_age,
            "log_level": log_level,
            "redis_url": redis_url,
            "max_connections": max_connections,
            "tokens_file": tokens_file,
            "alerts_file": alerts,
        }.items()
        if value is not None
    }
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = ".".join(str(part) for part in first["loc"])
        fail(f"invalid setting {field}: {first['msg']}", 2)
    if token is not None and settings.api_tokens:
        fail("--token is ignored when PROGRESSISTA_API_TOKENS is set: add it there as admin:TOKEN", 2)
    try:
        grants = settings.grants()
    except TokenEntryError as exc:  # it names the entry, never the secret
        fail(f"invalid tokens: {exc}", 2)
    if settings.alerts_file is not None:
        _check_alerts(settings.alerts_file)
    if workers > 1 and not settings.redis_url:
        fail("--workers above 1 needs a shared store: give --redis-url (each worker would have its own tasks)", 2)
    if settings.redis_url:
        _check_redis(settings.redis_url, settings.redis_timeout)
    elif settings.storage_path:
        _check_storage(settings.storage_path)
    # Before the app is built: its default connection limit follows the file-descriptor limit.
    raised = raise_nofile_limit()
    limit = connection_limit(settings.max_connections)
    if workers > 1:
        # Workers are separate processes that build their own app: hand them the
        # settings through the environment they read.
        for name, value in overrides.items():
            os.environ[f"PROGRESSISTA_{name.upper()}"] = str(value)
    config = uvicorn.Config(
        "progressista.server:create_app" if workers > 1 else create_app(settings),
        factory=workers > 1,
        workers=workers,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        log_config=_log_config(settings.log_level),
        # X-Forwarded-For is believed only from the proxies named: uvicorn would believe any local process.
        proxy_headers=bool(settings.forwarded_allow_ips),
        forwarded_allow_ips=settings.forwarded_allow_ips or None,
        ws_max_size=settings.ws_max_message_bytes,
        ws=WebSocketProtocol,  # compresses a large message once for every dashboard
        # A bounded graceful shutdown: a stuck client connection must not keep the server from exiting.
        timeout_graceful_shutdown=SHUTDOWN_GRACE,
        limit_concurrency=limit,
    )
    log = logging.getLogger("progressista")  # configured by uvicorn.Config
    if raised:
        log.info("Raised the file descriptor limit from %d to %d", *raised)
    log.info("Serving at most %s connections at once (503 past it)", limit or "unlimited")
    _run(config, settings.send_timeout, lambda sock: _announce(log, sock, settings, grants))


def _announce(log: logging.Logger, sock: socket.socket, settings: Any, grants: list[Grant]) -> None:
    """Say where the dashboard is, which tokens the server wants, and warn when it is open to the network."""
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    address = sock.getsockname()
    for url in dashboard_urls(str(address[0]), int(address[1]), settings.public_url):
        log.info("Dashboard: %s", url)
    log.info("Tokens: %s", describe_grants(grants))
    if not grants and not ipaddress.ip_address(str(address[0]).split("%")[0]).is_loopback:
        log.warning(
            "Listening on %s without a token: anyone who can reach it may report, read and remove tasks; "
            "give --token (or PROGRESSISTA_API_TOKEN, --tokens-file), or --host 127.0.0.1",
            address[0],
        )


def dashboard_urls(host: str, port: int, public_url: str = "") -> list[str]:
    """Where a browser opens the dashboard of a server bound to ``host``:``port``.

    >>> dashboard_urls("127.0.0.1", 8000), dashboard_urls("::1", 80)
    (['http://127.0.0.1:8000/'], ['http://[::1]:80/'])
    >>> dashboard_urls("0.0.0.0", 8000)[0], dashboard_urls("0.0.0.0", 8000, "https://p.example.com")[-1]
    ('http://localhost:8000/', 'https://p.example.com/ (public URL)')
    """
    if host in ("", "0.0.0.0", "::"):  # every interface: this machine, and others by its name
        urls = [f"http://localhost:{port}/"]
        name = socket.gethostname()
        if name and name != "localhost":
            urls.append(f"http://{name}:{port}/")
    else:
        urls = [f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"]
    if public_url:
        urls.append(public_url.rstrip("/") + "/ (public URL)")
    return urls


def describe_grants(grants: list[Grant]) -> str:
    """What the ``Tokens:`` line says.

    >>> describe_grants([])
    'none required (anyone who can reach the server may report, read and remove tasks)'
    >>> describe_grants([Grant("admin", b"1"), Grant("ingest", b"2"), Grant("ingest", b"3")])
    'required: 2 ingest, 1 admin (ingest reports, read reads, admin does both and removes)'
    """
    if not grants:
        return "none required (anyone who can reach the server may report, read and remove tasks)"
    counts = Counter(grant.role for grant in grants)
    roles = ", ".join(f"{counts[role]} {role}" for role in ROLES if counts[role])
    return f"required: {roles} (ingest reports, read reads, admin does both and removes)"


def _run(config: Any, send_timeout: float, announce: Callable[[socket.socket], None]) -> None:
    """What ``uvicorn.run`` does, on a listening socket of our own that cuts clients that stop reading.

    The socket's ``TCP_USER_TIMEOUT`` (Linux), inherited by every connection,
    has the kernel drop a connection whose data stays unacknowledged for
    ``send_timeout`` seconds, a full receive window included. uvicorn's own
    close waits for the unsent data forever, holding its buffers, when a
    dashboard never reads; the dropped connection frees them.
    """
    import inspect

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    sock = config.bind_socket()
    option = getattr(socket, "TCP_USER_TIMEOUT", None)
    if send_timeout > 0 and option is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, option, max(1, round(send_timeout * 1000)))
    announce(sock)
    server = uvicorn.Server(config)
    try:
        if config.workers == 1:
            server.run(sockets=[sock])
        elif "target" in inspect.signature(Multiprocess).parameters:  # older uvicorn
            Multiprocess(config, target=server.run, sockets=[sock]).run()  # type: ignore[call-arg]
        else:
            Multiprocess(config, sockets=[sock]).run()
    except KeyboardInterrupt:
        pass
    if not server.started and config.workers == 1:
        raise SystemExit(3)  # uvicorn's exit status for a failed startup


def _log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging, with the server's own ``progressista`` logger on the same handler and level."""
    import copy

    from uvicorn.config import LOG_LEVELS, LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["progressista"] = {"handlers": ["default"], "level": LOG_LEVELS[level], "propagate": False}
    return config


def _check_storage(path: Path) -> None:
    """Fail with one line when another server holds the storage file (the app would refuse it with a traceback)."""
    from progressista.server.store_json import JsonFile, StorageError

    file = JsonFile(path)
    try:
        file.lock()
    except (StorageError, OSError) as exc:
        fail(str(exc))
    file.unlock()  # the server takes it again as it starts


def _check_redis(url: str, timeout: float = 5.0) -> None:
    """Fail with one line unless Redis answers within ``timeout`` (the server would not start without it).

    Two round trips at most (the connection's CLIENT SETINFO, then PING), each bounded by
    ``timeout``: a Redis that accepts connections but never answers fails here, not in a traceback.
    """
    try:
        import redis
    except ImportError:
        fail("--redis-url needs the redis extra: pip install 'progressista[redis]'")
    from progressista.server.store_redis import safe_url

    try:
        # RESP2: redis-py 8's RESP3 would spend two more round trips on HELLO and CLIENT MAINT_NOTIFICATIONS.
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout, protocol=2)
        try:
            client.ping()
        finally:
            client.close()
    except redis.TimeoutError:
        fail(f"cannot reach Redis at {safe_url(url)}: no answer within {timeout:g} s")
    except (redis.RedisError, OSError, ValueError) as exc:
        fail(f"cannot reach Redis at {safe_url(url)}: {exc}")


def _check_alerts(path: Path) -> None:
    """Fail with one line naming the rule and the field when the alerts file cannot be used."""
    from progressista.server.alerts.rules import RulesError, load_rules

    try:
        load_rules(path)
    except RulesError as exc:
        fail(f"invalid alerts: {exc}", 2)
