"""The ids bars and runs make up: short, readable, and unique across bars, processes and forks."""

from __future__ import annotations

import multiprocessing
import re
import subprocess
import sys

import pytest

from progressista.client.event import HOST, new_task_id
from progressista.config import new_run_id
from progressista.protocol.history import task_key

BAR_ID = re.compile(rf"^{re.escape(HOST)}-[0-9a-z]{{4,}}-\d+$")
RUN_ID = re.compile(r"^train-\d{4}-\d{4}-[0-9a-f]{4}$")


def test_a_bar_id_is_host_process_and_number():
    first, second = new_task_id(None), new_task_id(None)
    assert BAR_ID.match(first) and BAR_ID.match(second), (first, second)
    assert first != second and first.rsplit("-", 1)[0] == second.rsplit("-", 1)[0]  # one process, two bars
    assert len(first) <= len(HOST) + 14


def test_a_run_id_is_short_and_its_bars_form_its_group():
    run_id = new_run_id("train.py")
    assert RUN_ID.match(run_id), run_id
    bar = new_task_id(run_id)
    assert bar.startswith(run_id + ":") and BAR_ID.match(bar.partition(":")[2])
    assert len(bar) <= len(HOST) + 35  # the old format was ~57 characters on a short hostname
    assert task_key(f"{run_id}:rank-0", None) == "train:rank-0"  # history still finds the run's name


def _ids_in_a_child(queue) -> None:
    queue.put([new_task_id(None) for _ in range(3)])


@pytest.mark.skipif(sys.platform == "win32", reason="fork")
def test_a_forked_child_makes_ids_of_its_own():
    """The process part is drawn again after a fork: the child's ids never repeat the parent's."""
    parent = {new_task_id(None) for _ in range(3)}
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_ids_in_a_child, args=(queue,))
    child.start()
    ids = queue.get(timeout=30)
    child.join(30)
    assert len(set(ids)) == 3 and not set(ids) & parent
    assert ids[0].rsplit("-", 1)[0] != next(iter(parent)).rsplit("-", 1)[0]


def test_separate_processes_make_separate_ids():
    code = "from progressista.client.event import new_task_id; print(new_task_id(None))"
    ids = [
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60).stdout
        for _ in range(4)
    ]
    assert len(set(ids)) == 4 and all(BAR_ID.match(i.strip()) for i in ids), ids
