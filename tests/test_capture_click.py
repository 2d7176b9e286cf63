"""``click.progressbar`` and ``typer.progressbar`` under the capture: real libraries, real programs, a live server."""

from __future__ import annotations

import importlib
from pathlib import Path

import click._termui_impl
import pytest
from capture_support import REPORTING, changed_names, checked_program, class_attributes, installed_in_process, summary
from support import LiveServer

CLICK = """
    import io
    import click

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    with click.progressbar(range(12), label="Clicking") as bar:
        for item in bar:
            pass
    with click.progressbar(length=100, label="Manual") as bar:
        bar.update(30)
        bar.update(20)
    drawn = Terminal()
    with click.progressbar(range(10), label="Drawn", file=drawn, update_min_steps=3) as bar:
        for item in bar:  # on a terminal click counts too (update(1) after each item): no step twice
            pass
    assert drawn.getvalue()
    try:
        with click.progressbar(range(10), label="Failing") as bar:
            for item in bar:
                if item == 6:
                    raise ValueError("bad item 6")
    except ValueError as exc:
        print("caught", exc)
    with click.progressbar(range(3), label="Hidden", hidden=True) as bar:
        for item in bar:
            pass
    """

TYPER = """
    import typer

    with typer.progressbar(range(7), label="Typering") as progress:
        for item in progress:
            pass
    with typer.progressbar(length=20, label="Typer manual") as progress:
        progress.update(15)
    """


@pytest.mark.parametrize("how", REPORTING)
def test_click_progressbars_report(server: LiveServer, tmp_path: Path, how: str) -> None:
    tasks = checked_program(server, tmp_path, CLICK, how, "Clicking", "Manual", "Drawn", "Failing")
    assert summary(tasks["Clicking"]) == (12, 12, "close", None)  # off a terminal, where click's pos stays 0
    assert summary(tasks["Manual"]) == (50, 100, "close", None)
    assert summary(tasks["Drawn"]) == (10, 10, "close", None)
    assert summary(tasks["Failing"]) == (6, 10, "error", "ValueError: bad item 6")  # items 0-5 were done
    assert "Hidden" not in {task["desc"] for task in server.tasks().values()}  # hidden=True: as disable=True


@pytest.mark.parametrize("how", REPORTING)
def test_typer_progressbars_report(server: LiveServer, tmp_path: Path, how: str) -> None:
    tasks = checked_program(server, tmp_path, TYPER, how, "Typering", "Typer manual")
    assert summary(tasks["Typering"]) == (7, 7, "close", None)
    assert summary(tasks["Typer manual"]) == (15, 20, "close", None)


def test_uninstall_restores_every_method_exactly() -> None:
    classes = [click._termui_impl.ProgressBar]
    try:  # typer 0.24+ has a copy of click of its own; older ones hand out click's bar
        classes.append(importlib.import_module("typer._click._termui_impl").ProgressBar)
    except ImportError:
        pass
    before = class_attributes(*classes)
    with installed_in_process():
        expected = {(cls, name) for cls in classes for name in ("__enter__", "update", "generator", "__exit__")}
        assert changed_names(before, *classes) == expected
    assert changed_names(before, *classes) == set()
