"""The API fuzzed from its own OpenAPI schema (schemathesis), against a real uvicorn on loopback.

Stateless: for every operation, schema-valid (positive) and schema-violating
(negative) requests. Stateful: schemathesis chains operations through the links
it infers from the schema (POST /progress -> GET /tasks -> DELETE /tasks/{id}).
Every response must conform (documented status codes and bodies), no response
is a 5xx, invalid input gets a 4xx, and a refused request leaves the tasks as
they were. Examples are bounded and derandomized, so the run is fast and the
same every time.

Two schemathesis verdicts are not bugs and are let through, narrowly:
- ``DELETE /tasks`` without any filter answers 400 by design ("give status,
  older_than, task_id or all=true"): OpenAPI cannot say "at least one of these
  query parameters", so schemathesis calls that request schema-valid;
- a "negative" query value reaches the server as a string: one that only
  changed type (``task_id=false``), or any value at all of a parameter that
  takes any string (``task_id``, a list of ids: its negated ``anyOf`` gives
  ``true``), arrives as a valid one, ``"false"`` or ``"true"``.
"""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from hypothesis.stateful import run_state_machine_as_test
from schemathesis import GenerationMode
from schemathesis.core.failures import AcceptedNegativeData, FailureGroup
from schemathesis.core.mutations import OperatorKind
from schemathesis.core.parameters import ParameterLocation
from schemathesis.openapi.checks import RejectedPositiveData
from support import JSON

MUTATING = {"POST /progress", "DELETE /tasks", "DELETE /tasks/{task_id}"}
# Examples per operation and mode: the ingest route gets the most.
EXAMPLES = {"POST /progress": 150}
DEFAULT_EXAMPLES = 30

FUZZ_SETTINGS = settings(
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)


_CONSTRAINTS = {"pattern", "enum", "const", "format", "minLength", "maxLength"}


def takes_any_string(schema: dict) -> bool:
    """Does a query parameter's schema accept any string, or list of strings (null aside)?"""
    if _CONSTRAINTS & set(schema):
        return False
    kinds = [option for option in schema.get("anyOf", [schema]) if option.get("type") != "null"]
    return bool(kinds) and all(
        (option.get("type") == "string" and not _CONSTRAINTS & set(option))
        or (option.get("type") == "array" and takes_any_string(option.get("items", {})))
        for option in kinds
    )


def valid_on_the_wire(case: schemathesis.Case) -> bool:
    """Were the negative generator's mutations all on query values that arrive as valid strings?"""
    mutations = getattr(case.meta.phase.data, "mutations", ()) if case.meta else ()
    schemas = {parameter.name: parameter.definition.get("schema", {}) for parameter in case.operation.query}

    def harmless(mutation) -> bool:
        if mutation.parameter_location != ParameterLocation.QUERY:
            return False
        return mutation.operator == OperatorKind.CHANGE_TYPE or takes_any_string(schemas.get(mutation.parameter, {}))

    return bool(mutations) and all(harmless(m) for m in mutations)


def tolerated(case: schemathesis.Case, response, failure: BaseException) -> bool:
    if isinstance(failure, RejectedPositiveData):
        return (
            case.operation.label == "DELETE /tasks"
            and response.status_code == 400
            and any(rule in response.json()["detail"] for rule in ("all=true", "cannot be combined"))
        )
    return isinstance(failure, AcceptedNegativeData) and valid_on_the_wire(case)


def validate(case: schemathesis.Case, response) -> None:
    """Schemathesis's checks (all of them), less the tolerated verdicts above; and never a 5xx."""
    assert response.status_code < 500, f"{case.operation.label}: {response.status_code} {response.text[:300]}"
    try:
        case.validate_response(response)
    except FailureGroup as group:
        if not all(tolerated(case, response, failure) for failure in group.exceptions):
            raise


@pytest.fixture
def fuzzed(start_server):
    # No lifecycle passes during the run: "state unchanged" compares whole task maps.
    return start_server(cleanup_interval=3600, lost_seconds=0)


#: Bodiless requests that still say JSON (else 415, tested in test_server_origin.py): the schema cannot say so.
BODILESS_JSON = {"DELETE", "POST /alerts/test"}


def declared_json(case):
    """A DELETE (and ``POST /alerts/test``) carries ``Content-Type: application/json`` as every client of ours
    sends it; it has no body, so the schema cannot say so."""
    bodiless = case.method.upper() == "DELETE" or case.operation.label in BODILESS_JSON
    return dict(JSON) if bodiless else {}


def fuzz(server, operation, mode, seen):
    """Run one operation's examples in one mode against ``server``."""
    label = operation.label

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(FUZZ_SETTINGS, max_examples=EXAMPLES.get(label, DEFAULT_EXAMPLES))
    def check(case):
        before = server.tasks() if label in MUTATING else None
        response = case.call(base_url=server.url, session=server.http, headers=declared_json(case), timeout=10)
        seen[(label, mode.value, response.status_code)] += 1
        validate(case, response)
        if mode == GenerationMode.NEGATIVE and label == "POST /progress":
            assert 400 <= response.status_code < 500, response.text  # an invalid event is refused
        if before is not None and 400 <= response.status_code < 500:
            assert server.tasks() == before, f"a refused {label} changed the tasks"

    check()


def test_stateless_fuzz_from_the_openapi_schema(fuzzed):
    schema = schemathesis.openapi.from_url(fuzzed.url + "/openapi.json")
    seen: Counter[tuple[str, str, int]] = Counter()
    unsatisfiable = set()
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                fuzz(fuzzed, operation, mode, seen)
            except Unsatisfiable:  # nothing to make invalid (no parameters, no body)
                unsatisfiable.add((operation.label, mode.value))

    by_class = Counter(f"{status // 100}xx" for (_, _, status) in seen.elements())
    print(
        f"\nschemathesis stateless: {sum(seen.values())} requests, {dict(by_class)}; by operation, mode and "
        f"status: {dict(seen)}"
    )
    assert unsatisfiable <= {
        (label, "negative")
        for label in (
            "GET /groups",
            "GET /health",
            "GET /metrics",
            "GET /access",
            "POST /alerts/test",
            "DELETE /tasks/{task_id}",
        )  # no parameter nor body to make invalid
    }
    assert seen[("POST /progress", "positive", 200)] >= 100
    assert seen[("POST /progress", "negative", 422)] >= 100
    assert not any(status >= 500 for (_, _, status) in seen)


def with_links(doc):
    """The app's schema plus the links between operations that schemathesis cannot infer from it.

    ``GET /tasks`` maps ids to tasks and a JSON pointer cannot pick a map key, so
    the links follow the request instead: a posted task can be listed by its
    status and deleted by its id, and a deleted task posted again.
    """
    paths = doc["paths"]
    paths["/progress"]["post"]["responses"]["200"]["links"] = {
        "DeletePostedTask": {
            "operationRef": "#/paths/~1tasks~1{task_id}/delete",
            "parameters": {"path.task_id": "$request.body#/task_id"},
        },
        "ListByStatus": {
            "operationRef": "#/paths/~1tasks/get",
            "parameters": {"query.status": "$request.body#/status"},
        },
    }
    paths["/tasks/{task_id}"]["delete"]["responses"]["200"]["links"] = {
        "PostAgain": {
            "operationRef": "#/paths/~1progress/post",
            "x-schemathesis": {"merge_body": True},
            "requestBody": {"task_id": "$response.body#/removed/0"},
        },
    }
    return doc


def test_stateful_fuzz_follows_links_between_operations(fuzzed):
    doc = with_links(fuzzed.http.get(fuzzed.url + "/openapi.json", timeout=5).json())
    schema = schemathesis.openapi.from_dict(doc)
    calls: Counter[tuple[str, int]] = Counter()

    class Machine(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self):
            # Every scenario from no task: hypothesis replays a scenario to confirm what it found, and one
            # that met the tasks an earlier one left would draw differently (FlakyStrategyDefinition).
            cleared = fuzzed.http.delete(fuzzed.url + "/tasks", params={"all": "true"}, headers=JSON, timeout=5)
            cleared.raise_for_status()

        def call(self, case, **kwargs):
            label = case.operation.label
            before = fuzzed.tasks() if label in MUTATING else None
            kwargs["headers"] = {**declared_json(case), **(kwargs.get("headers") or {})}
            response = super().call(case, base_url=fuzzed.url, session=fuzzed.http, timeout=10, **kwargs)
            calls[(label, response.status_code)] += 1
            if before is not None and 400 <= response.status_code < 500:
                assert fuzzed.tasks() == before, f"a refused {label} changed the tasks"
            return response

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            validate(case, response)

    run_state_machine_as_test(Machine, settings=settings(FUZZ_SETTINGS, max_examples=40, stateful_step_count=8))
    print(f"\nschemathesis stateful: {sum(calls.values())} requests: {dict(calls)}")
    assert calls[("DELETE /tasks/{task_id}", 200)] > 0, calls  # the links were followed
    assert any(label == "GET /tasks" for label, _ in calls), calls
