"""The CLI and the shared board and cards load without Textual or websockets; only `watch` needs them."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

TUI_ONLY = ("textual", "websockets")

PROBE = """
import json, sys
args = sys.argv[1:]
if args and args[0] == "import":
    for name in args[1:]:
        __import__(name)
else:
    from progressista.cli import main
    sys.argv = ["progressista", *args]
    try:
        main()
    except SystemExit:
        pass
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules} & set(TUI_ONLY))))
""".replace("TUI_ONLY", repr(TUI_ONLY))


def loaded(*args: str) -> list[str]:
    result = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "modules",
    [
        ("progressista.cli",),
        ("progressista.tui",),
        ("progressista.board", "progressista.cards", "progressista.cli.task_table"),
    ],
)
def test_importing_does_not_load_the_tui(modules):
    assert loaded("import", *modules) == []


@pytest.mark.parametrize("args", [("--help",), ("watch", "--help"), ("tasks", "ls", "--help")])
def test_help_does_not_load_the_tui(args):
    assert loaded(*args) == []


def test_tasks_ls_does_not_load_the_tui(server):
    assert loaded("tasks", "ls", "--url", server.url) == []


def test_the_probe_would_notice():
    assert loaded("import", "progressista.tui.app") == sorted(TUI_ONLY)


PURE = """
import json, sys
before = set(sys.modules)
import progressista.board, progressista.cards
names = {m.split(".")[0] for m in set(sys.modules) - before} - set(sys.stdlib_module_names)
print(json.dumps(sorted(names | {m for m in set(sys.modules) - before if m.startswith("progressista.")})))
"""


def test_the_board_and_the_cards_load_only_the_standard_library_and_the_protocol():
    """What both `watch` and `tasks ls` show is computed without Textual, Rich or anything else."""
    result = subprocess.run([sys.executable, "-c", PURE], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    names = set(json.loads(result.stdout))
    assert {"progressista.board", "progressista.cards"} <= names  # the probe sees what it imports
    ours = {name for name in names if name.startswith("progressista.")}
    assert names - ours == {"progressista"}, names - ours
    root = {"progressista.board", "progressista.cards", "progressista.version"}  # the package root loads its version
    assert all(name.startswith("progressista.protocol.") for name in ours - root - {"progressista.protocol"}), ours
