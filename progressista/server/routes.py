"""REST routes: ingest, task listing and deletion, health, metrics, the dashboard redirect."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi import status as http
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.requests import ClientDisconnect

from progressista.protocol.alerts import ALERT_STATES
from progressista.protocol.groups import groups
from progressista.protocol.history import HISTORY_STATUSES
from progressista.protocol.roles import PERMISSIONS, ROLES, Role, permissions
from progressista.protocol.statuses import FILTERS, TASK_STATUSES, expand_status_filter
from progressista.protocol.task import SERVER_FIELDS

from .alerts.engine import Alerts
from .alerts.ledger import RECENT
from .auth import AnyRole, RequireAdmin, RequireRead, require, requirement
from .deps import BroadcasterDep, MetricsDep, StoreDep
from .history.recorder import History
from .history.rows import Query as HistoryQuery
from .metrics import Metrics
from .models import event_body_schema, explain, parse_events
from .settings import Settings
from .store import TaskStore, TooManyNewTasks, TooManyTasks

__all__ = ["router"]

router = APIRouter()

# The ingest route validates raw bytes itself (one pass in pydantic-core), so
# its body schema is declared here for the docs; app.py adds the components.
EVENT_BODY_SCHEMA, EVENT_SCHEMA_COMPONENTS = event_body_schema()


def _task_schema(event: dict[str, Any]) -> dict[str, Any]:
    """A task as ``GET /tasks`` and ``/ws`` send it: every event field, always present, plus server times."""
    properties = {
        **event["properties"],
        "status": {"type": "string", "enum": list(TASK_STATUSES)},
        **{name: {"type": "number", "description": "server clock, unix seconds"} for name in SERVER_FIELDS},
    }
    return {"title": "Task", "type": "object", "properties": properties, "required": list(properties)}


EVENT_SCHEMA_COMPONENTS["Task"] = _task_schema(EVENT_SCHEMA_COMPONENTS["Event"])

_NAME = "(?:" + "|".join(FILTERS) + r")\s*"
StatusFilter = Annotated[
    str | None,
    Query(
        description="Task statuses, comma separated: start, update, stale, lost, close, error, "
        "active, attention, completed",
        # Documents what expand_status_filter accepts; checked there, so the 422 names the bad status.
        json_schema_extra={"pattern": rf"^\s*(?:{_NAME})?(?:,\s*(?:{_NAME})?)*$"},
    ),
]
OlderThan = Annotated[float | None, Query(ge=0, description="Only tasks idle for more than this many seconds")]

# Error bodies as sent: our own checks answer {"detail": "<field>: <message>"}, FastAPI's
# parameter validation {"detail": [{...}, ...]}. Documented so clients (and schema-driven
# fuzzers) know both shapes.
_ERROR = {
    "type": "object",
    "required": ["detail"],
    "properties": {"detail": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "object"}}]}},
}


def _error(description: str) -> dict[str, Any]:
    return _body(description, _ERROR)


def _body(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _object(**properties: Any) -> dict[str, Any]:
    return {"type": "object", "required": list(properties), "properties": properties}


_TASK_MAP = _object(tasks={"type": "object", "additionalProperties": {"$ref": "#/components/schemas/Task"}})
_REMOVED = _body(
    "The ids removed", _object(removed={"type": "array", "items": {"type": "string"}}, count={"type": "integer"})
)


_UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: _error("Missing or wrong token"),
    403: _error("The token's role may not do this; `detail` names the role needed"),
    429: _error("Too many wrong tokens from this address: `Retry-After` says when its next token is checked"),
}
_BAD_QUERY: dict[int | str, dict[str, Any]] = {422: _error("Invalid query parameter; `detail` names it")}
_NOT_JSON: dict[int | str, dict[str, Any]] = {
    415: _error("No `Content-Type: application/json`: what a cross-site HTML form sends")
}


def require_json(request: Request) -> None:
    """415 unless the request says ``Content-Type: application/json`` (parameters such as ``charset`` allowed).

    A page on another site can make the browser send a form (``text/plain``,
    urlencoded or multipart, whose body can still be JSON) to the server without
    asking; ``application/json`` needs a CORS preflight, which the server only
    grants to ``PROGRESSISTA_ALLOW_ORIGINS``. So ``POST /progress`` and every
    ``DELETE`` ask for it, bodiless or not.
    """
    given = request.headers.get("content-type", "")
    if given.partition(";")[0].strip().lower() != "application/json":
        got = f"got {given[:60]!r}" if given else "none was sent"
        raise HTTPException(
            http.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            f"Content-Type: must be application/json ({got}); cross-site forms cannot send it",
        )


#: Route dependency: 415 unless the request is declared JSON (see :func:`require_json`).
RequireJson = Annotated[None, Depends(require_json)]


def _json(content: Any, status_code: int = 200) -> Response:
    # Tasks are already JSON-ready dicts: skip FastAPI's encoder on the hot paths.
    return Response(json.dumps(content, separators=(",", ":")), status_code, media_type="application/json")


def _statuses(value: str | None) -> frozenset[str] | None:
    if value is None:
        return None
    try:
        return expand_status_filter(value)
    except ValueError as exc:
        raise HTTPException(http.HTTP_422_UNPROCESSABLE_CONTENT, f"status: {exc}") from None


def _too_large(limit: int) -> HTTPException:
    return HTTPException(http.HTTP_413_CONTENT_TOO_LARGE, f"body: larger than {limit} bytes")


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused (413) past ``limit``: by Content-Length before reading, else as it comes (chunked).

    Straight from the ASGI ``receive``: Starlette's ``request.body()`` goes through
    an async generator, a few microseconds a request on the hottest path.
    """
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise _too_large(limit)
    body = bytearray()
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        body += message.get("body", b"")
        if len(body) > limit:
            raise _too_large(limit)
        if not message.get("more_body", False):
            return bytes(body)


@router.post(
    "/progress",
    summary="Report progress",
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": EVENT_BODY_SCHEMA}}}},
    responses={
        200: _body(
            "Events accepted; `applied` counts those that changed a task",
            _object(accepted={"type": "integer"}, applied={"type": "integer"}),
        ),
        **_UNAUTHORIZED,
        **_NOT_JSON,
        413: _error("Body too large, or more new tasks than one request may create"),
        422: {"description": "Invalid event; `detail` names the field, `errors` lists each problem"},
        429: _error("Too many tasks, none completed or lost"),
    },
)
async def ingest(request: Request) -> Response:
    """Accept one event or a JSON array of them. Missing fields keep their value.

    The whole body is validated first: one bad event refuses the batch and
    changes nothing.
    """
    # The hot path takes only the Request: each FastAPI dependency costs about
    # 10 us per request, which halved ingest throughput (bench/ingest.py).
    require_json(request)
    require(request, "ingest", "reporting progress")
    state = request.app.state
    settings: Settings = state.settings
    store: TaskStore = state.store
    metrics: Metrics = state.metrics
    try:
        raw = await _read_body(request, settings.max_body_bytes)
    except ClientDisconnect:  # the client gave up mid-body: nothing to apply, nobody to answer
        return Response(status_code=400)
    try:
        events = parse_events(raw)
    except ValidationError as exc:
        metrics.events_rejected.inc()
        errors = explain(exc)
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return _json({"detail": detail, "errors": errors}, http.HTTP_422_UNPROCESSABLE_CONTENT)
    try:
        applied = await store.apply(events, time.time())
    except TooManyTasks as exc:
        metrics.events_rejected.inc(len(events))
        raise HTTPException(http.HTTP_429_TOO_MANY_REQUESTS, str(exc)) from None
    except TooManyNewTasks as exc:
        metrics.events_rejected.inc(len(events))
        raise HTTPException(http.HTTP_413_CONTENT_TOO_LARGE, str(exc)) from None
    metrics.events_accepted.inc(len(events))
    return Response(b'{"accepted":%d,"applied":%d}' % (len(events), applied), media_type="application/json")


@router.get(
    "/tasks", summary="List tasks", responses={200: _body("The tasks, by id", _TASK_MAP), **_UNAUTHORIZED, **_BAD_QUERY}
)
async def list_tasks(
    _: RequireRead, request: Request, store: StoreDep, status: StatusFilter = None, older_than: OlderThan = None
) -> Response:
    """``{"tasks": {task_id: task}}``, optionally filtered; open tasks whose key has history carry
    ``usual_duration``."""
    tasks = await store.tasks(_statuses(status), older_than, now=time.time())
    history: History = request.app.state.history
    return _json({"tasks": history.annotate(tasks)})


@router.get("/groups", summary="Aggregate progress per run", responses=_UNAUTHORIZED)
async def list_groups(_: RequireRead, store: StoreDep) -> Response:
    """``{"groups": {prefix: aggregate}}`` for tasks whose ids share a ``prefix:``.

    Each aggregate has ``members``, ``counts`` (active, stale, lost, done, error),
    ``status`` (the worst member's), ``n``/``total``/``unit`` (summed over known
    totals, one unit only), ``progress`` (0-1), ``rate``, ``eta`` (seconds),
    ``unknown_totals`` and ``updated_at``; see :func:`progressista.protocol.groups.aggregate`.
    """
    return _json({"groups": groups(await store.tasks(now=time.time()))})


@router.delete(
    "/tasks/{task_id:path}",
    summary="Discard one task",
    responses={200: _REMOVED, **_NOT_JSON, **_UNAUTHORIZED, 404: _error("No such task"), **_BAD_QUERY},
)
async def delete_task(task_id: str, _is_json: RequireJson, _: RequireAdmin, store: StoreDep) -> Response:
    removed = await store.remove([task_id])
    if not removed:
        raise HTTPException(http.HTTP_404_NOT_FOUND, f"task_id: no task {task_id!r}")
    return _json({"removed": removed, "count": 1})


@router.delete(
    "/tasks",
    summary="Discard tasks in bulk",
    responses={
        200: _REMOVED,
        **_NOT_JSON,
        **_UNAUTHORIZED,
        **_BAD_QUERY,
        400: _error("No filter and no all=true, or task_id mixed with filters"),
    },
)
async def delete_tasks(
    _is_json: RequireJson,
    _: RequireAdmin,
    store: StoreDep,
    status: StatusFilter = None,
    older_than: OlderThan = None,
    task_id: Annotated[
        list[str] | None, Query(description="Remove these tasks (repeatable); for ids a URL path cannot hold")
    ] = None,
    all: Annotated[bool, Query(description="Remove every task (needed when no filter is given)")] = False,
) -> Response:
    """Remove the tasks matching ``status`` and ``older_than``, or those named by ``task_id``.

    Returns the ids removed. With no filter nothing is removed unless ``all=true`` says so.
    """
    if task_id:
        if status is not None or older_than is not None:
            raise HTTPException(http.HTTP_400_BAD_REQUEST, "task_id cannot be combined with status or older_than")
        removed = await store.remove(task_id)
    elif status is None and older_than is None and not all:
        raise HTTPException(
            http.HTTP_400_BAD_REQUEST, "give status and/or older_than, task_id, or all=true to remove every task"
        )
    else:
        removed = await store.remove_matching(_statuses(status), older_than, now=time.time())
    return _json({"removed": removed, "count": len(removed)})


@router.get(
    "/health",
    summary="Health probe",
    responses={
        200: _body(
            "Serving",
            _object(
                status={"type": "string"},
                tasks={"type": "integer"},
                active={"type": "integer"},
                by_status={"type": "object", "additionalProperties": {"type": "integer"}},
            ),
        ),
        503: _body(
            "The store is unreachable, or does not keep what it is sent",
            _object(status={"type": "string"}, detail={"type": "string"}),
        ),
    },
)
async def health(store: StoreDep) -> Response:
    """Open to all: ``{"status": "ok", "tasks": N, "active": N, "by_status": {...}}``.

    503 with ``{"status": "unavailable"}`` while a shared store (Redis) is unreachable, and
    with ``{"status": "degraded", "detail": why, ...counts}`` while it is reached but does not
    keep what it is sent (Redis out of memory, a storage file that cannot be saved).
    """
    if not await store.ping():
        return _json({"status": "unavailable", "detail": "the task store is unreachable"}, 503)
    problem = await store.problem()
    counts = await store.counts()
    active = counts.get("start", 0) + counts.get("update", 0)
    figures = {"tasks": sum(counts.values()), "active": active, "by_status": counts}
    if problem is not None:
        return _json({"status": "degraded", "detail": problem, **figures}, 503)
    return _json({"status": "ok", **figures})


RequireMetricsReader = Annotated[Role, Depends(requirement("read", "reading metrics"))]


@router.get("/metrics", summary="Prometheus metrics", response_class=Response, responses=_UNAUTHORIZED)
async def metrics(
    _: RequireMetricsReader, store: StoreDep, metrics: MetricsDep, broadcaster: BroadcasterDep
) -> Response:
    """Counts only (tasks by status, events, dashboards), but still for ``read`` tokens: scrape with one."""
    body = metrics.render(await store.counts(), len(broadcaster.clients))
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")


_ALERT = {
    "type": "object",
    "description": "One alert: see progressista.protocol.alerts",
    "properties": {
        "id": {"type": "string"},
        "at": {"type": "number", "description": "server clock, unix seconds"},
        "rule": {"type": "string"},
        "state": {"type": "string", "enum": list(ALERT_STATES)},
        "subject": {"type": "string", "description": "the task id, or the group for group_*"},
        "kind": {"type": "string", "enum": ["task", "group", "test"]},
        "title": {"type": "string"},
        "targets": {
            "type": "array",
            "items": _object(target={"type": "string"}, outcome={"type": "string"}, tries={"type": "integer"}),
        },
    },
}
_ALERTS = _object(
    alerts={"type": "array", "items": _ALERT},
    rules={"type": "integer"},
    pending={"type": "integer", "description": "alerts this server has queued or is sending"},
)


@router.get(
    "/alerts",
    summary="Recent alerts",
    responses={200: _body("The recent alerts, newest first, and how many rules there are", _ALERTS), **_UNAUTHORIZED},
)
async def list_alerts(
    _: RequireRead,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=RECENT, description="At most this many alerts")] = 50,
) -> Response:
    """The alerts sent (or tried), newest first, each with every target's outcome (``sent``, ``failed: …``)."""
    alerts: Alerts = request.app.state.alerts
    return _json({"alerts": await alerts.recent(limit), "rules": len(alerts.rules), "pending": alerts.pending})


@router.post(
    "/alerts/test",
    summary="Send a test notification to every target",
    responses={
        200: _body("One alert record per rule, with each target's outcome", _ALERTS),
        **_UNAUTHORIZED,
        **_NOT_JSON,
        409: _error("No alert rules: the server was started without an alerts file"),
    },
)
async def test_alerts(_is_json: RequireJson, _: RequireAdmin, request: Request) -> Response:
    """Send one test notification to every target of every rule (one try each) and answer with the outcomes."""
    alerts: Alerts = request.app.state.alerts
    if not alerts.rules:
        raise HTTPException(http.HTTP_409_CONFLICT, "no alert rules: start the server with PROGRESSISTA_ALERTS_FILE")
    return _json({"alerts": await alerts.test(), "rules": len(alerts.rules), "pending": alerts.pending})


_RUN = {
    "type": "object",
    "description": "One finished run: see progressista.server.history.rows",
    "properties": {
        name: {"type": kind}
        for name, kind in {
            "id": "string",
            "key": "string",
            "group": "string",
            "task_id": "string",
            "status": "string",
            "created_at": "number",
            "ended_at": "number",
            "duration": "number",
            "rate": "number",
            "n": "number",
            "total": "number",
            "error": "string",
            "meta": "object",
        }.items()
    },
}
_USUAL = _object(duration={"type": "number"}, rate={"type": ["number", "null"]}, runs={"type": "integer"})
_HISTORY = _object(
    runs={"type": "array", "items": _RUN},
    usual={"type": "object", "additionalProperties": _USUAL},
    enabled={"type": "boolean"},
)
_OUTCOME = "(?:" + "|".join(HISTORY_STATUSES) + r")\s*"
HistoryStatus = Annotated[
    str | None,
    Query(
        description="Outcomes, comma separated: close, error, lost",
        # Documents what list_history accepts; checked there, so the 422 names the bad outcome.
        json_schema_extra={"pattern": rf"^\s*(?:{_OUTCOME})?(?:,\s*(?:{_OUTCOME})?)*$"},
    ),
]


@router.get(
    "/history",
    summary="Finished runs, and how long each key usually takes",
    responses={
        200: _body("The runs, newest first, and the usual duration per key", _HISTORY),
        **_UNAUTHORIZED,
        **_BAD_QUERY,
    },
)
async def list_history(
    _: RequireRead,
    request: Request,
    key: Annotated[str | None, Query(max_length=256, description="Runs of this key")] = None,
    group: Annotated[str | None, Query(max_length=256, description="Runs of this group")] = None,
    status: HistoryStatus = None,
    since: Annotated[float | None, Query(ge=0, description="Runs that ended at or after this unix time")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="At most this many runs")] = 100,
) -> Response:
    """Finished runs (``close``, ``error``, ``lost``), newest first, and per key of those runs its ``usual``:
    the median ``duration`` and ``rate`` of its last 5 successful runs (``runs``: how many there were)."""
    history: History = request.app.state.history
    statuses = None
    if status is not None:
        statuses = frozenset(part.strip() for part in status.split(",") if part.strip())
        if unknown := sorted(statuses - set(HISTORY_STATUSES)):
            raise HTTPException(
                http.HTTP_422_UNPROCESSABLE_CONTENT, f"status: {unknown[0]!r} is not close, error or lost"
            )
    runs = await history.query(HistoryQuery(key, group, statuses or None, since, limit))
    keys = dict.fromkeys(run["key"] for run in runs)
    usual = {name: found for name in keys if (found := history.usual_of(name)) is not None}
    return _json({"runs": runs, "usual": usual, "enabled": history.enabled})


@router.get(
    "/access",
    summary="What this token may do",
    responses={
        200: _body(
            "The token's role and what it may do",
            _object(
                role={"type": "string", "enum": list(ROLES)},
                can={"type": "array", "items": {"type": "string", "enum": list(PERMISSIONS)}},
                tokens={"type": "boolean", "description": "whether this server asks for tokens at all"},
            ),
        ),
        **_UNAUTHORIZED,
    },
)
async def access(role: AnyRole, request: Request) -> Response:
    """Any accepted token: its ``role``, what it ``can`` do (``ingest``, ``read``, ``admin``), and
    whether the server asks for ``tokens`` (without any, every client is ``admin``).

    Dashboards ask this to hide what the token may not do; the token itself is never sent back.
    """
    return _json({"role": role, "can": permissions(role), "tokens": bool(request.app.state.grants)})


@router.get("/", include_in_schema=False)
async def index(request: Request) -> RedirectResponse:
    """The dashboard, keeping ``?token=`` so it can connect.

    Relative (``static/index.html``), so a proxy serving the server under a
    path prefix keeps it; under ``--root-path`` the prefix is known and named.
    """
    query = request.url.query
    root = request.scope.get("root_path", "").rstrip("/")
    target = f"{root}/static/index.html" if root else "static/index.html"
    return RedirectResponse(target + (f"?{query}" if query else ""))
