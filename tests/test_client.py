from __future__ import annotations

import io
import json
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from clientkit import client_env, final_task, metric, python
from support import LiveServer, wait_until
from tqdm.std import tqdm as std_tqdm

import progressista
from progressista import client
from progressista.api import ProgressistaApi
from progressista.client import RemoteTqdm, remote_trange
from progressista.client.event import number, same_progress
from progressista.client.meta import meta_with
from progressista.protocol import task as contract


@pytest.fixture(autouse=True)
def _no_leaked_bars() -> Iterator[None]:
    """A test must close the bars it opens (as tqdm's own suite checks)."""
    before = set(std_tqdm._instances)  # type: ignore[attr-defined]
    yield
    leaked = [bar for bar in std_tqdm._instances if bar not in before]  # type: ignore[attr-defined]
    for bar in leaked:
        bar.close()
    assert not leaked, f"bars left open: {leaked}"


def bar(server: LiveServer, **kwargs: Any) -> RemoteTqdm[Any]:
    """An in-process bar reporting to ``server``, its console output swallowed."""
    kwargs.setdefault("task_id", f"t-{uuid.uuid4().hex[:8]}")
    return RemoteTqdm(server_url=server.url, file=io.StringIO(), **kwargs)


def test_public_api() -> None:
    assert progressista.RemoteTqdm is RemoteTqdm
    assert progressista.trange is remote_trange
    assert client.tqdm is RemoteTqdm and client.trange is remote_trange
    assert issubclass(RemoteTqdm, std_tqdm)
    assert isinstance(progressista.__version__, str)


def test_the_hot_path_is_tqdms_own() -> None:
    # Reporting hooks display()/close(): iteration and update() stay tqdm's code, untouched.
    assert RemoteTqdm.update is std_tqdm.update
    assert RemoteTqdm.__iter__ is std_tqdm.__iter__


def test_a_script_reports_its_full_state_and_ends_closed(server: LiveServer) -> None:
    done = python(
        """
        import os, time
        from progressista import RemoteTqdm
        bar = RemoteTqdm(range(40), desc="Ingesting", unit="records", meta={"run": 7})
        print(bar.task_id, os.getpid(), flush=True)
        for i in bar:
            bar.set_postfix(loss=0.5, refresh=False)
            time.sleep(0.005)
        """,
        env=client_env(server),
    )
    assert done.returncode == 0, done.stderr
    task_id, pid = done.stdout.split()
    assert task_id.startswith(socket.gethostname()[:50])
    task = final_task(server, task_id)
    assert task["status"] == "close"
    assert (task["desc"], task["unit"], task["n"], task["total"]) == ("Ingesting", "records", 40, 40)
    assert task["postfix"] == "loss=0.5"
    assert task["meta"] == {"run": 7}
    assert task["rate"] > 0 and task["elapsed"] > 0.1
    assert task["host"] == socket.gethostname() and task["pid"] == int(pid)
    assert task["seq"] >= 2
    assert "Ingesting: 100%" in done.stderr  # the console bar is tqdm's, unchanged


def test_explicit_task_ids_and_meta(server: LiveServer) -> None:
    done = python(
        """
        from progressista import RemoteTqdm, trange
        for rank in range(2):
            with RemoteTqdm(total=5, task_id=f"run-42:rank-{rank}", meta={"rank": rank, "tags": ("a", "b")}) as bar:
                bar.update(5)
        for _ in trange(3, task_id="run-42:trange"):
            pass
        """,
        env=client_env(server),
    )
    assert done.returncode == 0, done.stderr
    for rank in range(2):
        task = final_task(server, f"run-42:rank-{rank}")
        assert task["meta"] == {"rank": rank, "tags": ["a", "b"]}
        assert task["n"] == 5
    assert final_task(server, "run-42:trange")["n"] == 3


def test_awkward_values_are_made_acceptable(server: LiveServer) -> None:
    huge = {"blob": "x" * 20_000}
    with bar(server, task_id="a" * 300, desc="d" * 5000, meta={"x": object(), 1: float("inf")}) as a:
        a.update(0.5)
        a.set_postfix_str("p" * 2000)
    with bar(server, total=3, meta=huge) as b:  # too big for the server: dropped, the bar still reports
        b.update(1)
    with bar(server, total=3, meta=["not", "a", "dict"]) as c:  # not a dict: ignored
        pass
    first = final_task(server, "a" * 256)
    assert len(first["desc"]) == 1000 and len(first["postfix"]) == 1000
    assert first["meta"]["1"] == "inf" and first["meta"]["x"].startswith("<object")
    assert first["n"] == 0.5 and first["total"] is None
    assert final_task(server, b.task_id or "")["meta"] == {}
    assert final_task(server, c.task_id or "")["meta"] == {}
    assert metric(server, "progressista_events_rejected_total") == 0


def test_over_long_values_are_cut_to_the_limits_the_server_accepts(server: LiveServer) -> None:
    limits = {
        "task_id": contract.MAX_TASK_ID,
        "desc": contract.MAX_DESC,
        "unit": contract.MAX_UNIT,
        "postfix": contract.MAX_POSTFIX,
        "host": contract.MAX_HOST,
    }

    # The limits are the server's own: it takes a value at each limit and refuses one more.
    def answer(**fields: Any) -> int:
        return server.post([{"task_id": "probe", **fields}]).status_code

    for name, limit in limits.items():
        assert (answer(**{name: "x" * limit}), answer(**{name: "x" * (limit + 1)})) == (200, 422), name
    full = {"blob": "x" * (contract.MAX_META_BYTES - len('{"blob":""}'))}  # exactly the limit, as compact JSON
    over = {"blob": full["blob"] + "x"}
    assert (answer(meta=full), answer(meta=over)) == (200, 422)
    rejected = metric(server, "progressista_events_rejected_total")

    # A bar with every value too long posts what the server accepts, cut to those limits.
    long_id, long_text = "t" * (limits["task_id"] + 50), {name: name[0] * (limit + 1) for name, limit in limits.items()}
    with bar(server, task_id=long_id, desc=long_text["desc"], unit=long_text["unit"], meta=full) as cut:
        cut.set_postfix_str(long_text["postfix"])
    with bar(server, total=1, meta=over) as dropped:  # one byte over: the meta is dropped, the event not refused
        dropped.update()
    assert cut.task_id == long_id[: limits["task_id"]]
    task = final_task(server, cut.task_id)
    for name in ("desc", "unit", "postfix"):
        assert task[name] == long_text[name][: limits[name]], name
    assert task["meta"] == full
    assert final_task(server, dropped.task_id or "")["meta"] == {}
    assert metric(server, "progressista_events_rejected_total") == rejected


def test_description_and_postfix_reach_the_server(server: LiveServer) -> None:
    with bar(server, total=10, desc="Phase 1") as b:
        wait_until(lambda: server.tasks().get(b.task_id, {}).get("desc") == "Phase 1", what="desc")
        b.set_description("Phase 2")
        b.set_postfix(loss=0.25, acc="90%")
        wait_until(lambda: server.tasks()[b.task_id]["desc"] == "Phase 2", what="new desc")
        wait_until(lambda: server.tasks()[b.task_id]["postfix"] == "acc=90%, loss=0.25", what="postfix")
        b.set_meta({"epoch": 2})
        wait_until(lambda: server.tasks()[b.task_id]["meta"] == {"epoch": 2}, what="meta")


def test_the_final_state_arrives_even_when_tqdm_skips_displays(server: LiveServer) -> None:
    with bar(server, total=100, mininterval=3600, miniters=10**9) as b:
        for _ in range(70):
            b.update()
    task = final_task(server, b.task_id or "")
    assert (task["status"], task["n"]) == ("close", 70)


def test_a_with_block_that_raises_ends_in_error(server: LiveServer) -> None:
    with pytest.raises(KeyError), bar(server, total=10) as b:
        b.update(3)
        raise KeyError("boom")
    assert (final_task(server, b.task_id or "")["status"], b.n) == ("error", 3)
    with bar(server, total=10) as ok:
        ok.update(10)
    assert final_task(server, ok.task_id or "")["status"] == "close"


def test_a_loop_inside_a_with_block_that_raises_ends_in_error(server: LiveServer) -> None:
    with pytest.raises(ValueError), bar(server, iterable=range(10)) as b:
        for i in b:
            if i == 4:
                raise ValueError
    assert final_task(server, b.task_id or "")["status"] == "error"


def test_a_plain_script_dying_in_a_loop_ends_in_error(server: LiveServer) -> None:
    done = python(
        """
        import sys
        from progressista import RemoteTqdm
        opened = RemoteTqdm(total=9, task_id="crash:open")
        opened.update(2)
        for i in RemoteTqdm(range(10), task_id="crash:loop"):
            if i == 3:
                raise RuntimeError("the job died")
        """,
        env=client_env(server),
    )
    assert done.returncode == 1 and "RuntimeError: the job died" in done.stderr
    assert final_task(server, "crash:loop")["status"] == "error"
    assert final_task(server, "crash:open")["status"] == "error"


def test_a_plain_script_interrupted_names_sigint(server: LiveServer) -> None:
    done = python(
        """
        from progressista import RemoteTqdm
        opened = RemoteTqdm(total=9, task_id="int:open", meta={"rank": 1})
        with RemoteTqdm(total=9, task_id="int:with") as outer:
            for i in RemoteTqdm(range(10), task_id="int:loop"):
                if i == 3:
                    raise KeyboardInterrupt  # what Ctrl-C raises
        """,
        env=client_env(server),
    )
    assert "KeyboardInterrupt" in done.stderr
    for task_id in ("int:open", "int:with", "int:loop"):
        task = final_task(server, task_id)
        assert (task["status"], task["meta"].get("signal")) == ("error", "SIGINT"), task_id
    assert final_task(server, "int:open")["meta"] == {"rank": 1, "signal": "SIGINT"}


def test_an_interrupted_with_block_names_sigint_in_process(server: LiveServer) -> None:
    with pytest.raises(KeyboardInterrupt), bar(server, total=10, meta={"k": 1}) as b:
        raise KeyboardInterrupt
    assert final_task(server, b.task_id or "")["meta"] == {"k": 1, "signal": "SIGINT"}


def test_an_extra_meta_that_would_pass_the_limit_is_left_out() -> None:
    assert meta_with({"a": 1}, {"signal": "SIGTERM"}) == {"a": 1, "signal": "SIGTERM"}
    full = {"blob": "x" * (contract.MAX_META_BYTES - 20)}
    assert meta_with(full, {"signal": "SIGTERM"}) == full  # the final event must not be refused


@pytest.mark.parametrize("name", contract.PROGRESS_FIELDS)
def test_a_heartbeat_tells_progress_by_the_protocols_fields(name: str) -> None:
    # What the server counts as progress (protocol.task.PROGRESS_FIELDS), the heartbeat compares.
    last = {field: f"old-{field}" for field in (*contract.PROGRESS_FIELDS, *contract.BOOKKEEPING)}
    assert same_progress(
        {**last, **{field: "new" for field in contract.BOOKKEEPING}}, last
    )  # timing alone: no progress
    assert not same_progress({**last, name: "new"}, last)


def test_numbers_the_server_refuses_are_left_out_or_converted() -> None:
    fraction = __import__("fractions").Fraction(1, 4)
    assert [number(value) for value in (3, 2.5, fraction, True, "7", None)] == [3, 2.5, 0.25, 1, 7.0, None]
    decimal = __import__("decimal").Decimal
    assert [number(value) for value in (float("nan"), float("inf"), decimal("NaN"), "many", object())] == [None] * 5


def test_made_up_ids_are_prefixed_with_the_run_id(server: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    with RemoteTqdm(total=1, server_url=server.url, file=io.StringIO()) as alone:
        alone.update()
    assert ":" not in (alone.task_id or ":")
    monkeypatch.setenv("PROGRESSISTA_RUN_ID", " nightly:42 ")  # read per bar; a ':' would split the group
    with RemoteTqdm(total=1, server_url=server.url, file=io.StringIO()) as grouped:
        grouped.update()
    with RemoteTqdm(total=1, server_url=server.url, file=io.StringIO(), task_id="mine") as explicit:
        explicit.update()
    assert (grouped.task_id or "").startswith("nightly-42:" + socket.gethostname()[:20])
    assert explicit.task_id == "mine"  # explicit ids are used as given
    assert final_task(server, grouped.task_id or "")["status"] == "close"


def test_breaking_out_of_a_loop_closes(server: LiveServer) -> None:
    done = python(
        """
        from progressista import RemoteTqdm
        for i in RemoteTqdm(range(10), task_id="broken:loop"):
            if i == 3:
                break
        still_open = RemoteTqdm(total=5, task_id="exit:open")
        still_open.update(1)
        """,
        env=client_env(server),
    )
    assert done.returncode == 0, done.stderr
    assert final_task(server, "broken:loop")["status"] == "close"
    assert final_task(server, "exit:open")["status"] == "close"  # closed for it at exit, like tqdm's __del__


def test_disabled_bars_send_nothing_and_start_no_sender(server: LiveServer) -> None:
    done = python(
        """
        import threading
        from progressista import RemoteTqdm, sender
        for _ in RemoteTqdm(range(10), disable=True, task_id="disabled"):
            pass
        print(sender.current(), [t.name for t in threading.enumerate() if t.name == sender.THREAD_NAME])
        """,
        env=client_env(server),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["None", "[]"]
    assert server.tasks() == {}


def test_disable_none_hides_the_console_bar_but_still_reports(server: LiveServer) -> None:
    done = python(
        """
        from progressista import RemoteTqdm
        for _ in RemoteTqdm(range(10), disable=None, task_id="headless", desc="CI job"):
            pass
        """,
        env=client_env(server),
    )
    assert done.returncode == 0 and done.stderr == ""  # stderr is a pipe, not a TTY
    assert final_task(server, "headless")["n"] == 10


def test_token_from_the_environment(start_server: Callable[..., LiveServer]) -> None:
    server = start_server(api_token="s3cret")
    code = """
        from progressista import RemoteTqdm
        with RemoteTqdm(total=2, task_id={task_id!r}) as bar:
            bar.update(2)
        """
    good = python(code.format(task_id="with-token"), env=client_env(server, PROGRESSISTA_API_TOKEN="s3cret"))
    bad = python(code.format(task_id="no-token"), env=client_env(server))
    assert (good.returncode, bad.returncode) == (0, 0)
    assert "Traceback" not in bad.stderr
    with ProgressistaApi(server.url, token="s3cret") as api:
        wait_until(lambda: "with-token" in api.tasks(), what="the authorised task")
        assert set(api.tasks()) == {"with-token"}


def test_explicit_headers_win_over_the_environment_token(start_server: Callable[..., LiveServer]) -> None:
    server = start_server(api_token="right")
    done = python(
        """
        from progressista import RemoteTqdm
        with RemoteTqdm(total=1, task_id="header", headers={"authorization": "Bearer right"}) as bar:
            bar.update()
        """,
        env=client_env(server, PROGRESSISTA_API_TOKEN="wrong"),
    )
    assert done.returncode == 0, done.stderr
    with ProgressistaApi(server.url, token="right") as api:
        wait_until(lambda: api.tasks().get("header", {}).get("status") == "close", what="the task")


def test_post_override_observes_every_batch(server: LiveServer, tmp_path: Path) -> None:
    log = tmp_path / "posts.jsonl"
    done = python(
        f"""
        import json
        from progressista import RemoteTqdm

        class Audited(RemoteTqdm):
            def _post(self, session, url, payload, headers, timeout):  # a plain method works too
                response = super()._post(session, url, payload, headers, timeout)
                with open({str(log)!r}, "a") as out:
                    out.write(json.dumps([self.__name__, url, len(payload), response.status_code]) + "\\n")
                return response

        for i in range(3):
            with Audited(total=1, task_id=f"audited-{{i}}") as bar:
                bar.update()
        """,
        env=client_env(server),
    )
    assert done.returncode == 0, done.stderr
    posts = [json.loads(line) for line in log.read_text().splitlines()]
    assert {(name, url, status) for name, url, _, status in posts} == {("Audited", server.url + "/progress", 200)}
    assert sum(count for *_, count, _ in posts) >= 3
    for i in range(3):
        assert final_task(server, f"audited-{i}")["status"] == "close"


SLOW_JOB = """
import sys, time
from progressista import RemoteTqdm
bar = RemoteTqdm(total=10, task_id=sys.argv[1])
bar.update(1)
print("working", flush=True)
time.sleep(float(sys.argv[2]))  # a long step: no progress, but the process is alive
bar.update(9)
bar.close()
"""


def test_heartbeats_keep_a_slow_job_stale_not_lost(start_server: Callable[..., LiveServer]) -> None:
    server = start_server(stale_seconds=0.3, lost_seconds=0.6)
    env = client_env(server, PROGRESSISTA_HEARTBEAT_INTERVAL="0.2")
    with subprocess.Popen([sys.executable, "-c", SLOW_JOB, "slow", "3"], env=env, stdout=subprocess.PIPE) as job:
        assert job.stdout is not None and job.stdout.readline().strip() == b"working"

        def quiet_for_a_while() -> dict[str, Any] | None:
            task = server.tasks().get("slow")
            return task if task and task["seen_at"] - task["updated_at"] > 1.2 else None

        task = wait_until(quiet_for_a_while, what="heartbeats without progress")
        assert task["status"] == "stale"  # without heartbeats it would be lost after 0.6 s
        assert job.wait(30) == 0
    assert final_task(server, "slow")["n"] == 10


def test_a_killed_job_goes_lost(start_server: Callable[..., LiveServer]) -> None:
    server = start_server(lost_seconds=0.5)
    env = client_env(server, PROGRESSISTA_HEARTBEAT_INTERVAL="0.1")
    with subprocess.Popen([sys.executable, "-c", SLOW_JOB, "killed", "60"], env=env, stdout=subprocess.PIPE) as job:
        assert job.stdout is not None and job.stdout.readline().strip() == b"working"
        wait_until(lambda: "killed" in server.tasks(), what="the task")
        job.send_signal(signal.SIGKILL)
        job.wait(10)
    wait_until(lambda: server.tasks()["killed"]["status"] == "lost", what="the dead job's bar to be lost")
