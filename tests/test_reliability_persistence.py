"""kill -9 while events stream: the storage file always parses, and the restarted server serves it.

A server subprocess saves to ``PROGRESSISTA_STORAGE_PATH`` every 0.05 s while a
thread streams batches of growing counts. The test SIGKILLs it after a random
number of acknowledged batches (seeded, so the run is repeatable), 20 times, and
after each kill checks the file as the kill left it: it parses as a snapshot
(never half a file), the server restarted on the same port serves exactly the
tasks it holds, counts never go back from one kill to the next, and temporary
files of interrupted saves do not pile up.
"""

from __future__ import annotations

import json
import random
import shutil
import threading

import pytest
import requests
from serverproc import ServerProcess
from support import wait_until

from progressista.server.store_json import JsonFile

KILLS = 20
TASKS = 2_000  # about 1 MB of JSON: saves take long enough for some kills to land in one


class Streamer(threading.Thread):
    """Posts batches (a slice of the tasks, each with a growing ``n``) until stopped; counts the acknowledged."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True, name="streamer")
        self.url = url + "/progress"
        self.acked = 0
        self.n = 0
        self.go = threading.Event()
        self.idle = threading.Event()
        self.done = threading.Event()

    def run(self) -> None:
        with requests.Session() as http:
            while not self.done.is_set():
                if not self.go.is_set():
                    self.idle.set()
                    self.go.wait(0.05)
                    continue
                self.idle.clear()
                self.n += 1
                first = (self.n * 40) % TASKS
                batch = [
                    {
                        "task_id": f"k:{(first + i) % TASKS}",
                        "status": "update",
                        "n": self.n,
                        "total": 10**6,
                        "seq": self.n,
                        "desc": f"Streaming {(first + i) % TASKS} " + "x" * 300,
                    }
                    for i in range(40)
                ]
                try:
                    if http.post(self.url, json=batch, timeout=2).ok:
                        self.acked += 1
                except requests.RequestException:  # the server is down: try again after a moment
                    self.done.wait(0.005)

    def pause(self) -> None:
        self.go.clear()
        wait_until(self.idle.is_set, what="the streamer to pause")

    def resume(self) -> None:
        self.idle.clear()
        self.go.set()


@pytest.fixture
def streamed(tmp_path):
    path = tmp_path / "data" / "state.json"
    server = ServerProcess(storage_path=path, save_interval=0.05, cleanup_interval=3600, lost_seconds=0)
    streamer = Streamer(server.url)
    streamer.start()
    try:
        yield server, streamer, path
    finally:
        streamer.done.set()
        streamer.go.set()
        streamer.join(10)
        server.close()


def test_kill_9_at_random_moments_never_loses_the_file(streamed, tmp_path):
    server, streamer, path = streamed
    rng = random.Random(20)
    folder = path.parent
    seen_n: dict[str, int] = {}
    killed_mid_save = 0
    server.start()
    for _ in range(KILLS):
        streamer.resume()
        target = streamer.acked + rng.randint(5, 150)
        wait_until(lambda t=target: streamer.acked >= t, timeout=20, what="events to stream")
        server.kill()
        streamer.pause()

        # The file exactly as the kill left it: a whole snapshot, never part of one.
        leftovers = list(folder.glob("*.tmp"))
        killed_mid_save += bool(leftovers)
        assert len(leftovers) <= 1, leftovers  # earlier ones were removed at restart
        assert path.exists(), "a save happened before the kill"  # the first acknowledged batch is saved at once
        doc = json.loads(path.read_bytes())
        assert doc["version"] == 1 and len(doc["tasks"]) <= TASKS
        copy = tmp_path / "copy" / "state.json"
        copy.parent.mkdir(exist_ok=True)
        shutil.copyfile(path, copy)
        flushed = JsonFile(copy).load()
        assert len(flushed) == len(doc["tasks"])

        # Counts only grow: what one kill kept, the next keeps or betters.
        for task_id, task in flushed.items():
            assert task["n"] >= seen_n.get(task_id, 0), task_id
            seen_n[task_id] = task["n"]

        # Restarted on the same port (the streamer's next batches go to it), before any new event.
        server.start()
        served = requests.get(server.url + "/tasks", timeout=10).json()["tasks"]
        assert served == flushed  # the last flushed state, nothing more, nothing less
        assert not list(folder.glob("*.tmp")), "the restart removes leftovers of interrupted saves"
        assert not list(folder.glob("*.corrupt-*"))

    assert server.starts == KILLS + 1
    assert len(seen_n) == TASKS  # every task made it to disk at some point
    print(
        f"\n{KILLS} kills while streaming ({streamer.acked} batches acknowledged); "
        f"{killed_mid_save} left a temporary file of an interrupted save"
    )
