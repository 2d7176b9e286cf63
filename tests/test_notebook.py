"""Notebooks: ``%load_ext progressista`` in a real Jupyter kernel (nbclient + ipykernel).

The kernel runs the notebook's cells as a user would: the bars of
``tqdm.notebook`` and ``tqdm.auto`` keep their widget and reach the server;
after ``%unload_ext`` they no longer do. A ``sitecustomize`` that installs
the patch leaves a notebook's output as it was.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from clientkit import final_task, script
from support import LiveServer

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

WIDGET = "application/vnd.jupyter.widget-view+json"


def execute(cells: list[str], env: dict[str, str]) -> list[Any]:
    """Run ``cells`` in a fresh python3 kernel with ``env``; each cell's outputs."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in cells])
    client = nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3", allow_errors=False)
    saved = dict(os.environ)
    os.environ.update(env)  # the kernel is started with this process's environment
    try:
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return [cell.get("outputs", []) for cell in notebook.cells]


def text_of(outputs: list[Any]) -> str:
    return "".join(output.get("text", "") for output in outputs if output.get("output_type") == "stream")


def mimetypes(outputs: list[Any]) -> set[str]:
    return {kind for output in outputs for kind in output.get("data", {})}


CELLS = [
    "%load_ext progressista",
    "from tqdm.notebook import tqdm\nfor _ in tqdm(range(5), desc='nb widget'):\n    pass",
    "from tqdm.auto import tqdm as auto\nfor _ in auto(range(4), desc='nb auto'):\n    pass",
    "%unload_ext progressista",
    "for _ in auto(range(3), desc='after unload'):\n    pass",
]


def test_load_ext_reports_the_kernels_bars_and_unload_stops(server: LiveServer) -> None:
    outputs = execute(CELLS, {"PROGRESSISTA_SERVER_URL": server.url})
    assert text_of(outputs[0]) == f"progressista: tqdm bars in this kernel report to {server.url}\n"
    assert WIDGET in mimetypes(outputs[1]) and WIDGET in mimetypes(outputs[2])  # the widgets stay
    assert text_of(outputs[3]) == "progressista: tqdm bars in this kernel no longer report\n"
    tasks = {task["desc"]: task for task in server.tasks().values()}
    for desc, n in (("nb widget", 5), ("nb auto", 4)):
        task = final_task(server, tasks[desc]["task_id"])
        assert (task["status"], task["n"]) == ("close", n)
    assert "after unload" not in tasks


def test_load_ext_says_why_bars_would_not_show(start_server: Any) -> None:
    server = start_server(api_token="right")
    outputs = execute(CELLS[:1], {"PROGRESSISTA_SERVER_URL": server.url, "PROGRESSISTA_API_TOKEN": "wrong"})
    assert text_of(outputs[0]).startswith(f"progressista: {server.url} refused the token (HTTP 401)")


def test_a_sitecustomize_patch_leaves_the_notebooks_output_as_it_was(server: LiveServer, tmp_path: Path) -> None:
    cells = ["from tqdm.auto import tqdm\nfor _ in tqdm(range(3), desc='site bar'):\n    pass\nprint('done')"]
    plain = execute(cells, {"PROGRESSISTA_SERVER_URL": server.url})
    site = tmp_path / "site"
    script(site, "sitecustomize.py", "import progressista.patch\nprogressista.patch.install()\n")
    path = os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    patched = execute(cells, {"PROGRESSISTA_SERVER_URL": server.url, "PYTHONPATH": path})
    assert mimetypes(patched[0]) == mimetypes(plain[0]) and WIDGET in mimetypes(patched[0])
    assert text_of(patched[0]) == text_of(plain[0]) == "done\n"
    (task,) = [task for task in server.tasks().values() if task["desc"] == "site bar"]
    assert final_task(server, task["task_id"])["n"] == 3  # from the patched kernel only
