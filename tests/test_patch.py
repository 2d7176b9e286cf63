from __future__ import annotations

import io
import pickle
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tqdm
import tqdm.auto
import tqdm.autonotebook
import tqdm.contrib
import tqdm.contrib.concurrent
import tqdm.std
from clientkit import client_env, final_task, run, script
from support import LiveServer

from progressista import patch
from progressista.client import RemoteTqdm

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import tqdm.notebook  # importable without ipywidgets: patched when already imported


def places() -> dict[str, Any]:
    """Every name install() may replace, read now."""
    return {
        "tqdm.tqdm": tqdm.tqdm,
        "tqdm.trange": tqdm.trange,
        "tqdm.std.tqdm": tqdm.std.tqdm,
        "tqdm.std.trange": tqdm.std.trange,
        "tqdm.auto.tqdm": tqdm.auto.tqdm,
        "tqdm.auto.trange": tqdm.auto.trange,
        "tqdm.autonotebook.tqdm": tqdm.autonotebook.tqdm,
        "tqdm.autonotebook.trange": tqdm.autonotebook.trange,
        "tqdm.notebook.tqdm": tqdm.notebook.tqdm,
        "tqdm.notebook.trange": tqdm.notebook.trange,
        "tqdm.notebook.tqdm_notebook": tqdm.notebook.tqdm_notebook,
        "tqdm.notebook.tnrange": tqdm.notebook.tnrange,
        "tqdm.contrib.tqdm_auto": tqdm.contrib.tqdm_auto,
        "tqdm.contrib.tenumerate defaults": tqdm.contrib.tenumerate.__defaults__,
        "tqdm.contrib.concurrent.tqdm_auto": tqdm.contrib.concurrent.tqdm_auto,
        "thread_map/process_map tqdm_class": tqdm.contrib.concurrent._executor_map.__kwdefaults__["tqdm_class"],
    }


@pytest.fixture
def originals() -> Iterator[dict[str, Any]]:
    before = places()
    yield before
    patch.uninstall()
    assert all(places()[name] is value for name, value in before.items())


def test_install_replaces_every_entry_point(originals: dict[str, Any]) -> None:
    patch.install()
    now = places()
    for name in ("tqdm.tqdm", "tqdm.std.tqdm", "tqdm.autonotebook.tqdm"):
        assert now[name] is patch.PatchedTqdm
    assert now["tqdm.auto.tqdm"] is patch.PatchedAutoTqdm
    assert now["tqdm.contrib.tqdm_auto"] is now["tqdm.contrib.concurrent.tqdm_auto"] is patch.PatchedAutoTqdm
    assert now["thread_map/process_map tqdm_class"] is patch.PatchedAutoTqdm
    assert now["tqdm.contrib.tenumerate defaults"][-1] is patch.PatchedAutoTqdm
    assert now["tqdm.notebook.tqdm"] is now["tqdm.notebook.tqdm_notebook"] is patch.PatchedNotebookTqdm
    for name, value in now.items():
        if name.endswith(".tqdm") or name.endswith("tqdm_notebook"):
            assert issubclass(value, RemoteTqdm) and issubclass(value, originals[name]), name
        elif name.endswith("range"):
            assert value is not originals[name], name
    # Remote reporting comes first in the MRO, then the replaced class's own behaviour.
    mro = patch.PatchedNotebookTqdm.__mro__
    assert mro.index(RemoteTqdm) < mro.index(originals["tqdm.notebook.tqdm"])
    assert patch.installed()


def test_uninstall_restores_the_originals_exactly(originals: dict[str, Any]) -> None:
    patch.install(server_url="http://127.0.0.1:1")
    patch.uninstall()
    assert places() == originals
    assert all(places()[name] is value for name, value in originals.items())
    assert patch.PatchedTqdm._remote_defaults == {}
    assert not patch.installed()
    patch.uninstall()  # harmless when not installed


def test_installing_twice_is_harmless(originals: dict[str, Any]) -> None:
    patch.install(push_every=1)
    patch.install(push_every=2)
    assert tqdm.tqdm is patch.PatchedTqdm and tqdm.auto.tqdm is patch.PatchedAutoTqdm
    assert patch.PatchedTqdm._remote_defaults == {"push_every": 2}
    patch.uninstall()
    assert tqdm.tqdm is originals["tqdm.tqdm"]


def test_unknown_options_are_refused(originals: dict[str, Any]) -> None:
    with pytest.raises(TypeError, match="task_id"):
        patch.install(task_id="one id for every bar")
    assert not patch.installed()


def test_the_patched_classes_pickle_by_name(originals: dict[str, Any]) -> None:
    # process_map's workers get the class through pickle (its initializer is tqdm_class.set_lock):
    # each must be found again by its module and qualified name.
    patch.install()
    classes = [patch.PatchedTqdm, patch.PatchedAutoTqdm, patch.PatchedNotebookTqdm, RemoteTqdm]
    for cls in classes:
        assert pickle.loads(pickle.dumps(cls)) is cls
        assert pickle.loads(pickle.dumps(cls.set_lock)) == cls.set_lock
    assert [f"{cls.__module__}.{cls.__qualname__}" for cls in classes[:3]] == [
        "progressista.patch.PatchedTqdm",
        "progressista.patch.PatchedAutoTqdm",
        "progressista.patch.PatchedNotebookTqdm",
    ]
    # Names pickled before the client became a package still load.
    for module, name in (("progressista.client", "RemoteTqdm"), ("progressista.patch", "PatchedTqdm")):
        assert pickle.loads(f"c{module}\n{name}\n.".encode()) is getattr(sys.modules[module], name)


def test_patched_tqdm_reports_with_the_install_options(server: LiveServer, originals: dict[str, Any]) -> None:
    patch.install(server_url=server.url, meta={"via": "patch"})
    from tqdm import tqdm as plain
    from tqdm.auto import trange
    from tqdm.contrib import tenumerate
    from tqdm.contrib.concurrent import thread_map

    for _ in plain(range(5), task_id="patched:std", file=io.StringIO()):
        pass
    for _ in trange(4, task_id="patched:auto", file=io.StringIO()):
        pass
    for _ in tenumerate("abc", task_id="patched:tenumerate", file=io.StringIO()):
        pass
    assert thread_map(abs, range(-10, 0), task_id="patched:thread_map", file=io.StringIO()) == list(range(10, 0, -1))
    expected = {"patched:std": 5, "patched:auto": 4, "patched:tenumerate": 3, "patched:thread_map": 10}
    for task_id, n in expected.items():
        task = final_task(server, task_id)
        assert (task["n"], task["meta"]) == (n, {"via": "patch"})


def test_process_map_reports(server: LiveServer, tmp_path: Path) -> None:
    path = script(
        tmp_path,
        "pmap.py",
        """
        from progressista.patch import install

        def square(x):
            return x * x

        if __name__ == "__main__":
            install()
            from tqdm.contrib.concurrent import process_map
            print(sum(process_map(square, range(20), max_workers=2, chunksize=1, task_id="patched:process_map")))
        """,
    )
    done = run([sys.executable, str(path)], env=client_env(server), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(sum(x * x for x in range(20)))
    assert final_task(server, "patched:process_map")["n"] == 20
