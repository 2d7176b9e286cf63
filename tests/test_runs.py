"""The run task: ``progressista run`` posts the program itself, ``{run_id}:run``, and ``wait`` waits for it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from clientkit import CLI, client_env, final_task, run, script
from support import LiveServer, wait_until

GAP = """
    import pathlib, sys, time
    from tqdm import trange

    for _ in trange(5, desc="load"):
        time.sleep(0.01)
    time.sleep(3)  # saving a checkpoint: no bar is open
    for _ in trange(5, desc="train"):
        time.sleep(0.01)
    pathlib.Path("finished").write_text("the program's last line ran")
    if "--fail" in sys.argv:
        raise RuntimeError("boom at 40")
    """


def start_run(server: LiveServer, path: Path, *args: str, run_id: str) -> subprocess.Popen[str]:
    env = client_env(server, PROGRESSISTA_RUN_ID=run_id)
    return subprocess.Popen(
        [*CLI, "run", str(path), *args],
        env=env,
        cwd=path.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_group(server: LiveServer, run_id: str) -> subprocess.CompletedProcess[str]:
    argv = [*CLI, "wait", "--group", run_id, "--url", server.url, "--timeout", "60"]
    return subprocess.run(argv, env=client_env(None), capture_output=True, text=True, timeout=90)


@pytest.mark.parametrize(("args", "code"), [((), 0), (("--fail",), 1)], ids=["succeeds", "fails"])
def test_run_and_wait_returns_only_after_the_program_exits(
    server: LiveServer, tmp_path: Path, args: tuple[str, ...], code: int
) -> None:
    path = script(tmp_path, "gap.py", GAP)
    job = start_run(server, path, *args, run_id="gap")
    try:
        wait_until(lambda: "gap:run" in server.tasks(), timeout=20, what="the run task")
        waited = wait_group(server, "gap")
        assert (path.parent / "finished").exists(), "wait returned while the program was still running"
        assert waited.returncode == code, waited.stderr
        assert job.wait(30) == code
    finally:
        job.kill()
        job.communicate()
    task = server.tasks()["gap:run"]
    assert task["meta"]["kind"] == "run" and task["meta"]["exit_code"] == code
    assert task["desc"] == f"python {path}" + "".join(f" {arg}" for arg in args)
    if code:
        assert task["status"] == "error" and task["meta"]["error"] == "RuntimeError: boom at 40"
        assert "gap:run ended error: RuntimeError: boom at 40" in waited.stderr + waited.stdout
    else:
        assert task["status"] == "close" and "error" not in task["meta"]


def test_without_the_run_task_wait_returns_in_the_gap(server: LiveServer, tmp_path: Path) -> None:
    """The negative control: with ``--no-run-task`` the group looks done between the two bars."""
    path = script(tmp_path, "gap.py", GAP)
    env = client_env(server, PROGRESSISTA_RUN_ID="nogap")
    job = subprocess.Popen(
        [*CLI, "run", "--no-run-task", str(path)], env=env, cwd=tmp_path, stdout=subprocess.PIPE, text=True
    )
    try:
        wait_until(lambda: server.tasks(), timeout=20, what="the first bar")
        waited = wait_group(server, "nogap")
        assert waited.returncode == 0
        assert not (tmp_path / "finished").exists()  # still running: the pause fooled wait
        assert not any(task_id.endswith(":run") for task_id in server.tasks())
    finally:
        job.wait(30)
        assert job.stdout is not None
        job.stdout.close()


def test_the_reason_of_a_raising_script_is_on_its_open_bars_and_its_run_task(
    server: LiveServer, tmp_path: Path
) -> None:
    path = script(
        tmp_path,
        "crash.py",
        """
        from tqdm import tqdm
        bar = tqdm(total=10, task_id="crash:open")
        bar.update(4)
        records = {}
        records["id"]
        """,
    )
    done = run([*CLI, "run", "--run-id", "crash", str(path)], client_env(server))
    assert done.returncode == 1
    assert "KeyError: 'id'" in done.stderr  # the traceback as Python prints it
    bar = final_task(server, "crash:open")
    assert (bar["status"], bar["meta"]) == ("error", {"error": "KeyError: 'id'"})
    task = final_task(server, "crash:run")
    assert task["meta"] == {"kind": "run", "exit_code": 1, "error": "KeyError: 'id'"}


def test_a_raising_with_block_says_why_and_a_clean_one_says_nothing(server: LiveServer, tmp_path: Path) -> None:
    path = script(
        tmp_path,
        "blocks.py",
        """
        from progressista import RemoteTqdm
        with RemoteTqdm(total=3, task_id="blocks:clean") as bar:
            bar.update(3)
        try:
            with RemoteTqdm(total=3, task_id="blocks:raising") as bar:
                bar.update(1)
                raise ValueError("bad row 7\\nsecond line of the message")
        except ValueError:
            pass
        """,
    )
    done = run([sys.executable, str(path)], client_env(server))
    assert done.returncode == 0, done.stderr
    assert final_task(server, "blocks:raising")["meta"] == {"error": "ValueError: bad row 7"}
    assert final_task(server, "blocks:clean")["meta"] == {}


@pytest.mark.parametrize(("exit_arg", "code"), [("0", 0), ("3", 3)])
def test_the_run_task_carries_the_exit_code(server: LiveServer, tmp_path: Path, exit_arg: str, code: int) -> None:
    path = script(tmp_path, "exits.py", "import sys\nsys.exit(int(sys.argv[1]))\n")
    done = run([*CLI, "run", "--run-id", f"exits{code}", str(path), exit_arg], client_env(server))
    assert done.returncode == code
    task = final_task(server, f"exits{code}:run")
    assert (task["status"], task["meta"]["exit_code"]) == ("close" if code == 0 else "error", code)
    assert "error" not in task["meta"]


def test_a_run_killed_by_sigterm_says_so_and_one_killed_by_sigkill_goes_lost(
    start_server: Callable[..., LiveServer], tmp_path: Path
) -> None:
    server = start_server(lost_seconds=0.5)
    path = script(tmp_path, "sleeper.py", "import time\nprint('up', flush=True)\ntime.sleep(60)\n")
    env = client_env(server, PROGRESSISTA_HEARTBEAT_INTERVAL="0.1")
    jobs = {}
    for name in ("term", "kill"):
        job = subprocess.Popen([*CLI, "run", "--run-id", name, str(path)], env=env, stdout=subprocess.PIPE, text=True)
        assert job.stdout is not None and job.stdout.readline() == "up\n"
        wait_until(lambda name=name: f"{name}:run" in server.tasks(), what=f"{name}:run")
        jobs[name] = job
    jobs["term"].send_signal(signal.SIGTERM)
    jobs["kill"].kill()
    assert jobs["term"].wait(10) == -signal.SIGTERM  # dies of the signal, as without progressista
    assert jobs["kill"].wait(10) == -signal.SIGKILL
    for job in jobs.values():
        assert job.stdout is not None
        job.stdout.close()
    term = final_task(server, "term:run")
    assert term["status"] == "error"
    assert term["meta"] == {"kind": "run", "exit_code": 128 + signal.SIGTERM, "signal": "SIGTERM"}
    lost = wait_until(lambda: server.tasks()["kill:run"]["status"] == "lost" or None, what="kill:run to be lost")
    assert lost


def test_a_nested_run_posts_no_run_task_of_its_own(server: LiveServer, tmp_path: Path) -> None:
    inner = script(tmp_path, "inner.py", "from tqdm import trange\nfor _ in trange(2, task_id='outer:inner'): pass\n")
    outer = script(
        tmp_path,
        "outer.py",
        f"""
        import subprocess, sys
        subprocess.run([sys.executable, "-c", "from progressista.cli import main; main()", "run", {str(inner)!r}],
                       check=True)
        """,
    )
    done = run([*CLI, "run", "--run-id", "outer", str(outer)], client_env(server))
    assert done.returncode == 0, done.stderr
    assert final_task(server, "outer:inner")["n"] == 2
    final_task(server, "outer:run")
    assert [task_id for task_id in server.tasks() if task_id.endswith(":run")] == ["outer:run"]


def test_the_run_task_never_goes_stale(start_server: Callable[..., LiveServer], tmp_path: Path) -> None:
    """A run task has no progress of its own: heard from, it stays active while a quiet bar goes stale."""
    server = start_server(stale_seconds=0.3)
    path = script(
        tmp_path,
        "quiet.py",
        """
        import sys, time
        from tqdm import tqdm
        bar = tqdm(total=10, task_id="quiet:bar")
        print("up", flush=True)
        sys.stdin.readline()
        bar.close()
        """,
    )
    env = client_env(server, PROGRESSISTA_HEARTBEAT_INTERVAL="0.1")
    job = subprocess.Popen(
        [*CLI, "run", "--run-id", "quiet", str(path)], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert job.stdin is not None and job.stdout is not None
    try:
        assert job.stdout.readline() == "up\n"
        wait_until(lambda: server.tasks().get("quiet:bar", {}).get("status") == "stale", what="the bar to go stale")
        assert server.tasks()["quiet:run"]["status"] in ("start", "update")
    finally:
        job.stdin.close()
        assert job.wait(20) == 0
        job.stdout.close()


def test_run_path_in_process_posts_the_run_task_and_restores_the_environment(
    server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from progressista.run import run_path

    path = script(tmp_path, "quick.py", "print('hi')\n")
    before = dict(os.environ)
    assert run_path(str(path), server_url=server.url, run_id="inproc") == 0
    assert final_task(server, "inproc:run")["meta"] == {"kind": "run", "exit_code": 0}
    assert dict(os.environ) == before


def test_a_failed_run_that_imported_multiprocessing_first_ends_its_bars_in_error(
    server: LiveServer, tmp_path: Path
) -> None:
    """multiprocessing's own exit hook runs before a run's end: it must not close the bars first."""
    path = script(
        tmp_path,
        "mp_first.py",
        """
        import multiprocessing  # before the first bar: the sender is created after it
        from tqdm import tqdm
        bar = tqdm(total=5, task_id="mpfirst:bar")
        bar.update(2)
        raise RuntimeError("after multiprocessing")
        """,
    )
    done = run([*CLI, "run", "--no-run-task", str(path)], client_env(server))
    assert done.returncode == 1
    bar = final_task(server, "mpfirst:bar")
    assert (bar["status"], bar["meta"]) == ("error", {"error": "RuntimeError: after multiprocessing"})
