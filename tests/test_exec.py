"""``progressista exec -- CMD``: any program as one run, its Python processes reporting, its exit code returned."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from clientkit import CLI, client_env, final_task, run, script
from support import LiveServer, wait_until

CHILD = """
    from tqdm import trange
    for _ in trange(9, desc="child bar"):
        pass
    """


def test_a_shell_script_runs_its_python_child_reports_and_the_exit_code_passes_through(
    server: LiveServer, tmp_path: Path
) -> None:
    child = script(tmp_path, "child.py", CHILD)
    command = f"python3 {child}; echo done; exit 3"
    done = run([*CLI, "exec", "--run-id", "shell", "--", "sh", "-c", command], client_env(server))
    assert done.returncode == 3
    assert done.stdout == "done\n"  # the program's own output, untouched
    assert "child bar: 100%" in done.stderr  # and its console bar
    bar = next(task for task in server.tasks().values() if task["desc"] == "child bar")
    assert bar["task_id"].startswith("shell:")
    assert (final_task(server, bar["task_id"])["n"], bar["pid"] != 0) == (9, True)
    task = final_task(server, "shell:run")
    assert task["status"] == "error" and task["desc"] == f"sh -c '{command}'"
    assert task["meta"] == {"kind": "run", "exit_code": 3}


def test_stdin_is_the_programs_and_success_closes_the_run_task(server: LiveServer, tmp_path: Path) -> None:
    done = subprocess.run(
        [*CLI, "exec", "--run-id", "cat", "--", "cat"],
        input="through\n",
        capture_output=True,
        text=True,
        env=client_env(server),
        timeout=60,
    )
    assert (done.returncode, done.stdout) == (0, "through\n")
    assert final_task(server, "cat:run")["meta"] == {"kind": "run", "exit_code": 0}


def test_signals_are_passed_on_and_exec_dies_of_the_same(server: LiveServer, tmp_path: Path) -> None:
    trap = script(
        tmp_path,
        "trap.py",
        """
        import signal, sys, time
        def on_term(signum, frame):
            print("child got SIGTERM", flush=True)
            sys.exit(7)
        signal.signal(signal.SIGTERM, on_term)
        print("ready", flush=True)
        time.sleep(60)
        """,
    )
    job = subprocess.Popen(
        [*CLI, "exec", "--run-id", "trap", "--", "python3", str(trap)],
        env=client_env(server),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert job.stdout is not None
    assert job.stdout.readline() == "ready\n"
    job.send_signal(signal.SIGTERM)
    assert job.wait(20) == 7  # the child handled it and chose its exit code
    assert job.stdout.read() == "child got SIGTERM\n"
    job.stdout.close()
    assert final_task(server, "trap:run")["meta"]["exit_code"] == 7


def test_a_child_killed_by_a_signal_is_told_and_exec_dies_of_it(server: LiveServer) -> None:
    job = subprocess.Popen(
        [*CLI, "exec", "--run-id", "sleeper", "--", "sleep", "60"], env=client_env(server), stdout=subprocess.PIPE
    )
    wait_until(lambda: "sleeper:run" in server.tasks(), what="the run task")
    started = time.monotonic()
    job.send_signal(signal.SIGTERM)  # passed on: sleep dies of it, so does exec
    assert job.wait(20) == -signal.SIGTERM
    assert time.monotonic() - started < 15
    assert job.stdout is not None
    job.stdout.close()
    task = final_task(server, "sleeper:run")
    assert task["status"] == "error"
    assert task["meta"] == {"kind": "run", "exit_code": 128 + signal.SIGTERM, "signal": "SIGTERM"}


def test_a_command_that_cannot_start_is_a_one_line_error(server: LiveServer, tmp_path: Path) -> None:
    missing = run([*CLI, "exec", "--run-id", "nope", "--", "no-such-command-here"], client_env(server))
    assert (missing.returncode, missing.stderr) == (127, "Error: command not found: no-such-command-here\n")
    task = final_task(server, "nope:run")
    assert task["meta"]["exit_code"] == 127 and task["meta"]["error"].startswith("FileNotFoundError")
    plain = tmp_path / "plain.txt"
    plain.write_text("not a program")
    denied = run([*CLI, "exec", "--no-run-task", "--", str(plain)], client_env(server))
    assert (denied.returncode, denied.stderr) == (126, f"Error: cannot run: {plain}\n")
    nothing = run([*CLI, "exec"], client_env(server))
    assert nothing.returncode == 2 and "give a command" in nothing.stderr
    assert "Traceback" not in missing.stderr + denied.stderr + nothing.stderr
