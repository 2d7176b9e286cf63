"""Property tests of the event merge and the memory store (hypothesis).

The merge (``tasks.merge``) and ``MemoryStore.apply`` must keep their promises
for any sequence of valid events, and the wire format must refuse any invalid
body with a ``ValidationError`` (a 422) that ``explain`` can name, never with
another exception (a 500). Examples are bounded and derandomized.
"""

from __future__ import annotations

import asyncio
import copy
import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from progressista.protocol.statuses import EVENT_STATUSES, FINAL, TASK_STATUSES
from progressista.protocol.task import TASK_DEFAULTS
from progressista.server.models import MAX_DESC, MAX_TASK_ID, explain, parse_events
from progressista.server.store import MemoryStore, TooManyNewTasks, TooManyTasks
from progressista.server.tasks import merge

# Hypothesis touches mypy_extensions.TypedDict when it explains a failure; that must not hide the failure.
pytestmark = pytest.mark.filterwarnings("ignore:mypy_extensions.TypedDict is deprecated:DeprecationWarning")

PROPERTY = settings(
    max_examples=200, deadline=None, database=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
SERVER_FIELDS = {"task_id", "status", "created_at", "updated_at", "seen_at"}

finite = st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(2**53), 2**53)
short_text = st.text(max_size=20)
json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | short_text
)
json_value = st.recursive(
    json_leaf, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(short_text, inner, max_size=3), max_leaves=8
)

OPTIONAL_FIELDS = {
    "status": st.sampled_from(EVENT_STATUSES),
    "desc": st.none() | short_text,
    "unit": st.none() | st.text(max_size=8),
    "n": finite,
    "total": st.none() | finite,
    "timestamp": st.none() | finite,
    "elapsed": st.none() | finite,
    "rate": st.none() | finite,
    "postfix": st.none() | short_text,
    "meta": st.dictionaries(short_text, json_value, max_size=3),
    "seq": st.none() | st.integers(0, 20),
    "host": st.none() | short_text,
    "pid": st.none() | st.integers(0, 2**31),
}
events = st.fixed_dictionaries({"task_id": st.sampled_from(["a", "b", "c", "d"])}, optional=OPTIONAL_FIELDS)
batches = st.lists(events, min_size=1, max_size=6)

# Values the wire format refuses, field by field.
BAD_VALUES = {
    "task_id": st.sampled_from(["", "x" * (MAX_TASK_ID + 1)]) | st.integers() | st.none(),
    "status": short_text.filter(lambda s: s not in EVENT_STATUSES) | st.none(),
    "n": st.sampled_from([math.nan, math.inf, -math.inf]) | st.booleans() | short_text | st.none(),
    "total": st.sampled_from([math.nan, math.inf]) | st.booleans() | short_text,
    "desc": st.just("d" * (MAX_DESC + 1)) | st.integers(),
    "seq": st.floats(allow_nan=False).filter(lambda f: f != int(f) if math.isfinite(f) else True) | short_text,
    "meta": st.lists(st.integers(), max_size=2) | short_text | st.just({"x": math.nan}),
    "pid": st.booleans() | short_text | st.floats(0.5, 9.5).filter(lambda f: f != int(f)),
    "surprise": json_value,  # unknown fields are refused
}


@st.composite
def bad_events(draw):
    event = draw(events)
    field = draw(st.sampled_from(sorted(BAD_VALUES)))
    event[field] = draw(BAD_VALUES[field])
    return event


def dumps(body) -> bytes:
    return json.dumps(body).encode()  # allow_nan: NaN and Infinity literals must reach the parser


def run(coro):
    return asyncio.run(coro)


@PROPERTY
@given(st.lists(events, min_size=1, max_size=25), st.floats(0, 1e9))
def test_merge_keeps_its_promises(sequence, start):
    task = None
    for step, event in enumerate(sequence):
        now = start + step
        before_task, before_event = copy.deepcopy(task), copy.deepcopy(event)
        merged = merge(task, event, now)
        assert task == before_task and event == before_event  # inputs are never mutated
        status = event.get("status", "update")
        if merged is None:
            # Only a final task (reopened by nothing but a start) or an old seq is ignored.
            assert task is not None and status != "start"
            seq, last = event.get("seq"), task["seq"]
            assert task["status"] in FINAL or (seq is not None and last is not None and seq < last)
            continue
        new = merged.task
        assert set(TASK_DEFAULTS) | SERVER_FIELDS <= set(new)
        assert new["status"] in TASK_STATUSES
        assert all(new[key] == value for key, value in event.items() if key != "status")
        assert new["seen_at"] == now
        if task is None or (status == "start" and task["status"] in FINAL):
            assert new["created_at"] == new["updated_at"] == now and merged.changed
        else:
            assert new["created_at"] == task["created_at"]
            if not merged.changed:
                assert new["updated_at"] == task["updated_at"]
                # Only contact and bookkeeping moved (elapsed and rate drift in heartbeats).
                assert {k for k in new if new[k] != task[k]} <= {"seen_at", "timestamp", "seq", "elapsed", "rate"}
        json.dumps(new, allow_nan=False)  # always servable as JSON
        task = new


@PROPERTY
@given(st.lists(batches, min_size=1, max_size=8))
def test_store_apply_is_the_merge_fold_batch_by_batch(sequence):
    store = MemoryStore(max_tasks=100)
    model: dict[str, dict] = {}
    for step, batch in enumerate(sequence):
        now = float(step)
        applied = run(store.apply(copy.deepcopy(batch), now))
        changed = 0
        for event in batch:
            merged = merge(model.get(event["task_id"]), event, now)
            if merged is not None:
                model[event["task_id"]] = merged.task
                changed += merged.changed
        assert applied == changed
        assert run(store.tasks(now=now)) == model


@PROPERTY
@given(st.lists(batches, min_size=1, max_size=10), st.integers(1, 4))
def test_a_refused_batch_changes_nothing_and_the_cap_holds(sequence, cap):
    store = MemoryStore(max_tasks=cap)
    for step, batch in enumerate(sequence):
        before = run(store.tasks(now=step))
        try:
            run(store.apply(batch, float(step)))
        except (TooManyTasks, TooManyNewTasks):  # more new tasks than the cap itself: the latter
            assert run(store.tasks(now=step)) == before
        tasks = run(store.tasks(now=step))
        assert len(tasks) <= cap


@PROPERTY
@given(st.lists(events, min_size=1, max_size=4), st.data())
def test_invalid_events_are_refused_whole_with_a_named_field(batch, data):
    position = data.draw(st.integers(0, len(batch) - 1))
    batch[position] = data.draw(bad_events())
    with pytest.raises(ValidationError) as refused:
        parse_events(dumps(batch))
    errors = explain(refused.value)
    assert errors and all(error["field"] and error["message"] for error in errors)
    assert any(error["field"].startswith(f"[{position}]") for error in errors), errors


@PROPERTY
@given(json_value | st.binary(max_size=64))
def test_any_body_parses_or_is_a_validation_error(body):
    raw = body if isinstance(body, bytes) else dumps(body)
    try:
        events = parse_events(raw)
    except ValidationError as exc:
        assert explain(exc)
        return
    for event in events:  # what passes is what the schema promises
        assert isinstance(event["task_id"], str) and 1 <= len(event["task_id"]) <= MAX_TASK_ID
        json.dumps(event, allow_nan=False)


@PROPERTY
@given(batches)
def test_valid_events_survive_the_wire(batch):
    assert parse_events(dumps(batch)) == batch
    assert parse_events(dumps(batch[0])) == batch[:1]
