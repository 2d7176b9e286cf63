from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from clientkit import CLI, client_env, final_task, run, script
from support import LiveServer, wait_until

from progressista.api import ProgressistaApi

JOB = """
    import json, os, sys
    import helper  # next to the script: sys.path[0] is the script's folder
    from tqdm import tqdm, trange

    print(json.dumps({"argv": sys.argv, "path0": sys.path[0], "name": __name__, "pid": os.getpid()}), flush=True)
    for _ in trange(5, desc="done", task_id="job:done"):
        pass
    left_open = tqdm(total=10, task_id="job:open")
    left_open.update(4)
    if "--crash" in sys.argv:
        helper.crash()
    if "--loop-crash" in sys.argv:
        for i in tqdm(range(10), task_id="job:loop"):
            if i == 2:
                helper.crash()
    if "--exit" in sys.argv:
        sys.exit(int(sys.argv[-1]) if sys.argv[-1].isdigit() else sys.argv[-1])
    """


@pytest.fixture
def job(tmp_path: Path) -> Path:
    script(tmp_path / "jobs", "helper.py", "def crash():\n    raise RuntimeError('the job crashed')\n")
    return script(tmp_path / "jobs", "job.py", JOB)


def progressista_run(server: LiveServer, *args: str, cwd: Path | None = None, **env: str) -> tuple[int, str, str]:
    done = run([*CLI, "run", "--url", server.url, *args], client_env(None, **env), cwd=cwd)
    return done.returncode, done.stdout, done.stderr


def test_runs_a_script_with_its_own_argv_and_path(server: LiveServer, job: Path, tmp_path: Path) -> None:
    code, out, err = progressista_run(server, str(job), "--", "a", "--flag", "-x", cwd=tmp_path)
    assert code == 0, err
    seen = __import__("json").loads(out.splitlines()[0])
    assert seen["argv"] == [str(job), "a", "--flag", "-x"]
    assert seen["path0"] == str(job.parent) and seen["name"] == "__main__"
    assert final_task(server, "job:done")["n"] == 5
    assert final_task(server, "job:open")["status"] == "close"  # still open at the end of a successful run
    assert "done: 100%" in err  # console bars as usual


def test_arguments_without_a_separator_go_to_the_script(server: LiveServer, job: Path) -> None:
    code, out, err = progressista_run(server, str(job), "--url", "not-ours")
    assert code == 0, err
    assert __import__("json").loads(out.splitlines()[0])["argv"][1:] == ["--url", "not-ours"]


def test_runs_a_module(server: LiveServer, tmp_path: Path) -> None:
    script(tmp_path / "pkg", "__init__.py", "")
    script(
        tmp_path / "pkg",
        "mod.py",
        """
        import sys
        from tqdm.auto import tqdm
        for _ in tqdm(range(3), task_id="module:" + "/".join(sys.argv[1:])):
            pass
        print(sys.argv[0], __name__)
        """,
    )
    code, out, err = progressista_run(server, "-m", "pkg.mod", "--", "x", "--y", cwd=tmp_path)
    assert code == 0, err
    assert out.split() == [str(tmp_path / "pkg" / "mod.py"), "__main__"]
    assert final_task(server, "module:x/--y")["status"] == "close"


@pytest.mark.parametrize(("exit_arg", "code", "message"), [("0", 0, ""), ("3", 3, ""), ("bye", 1, "bye")])
def test_exit_codes_pass_through(server: LiveServer, job: Path, exit_arg: str, code: int, message: str) -> None:
    returned, _, err = progressista_run(server, str(job), "--exit", exit_arg)
    assert returned == code
    assert message in err
    assert "Traceback" not in err
    assert final_task(server, "job:open")["status"] == ("close" if code == 0 else "error")


def test_a_crash_prints_the_usual_traceback_and_ends_open_bars_in_error(server: LiveServer, job: Path) -> None:
    code, _, err = progressista_run(server, str(job), "--crash")
    assert code == 1
    traceback = err[err.index("Traceback (most recent call last):") :]
    assert f'File "{job}", line' in traceback and "helper.py" in traceback
    assert "RuntimeError: the job crashed" in traceback
    assert "runpy" not in traceback and "progressista" not in traceback
    assert final_task(server, "job:open")["status"] == "error"
    assert final_task(server, "job:done")["status"] == "close"


def test_a_crash_inside_a_loop_ends_its_bar_in_error(server: LiveServer, job: Path) -> None:
    code, _, _ = progressista_run(server, str(job), "--loop-crash")
    assert code == 1
    assert final_task(server, "job:loop")["status"] == "error"


def test_token_and_push_interval_options(start_server: Callable[..., LiveServer], job: Path) -> None:
    server = start_server(api_token="s3cret")
    done = run(
        [*CLI, "run", "--url", server.url + "/progress", "--token", "s3cret", "--push-every", "0.1", str(job)],
        client_env(None),
    )
    assert done.returncode == 0, done.stderr
    with ProgressistaApi(server.url, token="s3cret") as api:
        assert final_task_via(api, "job:done")["n"] == 5


def final_task_via(api: ProgressistaApi, task_id: str) -> dict[str, object]:
    return wait_until(lambda: api.tasks(status="completed").get(task_id), what=task_id)


def test_waits_for_the_targets_threads(server: LiveServer, tmp_path: Path) -> None:
    path = script(
        tmp_path,
        "threads.py",
        """
        import threading, time
        from tqdm import tqdm

        def work():
            for _ in tqdm(range(5), task_id="thread:bar"):
                time.sleep(0.05)

        threading.Thread(target=work).start()  # not a daemon: Python waits for it, and so does run
        """,
    )
    code, _, err = progressista_run(server, str(path))
    assert code == 0, err
    task = final_task(server, "thread:bar")
    assert (task["status"], task["n"]) == ("close", 5)


def test_one_line_errors(server: LiveServer, tmp_path: Path) -> None:
    missing = run([*CLI, "run", str(tmp_path / "nope.py")], client_env(None))
    assert missing.returncode == 2 and missing.stderr.startswith("Error: can't open file")
    no_module = run([*CLI, "run", "-m", "no_such_module_here"], client_env(None))
    assert no_module.returncode == 1 and no_module.stderr.strip() == "Error: No module named 'no_such_module_here'"
    nothing = run([*CLI, "run"], client_env(None))
    assert nothing.returncode == 2 and "Error:" in nothing.stderr
    bad_url = run([*CLI, "run", "--url", "ftp://x", str(tmp_path / "nope.py")], client_env(None))
    assert bad_url.returncode == 2 and "unsupported URL scheme" in bad_url.stderr
    assert "Traceback" not in missing.stderr + no_module.stderr + nothing.stderr + bad_url.stderr


def test_run_path_in_process_restores_sys(server: LiveServer, job: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from progressista import patch
    from progressista.run import run_path

    monkeypatch.setenv("PROGRESSISTA_SERVER_URL", server.url)
    argv, path = sys.argv[:], sys.path[:]
    code = run_path(str(job), ["--exit", "4"])
    assert code == 4
    assert (sys.argv, sys.path) == (argv, path)
    assert not patch.installed()
    assert os.environ["PROGRESSISTA_SERVER_URL"] == server.url
    assert "PROGRESSISTA_RUN_ID" not in os.environ  # set for the target only


# ---------------------------------------------------------------- runs: PROGRESSISTA_RUN_ID

RUN_ID = re.compile(r"^ids-\d{4}-\d{4}-[0-9a-f]{4}$")

IDS = """
    import os
    from tqdm import tqdm

    with tqdm(total=1) as made_up:  # patched by run: an id of its own, under the run
        made_up.update()
    with tqdm(total=1, task_id="explicit:one") as explicit:  # used as given
        explicit.update()
    print(os.environ["PROGRESSISTA_RUN_ID"], made_up.task_id, explicit.task_id)
    """


@pytest.mark.parametrize(
    ("env", "args", "expected"),
    [
        ({}, (), RUN_ID),
        ({"PROGRESSISTA_RUN_ID": "ci-7"}, (), "ci-7"),
        ({"PROGRESSISTA_RUN_ID": "ci-7"}, ("--run-id", "job:8"), "job-8"),
    ],
    ids=["fresh", "inherited", "option"],
)
def test_run_ids_prefix_made_up_task_ids(
    server: LiveServer, tmp_path: Path, env: dict[str, str], args: tuple[str, ...], expected: str | re.Pattern[str]
) -> None:
    path = script(tmp_path, "ids.py", IDS)
    code, out, err = progressista_run(server, *args, str(path), **env)
    assert code == 0, err
    run_id, made_up, explicit = out.split()
    assert RUN_ID.match(run_id) if isinstance(expected, re.Pattern) else run_id == expected
    assert made_up.startswith(f"{run_id}:") and made_up.count(":") == 1
    assert explicit == "explicit:one"
    assert final_task(server, made_up)["status"] == "close"


FANOUT = """
    import multiprocessing, os, signal, subprocess, sys
    from tqdm import tqdm
    from progressista import RemoteTqdm, sender

    CHILD = "from progressista import RemoteTqdm\\nwith RemoteTqdm(total=2) as bar: bar.update(2)"

    def work(rank):
        with RemoteTqdm(total=3, desc=f"worker {rank}", mininterval=0) as bar:  # no task_id
            bar.update(3)

    def die():
        bar = RemoteTqdm(total=3, desc="killed", mininterval=0)
        bar.update(1)
        sender.flush()
        os.kill(os.getpid(), signal.SIGKILL)  # kill -9: no chance to report anything

    if __name__ == "__main__":
        with tqdm(total=6, desc="parent") as parent:
            for method in ("fork", "spawn"):
                context = multiprocessing.get_context(method)
                workers = [context.Process(target=work, args=(f"{method}-{rank}",)) for rank in range(2)]
                for worker in workers:
                    worker.start()
                for worker in workers:
                    worker.join()
                    assert worker.exitcode == 0
                    parent.update()
            subprocess.run([sys.executable, "-c", CHILD], check=True)
            parent.update()
            doomed = multiprocessing.get_context("fork").Process(target=die)
            doomed.start()
            doomed.join()
            assert doomed.exitcode == -signal.SIGKILL
            parent.update()
        print(os.environ["PROGRESSISTA_RUN_ID"])
    """


def test_a_fan_out_is_one_group_and_a_killed_worker_goes_lost(
    start_server: Callable[..., LiveServer], tmp_path: Path
) -> None:
    server = start_server(lost_seconds=0.5)
    path = script(tmp_path, "fanout.py", FANOUT)
    code, out, err = progressista_run(server, str(path), cwd=tmp_path, PROGRESSISTA_HEARTBEAT_INTERVAL="0.1")
    assert code == 0, err
    run_id = out.strip()
    assert run_id.startswith("fanout-")

    def settled() -> dict[str, Any] | None:
        groups = server.http.get(server.url + "/groups", timeout=5).json()["groups"]
        group = groups.get(run_id)
        return groups if group and group["counts"]["lost"] == 1 and group["counts"]["done"] == 6 else None

    groups = wait_until(settled, timeout=10, what="6 members done and the killed one lost")
    assert list(groups) == [run_id]  # parent, 2 fork and 2 spawn workers, the subprocess, the killed one
    assert groups[run_id]["members"] == 7 and groups[run_id]["status"] == "lost"
    tasks = server.tasks()
    assert all(task_id.startswith(run_id + ":") for task_id in tasks)
    assert len({task["pid"] for task in tasks.values()}) == 7  # each from a process of its own
    killed = next(task for task in tasks.values() if task["desc"] == "killed")
    assert (killed["status"], killed["n"]) == ("lost", 1)

    waited = run([*CLI, "wait", "--group", run_id, "--url", server.url, "--timeout", "10"], client_env(None))
    assert (waited.returncode, waited.stderr.strip()) == (1, f"{killed['task_id']} is lost (no contact)")
