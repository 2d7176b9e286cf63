"""A late ``install()`` reaches every tqdm bar: subclasses and names made before it, asyncio, libraries.

Each program imports what it uses first and only then installs the patch, as
a notebook cell, an Airflow task or a plugin hook would; the server must hold
each bar with its true final state. The same programs without ``install()`` are
the negative control: nothing reaches the server.
"""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

import pytest
from clientkit import CLI, client_env, final_task, run, script
from support import LiveServer

PRELUDE = """
    import asyncio, io, sys
    import tqdm.asyncio as tqdm_asyncio
    from tqdm import tqdm                 # bound before install()
    from tqdm.auto import tqdm as auto    # bound before install()
    from tqdm.auto import trange

    class MyBar(tqdm):                    # a subclass made before install()
        pass

    if "--install" in sys.argv:
        import progressista.patch
        progressista.patch.install()
    """

PROGRAMS = {
    "bound": ("for _ in tqdm(range(7), desc='bound'): pass", ("bound", 7, 7)),
    "auto": ("for _ in auto(range(6), desc='auto'): pass", ("auto", 6, 6)),
    "subclass": ("for _ in MyBar(range(5), desc='subclass'): pass", ("subclass", 5, 5)),
    "trange": ("for _ in trange(4, desc='trange'): pass", ("trange", 4, 4)),
    "n-refresh": (
        """
        bar = tqdm(total=50, desc="n-refresh")
        for value in range(0, 51, 10):
            bar.n = value
            bar.refresh()
        bar.close()
        """,
        ("n-refresh", 50, 50),
    ),
    "reset": (
        """
        bar = tqdm(total=3, desc="reset")
        bar.update(3)
        bar.reset(total=9)
        bar.update(9)
        bar.close()
        """,
        ("reset", 9, 9),
    ),
    "disable-none": (  # tqdm: "hide on a non-TTY"; here stderr is a pipe: no drawing, but reporting
        "for _ in tqdm(range(3), desc='disable-none', disable=None): pass",
        ("disable-none", 3, 3),
    ),
    "tqdm.rich": (
        """
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tqdm.rich is "experimental"
            from tqdm.rich import tqdm as rich_tqdm
            for _ in rich_tqdm(range(6), desc="tqdm.rich"):
                pass
        """,
        ("tqdm.rich", 6, 6),
    ),
    "asyncio-for": (
        """
        async def main():
            async for _ in tqdm_asyncio.tqdm(range(8), desc="asyncio-for"):
                await asyncio.sleep(0)
        asyncio.run(main())
        """,
        ("asyncio-for", 8, 8),
    ),
    "asyncio-gather": (
        """
        async def one(i):
            await asyncio.sleep(0.001 * i)
            return i
        async def main():
            return await tqdm_asyncio.tqdm.gather(*(one(i) for i in range(6)), desc="asyncio-gather")
        assert asyncio.run(main()) == list(range(6))
        """,
        ("asyncio-gather", 6, 6),
    ),
    "asyncio-as-completed": (
        """
        async def one(i):
            await asyncio.sleep(0.001 * i)
        async def main():
            for future in tqdm_asyncio.tqdm.as_completed([one(i) for i in range(5)], desc="asyncio-as-completed"):
                await future
        asyncio.run(main())
        """,
        ("asyncio-as-completed", 5, 5),
    ),
}


def program(tmp_path: Path, *bodies: str) -> Path:
    return script(tmp_path, "late.py", "".join(textwrap.dedent(part) + "\n" for part in (PRELUDE, *bodies)))


def by_desc(server: LiveServer, desc: str) -> dict[str, object]:
    found = [task for task in server.tasks().values() if task["desc"] == desc]
    assert len(found) == 1, f"{desc!r}: {len(found)} tasks on the server"
    return final_task(server, str(found[0]["task_id"]))


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_a_late_install_reaches_the_bar(server: LiveServer, tmp_path: Path, name: str) -> None:
    body, (desc, n, total) = PROGRAMS[name]
    path = program(tmp_path, body)
    done = run([sys.executable, str(path), "--install"], client_env(server))
    assert done.returncode == 0, done.stderr
    task = by_desc(server, desc)
    assert (task["status"], task["n"], task["total"]) == ("close", n, total)


def test_without_install_nothing_reports(server: LiveServer, tmp_path: Path) -> None:
    path = program(tmp_path, *(body for body, _ in PROGRAMS.values()))
    done = run([sys.executable, str(path)], client_env(server))
    assert done.returncode == 0, done.stderr
    assert server.tasks() == {}


def test_every_program_under_run(server: LiveServer, tmp_path: Path) -> None:
    path = program(tmp_path, *(body for body, _ in PROGRAMS.values()))
    done = run([*CLI, "run", "--no-run-task", str(path)], client_env(server))
    assert done.returncode == 0, done.stderr
    for _, (desc, n, total) in PROGRAMS.values():
        task = by_desc(server, desc)
        assert (task["status"], task["n"], task["total"]) == ("close", n, total), desc


def test_the_console_output_is_the_same_under_the_patch(server: LiveServer, tmp_path: Path) -> None:
    bodies = [body for name, (body, _) in PROGRAMS.items() if not name.startswith("asyncio")]
    path = program(tmp_path, *bodies)
    env = client_env(server)
    plain = run([sys.executable, str(path)], env)
    patched = run([sys.executable, str(path), "--install"], env)
    assert console(patched.stderr) == console(plain.stderr)
    assert patched.stdout == plain.stdout


def console(stderr: str) -> tuple[dict[str, str], list[str]]:
    """What tqdm wrote, less what timing decides: each bar's last drawing, and every other line.

    How many drawings a bar makes, its times and its rates depend on the machine's speed.
    """
    timing = re.compile(r"\[[^\]]*\]")
    last: dict[str, str] = {}
    other: list[str] = []
    for line in re.split(r"[\r\n]+", stderr):
        line = " ".join(timing.sub("", line).split())
        if "%|" in line:
            last[line.split(":", 1)[0]] = line
        elif line:
            other.append(line)
    return last, other


HUB = """
    import sys
    from huggingface_hub.utils import tqdm as hub_tqdm   # huggingface_hub's own subclass, made at import
    import datasets
    if "--install" in sys.argv:
        import progressista.patch
        progressista.patch.install()
    with hub_tqdm(total=4, desc="hub bar") as bar:
        bar.update(4)
    table = datasets.Dataset.from_dict({"x": list(range(300))})
    doubled = table.map(lambda row: {"y": row["x"] * 2}, desc="doubling")
    assert doubled[299]["y"] == 598
    """


@pytest.mark.parametrize("how", ["late-install", "run"])
def test_huggingface_hub_and_datasets_bars_report(server: LiveServer, tmp_path: Path, how: str) -> None:
    pytest.importorskip("datasets")
    path = script(tmp_path, "hub.py", HUB)
    env = client_env(server, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", HF_HOME=str(tmp_path / "hf"))
    argv = [sys.executable, str(path), "--install"] if how == "late-install" else [*CLI, "run", str(path)]
    done = run(argv, env, timeout=120)
    assert done.returncode == 0, done.stderr
    hub = by_desc(server, "hub bar")
    assert (hub["status"], hub["n"], hub["total"]) == ("close", 4, 4)
    mapped = by_desc(server, "doubling")
    assert (mapped["status"], mapped["n"], mapped["total"]) == ("close", 300, 300)
