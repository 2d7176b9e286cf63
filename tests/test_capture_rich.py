"""``rich.progress`` under the capture: real rich, real programs, a live server."""

from __future__ import annotations

from pathlib import Path

import pytest
import rich.progress
from capture_support import (
    REPORTING,
    changed_names,
    checked_program,
    class_attributes,
    final_tasks,
    installed_in_process,
    run_program,
    summary,
)
from support import LiveServer

from progressista import capture

TRACK = """
    from rich.console import Console
    from rich.progress import track

    total = 0
    for i in track(range(40), description="[bold]Tracking[/bold] rows", console=Console(width=80)):
        total += i
    print("sum", total)
    """

PROGRESS = """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    console = Console(width=80)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console, disable=True) as quiet:
        quiet.advance(quiet.add_task("Disabled", total=3), 3)
    try:
        with Progress(*columns, console=console) as progress:
            removed = progress.add_task("Removed", total=10)
            failing = progress.add_task("[red]Failing[/red]", total=None)
            progress.advance(removed, 4)
            progress.remove_task(removed)
            for _ in range(7):
                progress.update(failing, advance=1)
            raise RuntimeError("boom at 7")
    except RuntimeError as exc:
        print("caught", exc)
    with Progress(*columns, console=console) as progress:
        done = progress.add_task("Finished", total=5)
        while not progress.finished:
            progress.advance(done)
        progress.add_task("Unfinished", total=8, completed=3)
        again = progress.add_task("Reset", total=2)
        progress.advance(again, 2)
        progress.reset(again, total=4)
        progress.update(again, completed=1)
    """


@pytest.mark.parametrize("how", REPORTING)
def test_track_reports_its_task(server: LiveServer, tmp_path: Path, how: str) -> None:
    tasks = checked_program(server, tmp_path, TRACK, how, "Tracking rows")  # markup stripped
    assert summary(tasks["Tracking rows"]) == (40, 40, "close", None)


@pytest.mark.parametrize("how", REPORTING)
def test_every_task_of_a_progress_reports(server: LiveServer, tmp_path: Path, how: str) -> None:
    tasks = checked_program(server, tmp_path, PROGRESS, how, "Removed", "Failing", "Finished", "Unfinished", "Reset")
    assert summary(tasks["Removed"]) == (4, 10, "close", None)  # remove_task() closes it where it was
    assert summary(tasks["Failing"]) == (7, None, "error", "RuntimeError: boom at 7")  # indeterminate, then raised
    assert summary(tasks["Finished"]) == (5, 5, "close", None)
    assert summary(tasks["Unfinished"]) == (3, 8, "close", None)  # stop() closes what is left
    assert summary(tasks["Reset"]) == (1, 4, "close", None)  # finished, reset: reopened under the same id
    assert "Disabled" not in {task["desc"] for task in server.tasks().values()}  # disable=True: as tqdm's


@pytest.mark.parametrize("imported", ["before", "after"])
def test_rich_imported_before_or_after_install(server: LiveServer, tmp_path: Path, imported: str) -> None:
    code = """
        import sys
        import progressista.capture
        if IMPORT_FIRST:
            import rich.progress
        progressista.capture.install({})
        assert ("rich.progress" in sys.modules) == IMPORT_FIRST, "the capture imports no library itself"
        from rich.progress import Progress
        assert hasattr(Progress.add_task, "__wrapped__")
        with Progress() as progress:
            progress.update(progress.add_task("Lazy", total=3), completed=3)
        """
    run_program(server, tmp_path, code.replace("IMPORT_FIRST", str(imported == "before")), "none")
    assert summary(final_tasks(server, "Lazy")["Lazy"]) == (3, 3, "close", None)


@pytest.mark.parametrize("skipped", [True, False], ids=["as-is", "control"])
def test_a_tqdm_rich_bar_reports_once(server: LiveServer, tmp_path: Path, skipped: bool) -> None:
    """tqdm.rich draws each bar as a rich task: the patch reports the bar, the rich task is skipped."""
    code = """
        import sys, warnings
        warnings.simplefilter("ignore")  # tqdm.rich is experimental, and says so
        from tqdm.rich import trange
        if not SKIPPED:  # the control: without the skip, the bar would report twice
            sys.modules["progressista.capture.rich"].REPORTED_ELSEWHERE = frozenset()
        for _ in trange(6, desc="Rich tqdm"):
            pass
        """
    run_program(server, tmp_path, code.replace("SKIPPED", str(skipped)), "patch")
    final_tasks(server, "Rich tqdm")
    tasks = [summary(task) for task in server.tasks().values()]
    assert tasks == [(6, 6, "close", None)] * (1 if skipped else 2)


def test_uninstall_restores_every_method_exactly() -> None:
    progress = rich.progress.Progress
    before = class_attributes(progress)
    with installed_in_process():
        assert capture.installed()
        assert changed_names(before, progress) == {
            (progress, name) for name in ("add_task", "update", "advance", "reset", "remove_task", "stop", "__exit__")
        }
        capture.install({})  # again: only the options change
    assert not capture.installed()
    assert changed_names(before, progress) == set()
    capture.uninstall()  # harmless when not installed
