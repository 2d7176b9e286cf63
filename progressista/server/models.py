"""The wire format: what ``POST /progress`` accepts, and how a bad body is explained.

Events are validated straight from the request bytes by one pydantic
``TypeAdapter`` into plain dicts holding only the fields the client sent, which
is exactly what a partial update needs (missing fields keep their value).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    ConfigDict,
    Discriminator,
    Field,
    PlainValidator,
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


def _small_finite_json(meta: dict[str, Any]) -> dict[str, Any]:
    try:
        size = len(json.dumps(meta, allow_nan=False, separators=(",", ":")))
    except ValueError:
        raise ValueError("must not contain NaN or Infinity") from None
    if size > MAX_META_BYTES:
        raise ValueError(f"is {size} bytes of JSON; the limit is {MAX_META_BYTES}")
    return meta


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


def parse_events(raw: bytes) -> list[Event]:
    """Validate a request body (one event or an array) into a list of events.

    Raises ``pydantic.ValidationError``; pass it to :func:`explain`.
    """
    body = _body.validate_json(raw)
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
