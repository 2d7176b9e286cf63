"""The wire format: what ``POST /progress`` accepts, and how a bad body is explained.

Events are validated straight from the request bytes by one pydantic
``TypeAdapter`` into plain dicts holding only the fields the client sent, which
is exactly what a partial update needs (missing fields keep their value).

Two adapters of one schema: the fast one checks numbers in pydantic-core
(:data:`FastNumber`, :data:`FastCounter`), accepts a subset of what :data:`Event`
accepts and gives the same dicts; only a body it refuses goes through the
Python validators, which accept the rest (``12.0`` as a count) and word every error.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Mapping
from typing import Annotated, Any, Literal, get_args, get_origin, get_type_hints

from annotated_types import Ge, Gt, Le, Lt
from pydantic import (
    AfterValidator,
    AllowInfNan,
    ConfigDict,
    Discriminator,
    Field,
    PlainValidator,
    Strict,
    Tag,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
)
from typing_extensions import Required, TypedDict

from progressista.protocol.task import (
    MAX_DESC,
    MAX_HOST,
    MAX_META_BYTES,
    MAX_POSTFIX,
    MAX_SEQ,
    MAX_TASK_ID,
    MAX_UNIT,
    finite,
)

__all__ = [
    "MAX_DESC",
    "MAX_META_BYTES",
    "MAX_TASK_ID",
    "Event",
    "EventBody",
    "event_body_schema",
    "explain",
    "field_problem",
    "parse_events",
]


def _finite_number(value: Any) -> int | float:
    number = finite(value)  # the contract's one check
    if number is not None:
        return number
    # What was wrong: bool is an int in Python but never a count; strings are never numbers here.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("must be a number")
    if isinstance(value, int):
        raise ValueError("must be a finite number a float can hold (at most about 1.8e308)")
    raise ValueError("must be a finite number (no NaN or Infinity)")


#: The metas seen last, by their JSON: the bars of one job send the same meta, and each task holding its
#: own copy cost about 180 bytes a task. Nothing changes a stored meta in place (a new one replaces it).
_METAS: dict[str, dict[str, Any]] = {}
_METAS_KEPT = 10_000


def _small_finite_json(meta: dict[str, Any]) -> dict[str, Any]:
    """``meta`` if its JSON is finite and small enough; an identical meta seen before is returned instead.

    >>> first, second = _small_finite_json({"job": "etl"}), _small_finite_json({"job": "etl"})
    >>> first is second, _small_finite_json({"job": 1}) is _small_finite_json({"job": 1.0})
    (True, False)
    """
    try:
        text = json.dumps(meta, allow_nan=False, separators=(",", ":"))
    except ValueError:
        raise ValueError("must not contain NaN or Infinity") from None
    if len(text) > MAX_META_BYTES:
        raise ValueError(f"is {len(text)} bytes of JSON; the limit is {MAX_META_BYTES}")
    shared = _METAS.get(text)
    if shared is None:
        if len(_METAS) >= _METAS_KEPT:
            _METAS.clear()
        shared = _METAS[text] = meta
    return shared


Number = Annotated[
    int | float,
    PlainValidator(_finite_number),
    WithJsonSchema({"type": "number", "description": "finite; NaN and Infinity are refused"}),
]
Meta = Annotated[dict[str, Any], AfterValidator(_small_finite_json)]


def _counter(value: Any) -> int:
    # JSON Schema's integer: 12 or 12.0 (never true), up to where a double still holds every integer.
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if type(value) is not int:
        raise ValueError("must be an integer")
    if not 0 <= value <= MAX_SEQ:
        raise ValueError(f"must be from 0 to {MAX_SEQ} (2**53 - 1)")
    return value


#: ``seq`` and ``pid``: whole numbers both stores (and browsers) compare exactly.
Counter = Annotated[
    int,
    PlainValidator(_counter),
    WithJsonSchema({"type": "integer", "minimum": 0, "maximum": MAX_SEQ}),
]


def _text(limit: int) -> Any:
    return Annotated[str, Field(max_length=limit)]


class Event(TypedDict, total=False):
    """One progress event. Only ``task_id`` is required: missing fields keep their value."""

    __pydantic_config__ = ConfigDict(extra="forbid", strict=True)  # type: ignore[misc]

    task_id: Required[Annotated[str, Field(min_length=1, max_length=MAX_TASK_ID)]]
    status: Literal["start", "update", "close", "error"]
    desc: Annotated[str | None, Field(max_length=MAX_DESC)]
    unit: Annotated[str | None, Field(max_length=MAX_UNIT)]
    n: Number
    total: Number | None
    timestamp: Number | None
    elapsed: Number | None
    rate: Number | None
    postfix: Annotated[str | None, Field(max_length=MAX_POSTFIX)]
    meta: Meta
    seq: Counter | None
    host: Annotated[str | None, Field(max_length=MAX_HOST)]
    pid: Counter | None


def _one_or_many(body: Any) -> str:
    return "many" if isinstance(body, list) else "one"


#: A request body: one event, or a JSON array of them (a batch).
EventBody = Annotated[
    Annotated[Event, Tag("one")] | Annotated[list[Event], Tag("many")],
    Discriminator(_one_or_many),
]
_body: TypeAdapter[Event | list[Event]] = TypeAdapter(EventBody)
_one: TypeAdapter[Event] = TypeAdapter(Event)

#: :data:`Number` and :data:`Counter` checked by pydantic-core alone (no call into Python per value).
# Both within 64 bits: a larger integer would pass as a float (converted), so it and larger numbers
# take the Python validator, whose range is a float's.
FastNumber = (
    Annotated[int, Strict(), Ge(-(2**63)), Lt(2**63)]
    | Annotated[float, Strict(), AllowInfNan(False), Gt(-(2**63)), Lt(2**63)]
)
FastCounter = Annotated[int, Strict(), Ge(0), Le(MAX_SEQ)]
_FAST = {Number: FastNumber, Counter: FastCounter}


def _fast(annotation: Any) -> Any:
    """``annotation`` with :data:`Number` and :data:`Counter` (also inside ``X | None``) in their fast forms."""
    if annotation in _FAST:
        return _FAST[annotation]
    if get_origin(annotation) in (typing.Union, types.UnionType):
        return typing.Union[tuple(_fast(arg) for arg in get_args(annotation))]  # noqa: UP007
    return annotation


_FastEvent = TypedDict(  # type: ignore[misc]
    "_FastEvent", {name: _fast(hint) for name, hint in get_type_hints(Event, include_extras=True).items()}, total=False
)
_FastEvent.__pydantic_config__ = Event.__pydantic_config__  # type: ignore[attr-defined]
# One adapter per shape, picked from the first byte: a callable discriminator makes pydantic build
# the whole body as Python objects first, which costs as much as the validation itself.
_fast_one: TypeAdapter[Any] = TypeAdapter(_FastEvent)
_fast_many: TypeAdapter[Any] = TypeAdapter(list[_FastEvent])


def parse_events(raw: bytes) -> list[Event]:
    """Validate a request body (one event or an array) into a list of events.

    Raises ``pydantic.ValidationError``; pass it to :func:`explain`.

    >>> parse_events(b'{"task_id": "a", "n": 3, "seq": 12.0}'), parse_events(b'[{"task_id": "a", "total": 1.5}]')
    ([{'task_id': 'a', 'n': 3, 'seq': 12}], [{'task_id': 'a', 'total': 1.5}])
    """
    fast = _fast_many if raw[:64].lstrip()[:1] == b"[" else _fast_one
    try:
        body = fast.validate_json(raw)
    except ValidationError:
        body = _body.validate_json(raw)  # accepts what the fast one does not, or words the errors
    return body if isinstance(body, list) else [body]


def explain(error: ValidationError) -> list[dict[str, str]]:
    """Readable errors naming the field: ``[{"field": "[2].n", "message": "..."}]``."""
    out = []
    for item in error.errors(include_url=False):
        loc = [part for part in item["loc"] if part not in ("one", "many")]
        field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown field"
        out.append({"field": field or "body", "message": message})
    return out


def field_problem(fields: Mapping[str, Any]) -> str | None:
    """The first problem ``POST /progress`` would find in these event fields, or ``None``.

    For values that did not come through ingest (a storage file):

    >>> field_problem({"task_id": "a", "n": 3}), field_problem({"task_id": "a", "n": "3"})
    (None, 'n: must be a number')
    """
    try:
        _one.validate_python(dict(fields))
    except ValidationError as exc:
        first = explain(exc)[0]
        return f"{first['field']}: {first['message']}"
    return None


def event_body_schema() -> tuple[dict[str, Any], dict[str, Any]]:
    """The request body's JSON schema for OpenAPI, and the component schemas it refers to."""
    schema = _body.json_schema(ref_template="#/components/schemas/{model}")
    components = schema.pop("$defs", {})
    return schema, components
