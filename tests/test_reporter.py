"""PhaseReporter: library phases (the sortition-algorithms protocol) as bars on a real server."""

import random
import subprocess
import sys
import time
from typing import Protocol, runtime_checkable

import pytest
from support import free_port, wait_until

from progressista.reporter import PhaseReporter


@runtime_checkable
class ProgressReporter(Protocol):
    """The protocol as the sortition-algorithms docs give it."""

    def start_phase(self, name: str, total: int | None = None, *, message: str | None = None) -> None: ...

    def update(self, current: int, *, message: str | None = None) -> None: ...

    def end_phase(self) -> None: ...


def test_satisfies_the_protocol_structurally():
    assert isinstance(PhaseReporter(run_id="r"), ProgressReporter)


def test_satisfies_the_librarys_own_protocol():
    progress = pytest.importorskip("sortition_algorithms.progress")
    assert isinstance(PhaseReporter(run_id="r"), progress.ProgressReporter)


def phases_of(server, run_id):
    return {k.split(":", 1)[1]: t for k, t in server.tasks().items() if k.startswith(run_id + ":")}


def test_each_phase_is_a_bar_under_the_run_and_transitions_flush_at_once(server):
    reporter = PhaseReporter(run_id="run-1", server_url=server.url, push_every=30)  # updates would wait 30 s
    reporter.start_phase("legacy_attempt", 3, message="Legacy attempt 1 of 3")
    first = wait_until(lambda: phases_of(server, "run-1").get("legacy_attempt"), timeout=5, what="phase start")
    assert (first["status"], first["desc"], first["total"], first["n"]) == ("start", "Legacy attempt 1 of 3", 3, 0)
    assert first["meta"] == {"phase": "legacy_attempt", "run_id": "run-1"}
    reporter.update(2)
    reporter.start_phase("maximin_optimization", None, message="Optimizing maximin distribution")
    # The next phase's start ends the previous one, and both go out without waiting for push_every.
    wait_until(lambda: phases_of(server, "run-1").get("maximin_optimization"), timeout=5, what="second phase")
    done = phases_of(server, "run-1")["legacy_attempt"]
    assert (done["status"], done["n"]) == ("close", 2)
    reporter.end_phase()
    wait_until(lambda: phases_of(server, "run-1")["maximin_optimization"]["status"] == "close", timeout=5)
    groups = server.http.get(server.url + "/groups", timeout=5).json()["groups"]
    assert groups["run-1"]["members"] == 2


def test_a_phase_without_total_is_a_counter_and_messages_show(server):
    with PhaseReporter(run_id="conv", server_url=server.url, push_every=0.05) as reporter:
        reporter.start_phase("nash_optimization", message="Optimizing Nash welfare")
        for iteration in range(1, 501):  # hundreds of calls: throttled, never a request each
            reporter.update(iteration, message=f"welfare {iteration / 1000:.3f}" if iteration % 100 == 0 else None)
        # tqdm shows (and so reports) at most every 0.1 s; the phase's end carries the final state.
    task = wait_until(
        lambda: (t := phases_of(server, "conv").get("nash_optimization")) and t["status"] == "close" and t,
        timeout=5,
        what="closed phase",
    )
    assert (task["n"], task["total"], task["desc"]) == (500, None, "welfare 0.500")
    events = server.http.get(server.url + "/metrics", timeout=5).text
    accepted = float(
        next(line.split()[1] for line in events.splitlines() if line.startswith("progressista_events_accepted_total"))
    )
    assert accepted < 50  # 500 updates, a handful of events


def test_an_exception_ends_the_open_phase_as_error(server):
    with pytest.raises(RuntimeError), PhaseReporter(run_id="boom", server_url=server.url) as reporter:
        reporter.start_phase("leximin_outer", 40, message="Fixing probabilities")
        reporter.update(7)
        raise RuntimeError("solver failed")
    task = wait_until(
        lambda: (t := phases_of(server, "boom").get("leximin_outer")) and t["status"] == "error" and t,
        timeout=5,
        what="error status",
    )
    assert task["n"] == 7


def test_a_run_id_from_the_environment_and_no_colon_in_it(monkeypatch):
    monkeypatch.setenv("PROGRESSISTA_RUN_ID", "job:42")
    assert PhaseReporter().run_id == "job-42"
    assert PhaseReporter(run_id="explicit").run_id == "explicit"


def test_with_the_server_down_the_run_completes_quickly():
    port = free_port()  # nothing listens there
    script = f"""
import time
from progressista.reporter import PhaseReporter
started = time.monotonic()
with PhaseReporter(run_id="offline", server_url="http://127.0.0.1:{port}", request_timeout=0.5) as r:
    for phase in range(5):
        r.start_phase(f"p{{phase}}", 1000, message="working")
        for i in range(1000):
            r.update(i)
print("done", round(time.monotonic() - started, 2))
"""
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("done") and "Traceback" not in result.stderr
    assert time.monotonic() - started < 10  # the exit flush gives up after request_timeout


def make_pool(size=40, seed=1):
    sa = pytest.importorskip("sortition_algorithms")
    rng = random.Random(seed)
    head = ["feature", "value", "min", "max"]
    rows = [
        {"feature": "gender", "value": "f", "min": "2", "max": "4"},
        {"feature": "gender", "value": "m", "min": "2", "max": "4"},
        {"feature": "age", "value": "young", "min": "1", "max": "4"},
        {"feature": "age", "value": "old", "min": "1", "max": "4"},
    ]
    features = sa.read_in_features(head, rows, 6)[0]
    settings = sa.Settings(id_column="id", columns_to_keep=[], selection_algorithm="maximin", max_attempts=5)
    people_rows = [
        {"id": f"p{i}", "gender": rng.choice("fm"), "age": rng.choice(["young", "old"])} for i in range(size)
    ]
    people, _ = sa.read_in_people(["id", "gender", "age"], people_rows, features, settings)
    return features, people, settings


def test_a_real_stratification_run_streams_its_phases(server):
    core = pytest.importorskip("sortition_algorithms.core")
    features, people, settings = make_pool()
    with PhaseReporter(run_id="assembly", server_url=server.url) as reporter:
        success, panels, _ = core.run_stratification(features, people, 6, settings, progress_reporter=reporter)
    assert success and panels
    phases = wait_until(
        lambda: (
            (p := phases_of(server, "assembly"))
            and all(t["status"] == "close" for t in p.values())
            and len(p) >= 2
            and p
        ),
        timeout=10,
        what="closed phases",
    )
    assert {"multiplicative_weights", "maximin_optimization"} <= set(phases)
    weights = phases["multiplicative_weights"]
    assert weights["meta"]["phase"] == "multiplicative_weights"
    assert weights["total"] and weights["n"] == weights["total"]
    assert weights["desc"].startswith("Round ")  # the library's latest update message
    assert phases["maximin_optimization"]["total"] is None


def test_an_unknown_option_is_refused_at_once() -> None:
    # A typo must not pass silently into every phase bar (where the reporter swallows errors).
    with pytest.raises(TypeError, match="push_evry"):
        PhaseReporter(run_id="typo", push_evry=1)  # type: ignore[call-arg]
