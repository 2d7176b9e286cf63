"""Server settings: one pydantic-settings object, read from ``PROGRESSISTA_*``.

Build it once (``progressista serve`` does, from flags and the environment) and
pass it to :func:`progressista.server.create_app`. Each field's docstring is its
documentation; the README table is checked against these names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from progressista.protocol.roles import Grant, TokenEntryError, digest, merge, parse_entries, parse_tokens_file

__all__ = ["Settings"]


class Settings(BaseSettings):
    """Everything the server can be told. Environment: ``PROGRESSISTA_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="PROGRESSISTA_", extra="ignore", use_attribute_docstrings=True)

    host: str = "0.0.0.0"
    """Interface to bind."""
    port: int = Field(8000, ge=0, le=65535)
    """Port to listen on."""
    storage_path: Path | None = None
    """JSON file for task snapshots, loaded at start and saved atomically (unset: memory only)."""
    save_interval: float = Field(2.0, gt=0)
    """Seconds between saves of the storage file while tasks change."""
    retention_seconds: float = Field(86_400, ge=0)
    """How long to keep completed (close/error) tasks before purging them."""
    cleanup_interval: float = Field(5, gt=0)
    """Seconds between lifecycle passes (stale marking, retention, max age)."""
    allow_origins: Annotated[list[str], NoDecode] = []
    """Comma separated CORS allow-list, also checked against ``Origin`` on ``/ws`` (empty: the server's own only)."""
    stale_seconds: float = Field(300, ge=0)
    """Mark active tasks stale after this many seconds without progress (0 disables): five minutes by default,
    which a bar that is making progress rarely goes without."""
    lost_seconds: float = Field(45, ge=0)
    """Mark open tasks lost after this many seconds without any contact (0 disables); clients heartbeat every 15 s."""
    max_task_age: float = Field(0, ge=0)
    """Drop tasks older than this many seconds whatever their status (0 disables)."""
    api_token: str = ""
    """One bearer token with the ``admin`` role (empty, with no other tokens: no auth)."""
    api_tokens: Annotated[list[str], NoDecode] = []
    """Comma separated bearer tokens, each ``TOKEN`` (admin) or ``ROLE:TOKEN`` (ingest, read, admin);
    overrides ``api_token`` when set."""
    tokens_file: Path | None = None
    """File of tokens, one ``ROLE TOKEN`` a line (``TOKEN`` may be ``sha256:HEX``), ``#`` comments;
    adds to the tokens above."""
    broadcast_interval: float = Field(0.1, gt=0)
    """At most one WebSocket message per dashboard per this many seconds."""
    max_tasks: int = Field(10_000, ge=1)
    """Cap on stored tasks: the oldest completed are evicted, then new tasks get 429."""
    max_body_bytes: int = Field(1024 * 1024, ge=1024)
    """Largest ``POST /progress`` body accepted (413 above it)."""
    ws_queue_size: int = Field(16, ge=1)
    """Messages a dashboard may fall behind before it is dropped (it reconnects)."""
    ws_max_message_bytes: int = Field(64 * 1024, ge=1024)
    """Largest message a ``/ws`` client may send (decompressed); larger closes it with 1009."""
    send_timeout: float = Field(30, ge=0)
    """Seconds data sent to a client may wait unacknowledged (the client stopped reading) before its
    connection is cut; Linux only, under ``progressista serve`` (0 disables)."""
    max_connections: int | None = Field(None, ge=1)
    """Connections served at once; past it HTTP requests and new ``/ws`` handshakes get 503 (unset: the
    file-descriptor limit, which ``progressista serve`` raises to the hard limit, less a reserve of a tenth)."""
    auth_failures: int = Field(20, ge=0)
    """Wrong or missing tokens from one address within a minute before that address gets one token
    check a second (429 with ``Retry-After`` for the rest); 0 disables."""
    forwarded_allow_ips: str = ""
    """Comma separated addresses of reverse proxies whose ``X-Forwarded-For``/``-Proto`` are believed
    (``*``: any); empty: none, every client is the address it connects from."""
    frame_ancestors: str = "'none'"
    """Pages allowed to frame the dashboard (CSP ``frame-ancestors``); ``'none'`` also sends
    ``X-Frame-Options: DENY``; empty sends neither header."""
    redis_url: str | None = None
    """Redis URL (``redis://host:6379/0``): tasks live in Redis, shared by every server process using it."""
    redis_prefix: str = Field("progressista:", min_length=1)
    """Prefix of every Redis key, so several deployments can share one Redis (it may not contain ``task:``)."""
    redis_timeout: float = Field(5.0, gt=0)
    """Seconds a Redis command or connection may take before the request gets 503 (a frozen Redis holds none)."""
    alerts_file: Path | None = None
    """TOML file of alert rules (``[[rule]]`` tables: on, match, notify, cooldown, resolved), read at start;
    unset: no alerts."""
    public_url: str = ""
    """The address people reach the dashboard at (``https://progress.example.com``): alerts link to it."""
    alerts_timeout: float = Field(10.0, gt=0)
    """Seconds one try to notify one target may take."""
    alerts_retry_seconds: float = Field(2.0, ge=0)
    """Seconds before an alert's second try to a target that failed (doubling for the third)."""
    history_path: Path | None = None
    """SQLite file of finished runs (unset: beside ``storage_path`` as ``<name>.history.sqlite`` when that is set,
    else no history; with ``redis_url`` history lives in Redis)."""
    history_days: float = Field(30, ge=0)
    """Days of history kept (0: no limit but ``history_max``)."""
    history_max: int = Field(100_000, ge=100)
    """Runs kept in history at most; the oldest go first."""
    log_level: Literal["critical", "error", "warning", "info", "debug", "trace"] = "info"
    """Log level of uvicorn and of the server's own ``progressista`` logger."""

    @field_validator("allow_origins", "api_tokens", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("redis_prefix")
    @classmethod
    def _separate_namespaces(cls, prefix: str) -> str:
        # Task keys are <prefix>task:<id>: a prefix P + "task:" + S would put one deployment's
        # keys (P + "task:" + S + "ids") among another's tasks (P's task "S" + "ids").
        if "task:" in prefix:
            raise ValueError("must not contain 'task:', or its keys could be another prefix's task keys")
        return prefix

    @property
    def history_file(self) -> Path | None:
        """Where the SQLite history is kept, if anywhere (see ``history_path``)."""
        if self.history_path is not None:
            return self.history_path
        if self.storage_path is not None:
            return self.storage_path.with_suffix(".history.sqlite")
        return None

    def grants(self) -> list[Grant]:
        """The accepted tokens with their roles; empty means the API is open to all.

        Raises :class:`~progressista.protocol.roles.TokenEntryError` (naming the entry, never
        the secret) for an entry that does not parse, or a tokens file that cannot be read or
        holds no token (which would leave the API open).
        """
        if self.api_tokens:
            grants = parse_entries(self.api_tokens, "PROGRESSISTA_API_TOKENS")
        else:
            grants = [Grant("admin", digest(self.api_token))] if self.api_token else []
        if self.tokens_file is not None:
            source = f"PROGRESSISTA_TOKENS_FILE {self.tokens_file}"
            try:
                text = self.tokens_file.read_text(encoding="utf-8")
            except OSError as exc:
                raise TokenEntryError(f"{source}: cannot read it ({exc.strerror or type(exc).__name__})") from None
            except UnicodeError:  # its message would quote the bytes, which may be a secret
                raise TokenEntryError(f"{source}: is not UTF-8 text") from None
            from_file = parse_tokens_file(text, source)
            if not from_file:
                raise TokenEntryError(f"{source}: holds no token (the API would be open to all)")
            grants += from_file
        return merge(grants)
