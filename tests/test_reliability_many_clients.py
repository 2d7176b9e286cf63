"""200 clients' worth of bars at once, and no final state lost.

Four job processes, each running 50 ``RemoteTqdm`` bars in 50 threads at the
same time (a process's bars share its one sender thread), against a server
subprocess. Bars have different lengths, postfixes and paces. When the
processes have exited, every one of the 200 tasks must be ``close`` with its
true final count and postfix.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

from serverproc import ServerProcess
from support import wait_until

PROCESSES, THREADS = 4, 50

JOB = textwrap.dedent(
    """
    import sys, threading, time
    from progressista import RemoteTqdm

    proc = int(sys.argv[1])
    start = threading.Barrier({threads})

    def bar(thread):
        total = 300 + (proc * {threads} + thread) * 7 % 900
        start.wait()  # all bars of the process run at once
        with RemoteTqdm(total=total, desc=f"p{{proc}} t{{thread}}", task_id=f"many:{{proc}}:{{thread}}",
                        mininterval=0.02) as b:
            for i in range(total):
                if i % 10 == 0:
                    time.sleep(0.005)  # the work
                if i % 100 == 0:
                    b.set_postfix(step=i, refresh=False)
                b.update(1)
            b.set_postfix(step="done")

    threads = [threading.Thread(target=bar, args=(t,)) for t in range({threads})]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    """
).format(threads=THREADS)


def expected_total(proc: int, thread: int) -> int:
    return 300 + (proc * THREADS + thread) * 7 % 900


def test_200_concurrent_bars_all_end_closed_with_their_true_count():
    with ServerProcess(cleanup_interval=3600) as server:
        env = {
            **server.env,
            "PROGRESSISTA_SERVER_URL": server.url,
            "PROGRESSISTA_PUSH_INTERVAL": "0.1",
            "PROGRESSISTA_REQUEST_TIMEOUT": "5",
        }
        jobs = [
            subprocess.Popen(
                [sys.executable, "-c", JOB, str(p)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for p in range(PROCESSES)
        ]
        try:
            for job in jobs:
                _, err = job.communicate(timeout=90)
                assert job.returncode == 0, err
        finally:
            for job in jobs:
                if job.poll() is None:
                    job.kill()
                    job.wait(10)

        # Each process flushed its sender at exit: the final states are in.
        def all_closed():
            tasks = server.tasks()
            return (
                tasks
                if len(tasks) == PROCESSES * THREADS and all(t["status"] == "close" for t in tasks.values())
                else None
            )

        tasks = wait_until(all_closed, timeout=10, what="every task closed")
        wrong = {
            task_id: (task["n"], task["total"], task["postfix"])
            for task_id, task in tasks.items()
            if (task["n"], task["total"], task["postfix"])
            != (expected_total(*map(int, task_id.split(":")[1:])),) * 2 + ("step=done",)
        }
        assert not wrong, wrong
        pids = {task["pid"] for task in tasks.values()}
        assert pids == {job.pid for job in jobs}
        accepted = [
            line
            for line in server.http_get("/metrics").splitlines()
            if line.startswith("progressista_events_accepted_total ")
        ]
        print(f"\n{PROCESSES * THREADS} bars in {PROCESSES} processes: all closed with their true count; {accepted}")
