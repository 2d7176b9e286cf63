"""A server restart while a job runs: the job keeps going, and its task comes back whole.

The server keeps tasks in memory only, so the restarted one starts empty. A
``RemoteTqdm`` job in a subprocess reports to it; the test stops the server
(SIGTERM), lets the job advance to a gate while nothing listens, starts a new
server on the same port and opens the gate. Because every event carries the
bar's full state, the task reappears complete (description, total, meta, host,
pid), and the job ends with ``close`` and its true final count.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

from serverproc import ServerProcess
from support import wait_until

TOTAL = 600
GATE = TOTAL // 2

JOB = textwrap.dedent(
    """
    import os, sys, time
    from progressista import RemoteTqdm

    at_gate, gate = sys.argv[1], sys.argv[2]
    with RemoteTqdm(total={total}, desc="Survives restarts", unit="rows", task_id="job:restart",
                    meta={{"job": "restart-42"}}, mininterval=0, miniters=1) as bar:
        for i in range({total}):
            if i == {gate}:
                open(at_gate, "w").close()  # the server is down; wait here until it is back
                while not os.path.exists(gate):
                    time.sleep(0.005)
            time.sleep(0.002)  # the work
            bar.update(1)
    print(bar.n)
    """
).format(total=TOTAL, gate=GATE)


def test_a_running_job_survives_a_server_restart(tmp_path):
    server = ServerProcess(cleanup_interval=3600).start()
    env = {
        **server.env,
        "PROGRESSISTA_SERVER_URL": server.url,
        "PROGRESSISTA_PUSH_INTERVAL": "0.05",
        "PROGRESSISTA_REQUEST_TIMEOUT": "1",
    }
    at_gate, gate = tmp_path / "at-gate", tmp_path / "gate"
    job = subprocess.Popen(
        [sys.executable, "-c", JOB, str(at_gate), str(gate)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(
            lambda: server.tasks().get("job:restart", {}).get("n", 0) >= 50, timeout=20, what="the job to report"
        )
        seen_before = server.tasks()["job:restart"]["n"]

        server.stop()
        wait_until(at_gate.exists, timeout=20, what="the job to reach the gate with the server down")
        server.start()
        assert server.tasks() == {}, "memory store: the new server starts empty"
        gate.touch()

        def back():
            task = server.tasks().get("job:restart")
            return task if task and task["n"] > GATE else None

        task = wait_until(back, timeout=20, what="the task to come back")
        assert task["n"] > seen_before  # the job kept going
        assert (task["desc"], task["total"], task["unit"], task["meta"]) == (
            "Survives restarts",
            TOTAL,
            "rows",
            {"job": "restart-42"},
        )
        assert task["host"] and task["pid"] == job.pid and task["status"] in ("update", "close")

        out, err = job.communicate(timeout=30)
        assert job.returncode == 0, err
        assert int(out.split()[-1]) == TOTAL

        def closed():
            task = server.tasks().get("job:restart")
            return task if task and task["status"] == "close" else None

        assert wait_until(closed, timeout=10, what="the close")["n"] == TOTAL
    finally:
        if job.poll() is None:
            job.kill()
            job.wait(10)
        server.close()
