"""Every Python process of a run reports its plain tqdm bars into the run's group.

``progressista run`` and ``exec`` put a ``sitecustomize`` first on
``PYTHONPATH``: spawn and forkserver workers, ``ProcessPoolExecutor`` workers,
``subprocess`` and ``os.exec*`` children patch tqdm when they import it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from clientkit import CLI, client_env, final_task, run, script
from support import LiveServer

POOL = """
    import multiprocessing, sys, time
    from tqdm import tqdm

    def work(rank):
        for _ in tqdm(range(7 + rank), desc=f"worker {rank}"):  # plain tqdm, no task_id: made up under the run
            time.sleep(0.002)
        return rank

    if __name__ == "__main__":
        with multiprocessing.get_context(sys.argv[1]).Pool(3) as pool:
            print(pool.map(work, range(3)), flush=True)
    """

EXECUTOR = """
    from concurrent.futures import ProcessPoolExecutor
    from tqdm import tqdm

    def work(rank):
        for _ in tqdm(range(7 + rank), desc=f"worker {rank}"):
            pass
        return rank

    if __name__ == "__main__":
        with ProcessPoolExecutor(3) as pool:
            print(list(pool.map(work, range(3))), flush=True)
    """

SUBPROCESSES = """
    import os, subprocess, sys
    child = "from tqdm import trange\\nfor _ in trange(CHILD_N, desc='DESC'): pass"
    subprocess.run([sys.executable, "-c", child.replace("CHILD_N", "7").replace("DESC", "worker 0")], check=True)
    subprocess.run([sys.executable, "-c", child.replace("CHILD_N", "8").replace("DESC", "worker 1")], check=True)
    # python -I ignores PYTHONPATH: such a child runs as usual, it just does not report
    subprocess.run([sys.executable, "-I", "-c", child.replace("CHILD_N", "3").replace("DESC", "isolated")], check=True)
    print("[0, 1]", flush=True)
    os.execv(sys.executable, [sys.executable, "-c", child.replace("CHILD_N", "9").replace("DESC", "worker 2")])
    """


def workers(server: LiveServer, run_id: str, count: int) -> dict[str, tuple[str, int]]:
    """The bars of the run's workers, by desc, once all ``count`` are closed: (status, n)."""
    found: dict[str, tuple[str, int]] = {}
    for rank in range(count):
        match = [task for task in server.tasks().values() if task["desc"] == f"worker {rank}"]
        assert match, f"worker {rank} never reported"
        task = final_task(server, match[0]["task_id"])
        assert task["task_id"].startswith(run_id + ":")
        found[task["desc"]] = (task["status"], task["n"])
    return found


@pytest.mark.parametrize("method", ["spawn", "forkserver", "fork"])
def test_a_pool_of_workers_reports_under_every_start_method(server: LiveServer, tmp_path: Path, method: str) -> None:
    path = script(tmp_path, "pool.py", POOL)
    done = run([*CLI, "run", "--run-id", f"pool-{method}", str(path), method], client_env(server))
    assert (done.returncode, done.stdout) == (0, "[0, 1, 2]\n"), done.stderr
    assert workers(server, f"pool-{method}", 3) == {f"worker {r}": ("close", 7 + r) for r in range(3)}
    assert final_task(server, f"pool-{method}:run")["status"] == "close"


def test_a_process_pool_executor_reports(server: LiveServer, tmp_path: Path) -> None:
    path = script(tmp_path, "executor.py", EXECUTOR)
    done = run([*CLI, "run", "--run-id", "executor", str(path)], client_env(server))
    assert (done.returncode, done.stdout) == (0, "[0, 1, 2]\n"), done.stderr
    assert workers(server, "executor", 3) == {f"worker {r}": ("close", 7 + r) for r in range(3)}


def test_subprocesses_and_exec_report_and_an_isolated_child_does_not(server: LiveServer, tmp_path: Path) -> None:
    path = script(tmp_path, "children.py", SUBPROCESSES)
    done = run([*CLI, "run", "--run-id", "children", str(path)], client_env(server))
    assert (done.returncode, done.stdout) == (0, "[0, 1]\n"), done.stderr
    assert "isolated: 100%" in done.stderr  # its console bar as usual
    assert workers(server, "children", 3) == {f"worker {r}": ("close", 7 + r) for r in range(3)}
    assert not [task for task in server.tasks().values() if task["desc"] == "isolated"]


def test_without_a_run_a_spawn_worker_does_not_report(server: LiveServer, tmp_path: Path) -> None:
    """The negative control: a plain tqdm in a spawn worker of a program patched in-process only."""
    path = script(
        tmp_path,
        "inprocess.py",
        """
        import multiprocessing, sys
        import tqdm

        def work(rank):
            for _ in tqdm.tqdm(range(5), desc=f"worker {rank}"):
                pass

        if __name__ == "__main__":
            import progressista.patch
            progressista.patch.install()  # in this process only: the worker re-imports this module without it
            with tqdm.tqdm(total=1, desc="parent") as parent:
                with multiprocessing.get_context("spawn").Pool(1) as pool:
                    pool.map(work, [0])
                parent.update()
        """,
    )
    done = run([sys.executable, str(path)], client_env(server))
    assert done.returncode == 0, done.stderr
    parent = next(task for task in server.tasks().values() if task["desc"] == "parent")
    final_task(server, parent["task_id"])
    assert [task["desc"] for task in server.tasks().values()] == ["parent"]


def test_the_users_own_sitecustomize_still_runs(server: LiveServer, tmp_path: Path) -> None:
    script(tmp_path / "site", "sitecustomize.py", "import os\nos.environ['USER_SITE_RAN'] = 'yes'\n")
    path = script(
        tmp_path,
        "site_check.py",
        """
        import os, subprocess, sys
        child = "import os, sitecustomize; print(os.environ.get('USER_SITE_RAN'), sitecustomize.__file__)"
        print(subprocess.run([sys.executable, "-c", child], capture_output=True, text=True).stdout, end="")
        """,
    )
    env = client_env(server, PYTHONPATH=str(tmp_path / "site"))
    done = run([*CLI, "run", str(path)], env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["yes", str(tmp_path / "site" / "sitecustomize.py")]
