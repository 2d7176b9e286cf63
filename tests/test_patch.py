from __future__ import annotations

import io
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
    """Every name a program may reach tqdm by, and tqdm's own methods, read now."""
    return {
        "tqdm.tqdm": tqdm.tqdm,
        "tqdm.trange": tqdm.trange,
        "tqdm.auto.tqdm": tqdm.auto.tqdm,
        "tqdm.autonotebook.tqdm": tqdm.autonotebook.tqdm,
        "tqdm.notebook.tqdm": tqdm.notebook.tqdm,
        "tqdm.contrib.tqdm_auto": tqdm.contrib.tqdm_auto,
        "thread_map/process_map tqdm_class": tqdm.contrib.concurrent._executor_map.__kwdefaults__["tqdm_class"],
        **{f"tqdm.std.tqdm.{name}": tqdm.std.tqdm.__dict__[name] for name in patch.HOOKED},
        "tqdm.std.tqdm.update": tqdm.std.tqdm.__dict__["update"],
        "tqdm.std.tqdm.__iter__": tqdm.std.tqdm.__dict__["__iter__"],
    }


@pytest.fixture
def originals() -> Iterator[dict[str, Any]]:
    before = places()
    yield before
    patch.uninstall()
    assert all(places()[name] is value for name, value in before.items())


def test_install_hooks_tqdms_own_methods_and_swaps_no_name(originals: dict[str, Any]) -> None:
    patch.install()
    now = places()
    for name in patch.HOOKED:
        hook = now[f"tqdm.std.tqdm.{name}"]
        assert hook is not originals[f"tqdm.std.tqdm.{name}"] and hasattr(hook, "__wrapped__")
    changed = {name for name, value in now.items() if value is not originals[name]}
    assert changed == {f"tqdm.std.tqdm.{name}" for name in patch.HOOKED}  # the hot path and every name stay
    assert tqdm.tqdm is tqdm.std.tqdm  # isinstance, pickling: untouched
    assert patch.installed()


def test_uninstall_restores_the_originals_exactly(originals: dict[str, Any]) -> None:
    patch.install(server_url="http://127.0.0.1:1")
    patch.uninstall()
    assert all(places()[name] is value for name, value in originals.items())
    assert not any(hasattr(tqdm.std.tqdm, name) for name in ("task_id", "set_meta", "detach"))  # the extras go too
    assert not patch.installed()
    patch.uninstall()  # harmless when not installed


def test_installing_twice_only_replaces_the_options(server: LiveServer, originals: dict[str, Any]) -> None:
    patch.install(server_url="http://127.0.0.1:1", meta={"first": True})
    hooks = places()
    patch.install(server_url=server.url, meta={"second": True})
    assert places() == hooks
    with tqdm.tqdm(total=1, task_id="twice:bar", file=io.StringIO()) as bar:
        bar.update()
    assert final_task(server, "twice:bar")["meta"] == {"second": True}
    patch.uninstall()
    assert tqdm.std.tqdm.__dict__["__init__"] is originals["tqdm.std.tqdm.__init__"]


def test_unknown_options_are_refused(originals: dict[str, Any]) -> None:
    with pytest.raises(TypeError, match="task_id"):
        patch.install(task_id="one id for every bar")
    assert not patch.installed()


def test_remote_bars_report_once_under_the_patch(server: LiveServer, originals: dict[str, Any]) -> None:
    patch.install(server_url=server.url)
    posted: list[dict[str, Any]] = []

    class Counted(RemoteTqdm[Any]):
        @classmethod
        def _post(cls, session: Any, url: str, payload: list[dict[str, Any]], headers: Any, timeout: float) -> Any:
            posted.extend(payload)
            return super()._post(session, url, payload, headers, timeout)

    with Counted(total=2, task_id="once:remote", server_url=server.url, file=io.StringIO(), mininterval=0) as bar:
        bar.update(2)
    final_task(server, "once:remote")
    from progressista import sender

    sender.flush()
    seqs = [event["seq"] for event in posted if event["task_id"] == "once:remote"]
    assert seqs == sorted(set(seqs))  # one event per report: no second reporter beside RemoteTqdm's own


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


MONITOR_MASK = """
    import signal, sys, threading, time
    if "--install" in sys.argv:
        import progressista.patch
        progressista.patch.install(server_url="http://127.0.0.1:1")
    from tqdm import tqdm
    bar = tqdm(total=2, mininterval=0)  # tqdm starts its monitor thread here
    monitor = next(thread for thread in threading.enumerate() if thread.name == "tqdm_monitor")
    with open(f"/proc/self/task/{monitor.native_id}/status") as status:
        blocked = int(next(line for line in status if line.startswith("SigBlk")).split()[1], 16)
    print(bool(blocked & (1 << (signal.SIGTERM - 1))))
    bar.close()
    """


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the thread's mask from /proc")
def test_tqdms_monitor_thread_leaves_the_programs_signals_to_it_under_the_patch(tmp_path: Path) -> None:
    """A SIGTERM taken by tqdm's monitor thread would never run the handler while the main thread sleeps."""
    path = script(tmp_path, "monitor.py", MONITOR_MASK)
    env = client_env(None, PROGRESSISTA_QUIET="1")
    patched = run([sys.executable, str(path), "--install"], env)
    plain = run([sys.executable, str(path)], env)  # the negative control: tqdm's own monitor takes signals
    assert (patched.stdout, plain.stdout) == ("True\n", "False\n"), patched.stderr + plain.stderr
