"""The house's rules, enforced: import contracts (import-linter) and the protocol's standard-library-only
promise (the lazy package root: test_import_hygiene.py).

The contracts live in ``.importlinter`` at the project's root; ``lint-imports`` checks them
here, and a deliberately broken copy of the package shows that they catch what they forbid.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
PROTOCOL = sorted(p.stem for p in (ROOT / "progressista" / "protocol").glob("*.py") if p.stem != "__init__")


def lint_imports(cwd: Path, *config: str, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    executable = shutil.which("lint-imports")
    if executable is None:
        pytest.fail("lint-imports is not installed: pip install -e '.[test]'")
    env = None
    if pythonpath is not None:
        import os

        env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    return subprocess.run(
        [executable, "--no-cache", *config], cwd=cwd, capture_output=True, text=True, timeout=300, env=env
    )


def test_the_import_contracts_are_kept() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_contracts_catch_what_they_forbid(tmp_path: Path) -> None:
    """A negative control: a package that breaks each contract once is refused, contract by contract."""
    package = tmp_path / "src" / "progressista"
    files = {
        "__init__.py": "",
        "protocol/__init__.py": "",
        "protocol/statuses.py": "import requests\n",  # protocol must be standard library only
        "server/__init__.py": "from progressista import client\n",  # the server must not load the client
        "client/__init__.py": "import fastapi\n",  # the client must not load the server stack
        "cards.py": "import textual\n",  # presentation must not load Textual
    }
    for name in (
        *("sender", "patch", "run", "api", "config", "reporter", "demo", "wait", "capture"),
        *("runs", "children", "signals", "execute", "notices", "threads", "notebook", "pipe"),
    ):
        files[f"{name}.py"] = ""
    for name in ("tui", "cli"):
        files[f"{name}/__init__.py"] = ""
    files["board.py"] = files["cli/task_table.py"] = files["cli/tasks.py"] = ""
    for name, text in files.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    contracts = (ROOT / ".importlinter").read_text()
    (tmp_path / "contracts.ini").write_text(contracts)
    names = [line.removeprefix("name = ") for line in contracts.splitlines() if line.startswith("name = ")]
    assert len(names) >= 3
    result = lint_imports(tmp_path, "--config", "contracts.ini", pythonpath=tmp_path / "src")
    assert result.returncode != 0, result.stdout
    for name in names:
        assert f"{name} BROKEN" in result.stdout, result.stdout


PROBE = """
import importlib, json, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
print(json.dumps(sorted(sys.modules)))
"""


def loaded(*modules: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", PROBE, *modules], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout))


def outside_the_standard_library(modules: set[str]) -> set[str]:
    """Modules neither of the standard library nor loaded by the interpreter's start-up alone (.pth files)."""
    return {name for name in modules - loaded() if name.split(".")[0] not in sys.stdlib_module_names}


def test_the_protocol_loads_only_the_standard_library() -> None:
    modules = loaded(*(f"progressista.protocol.{name}" for name in PROTOCOL))
    ours = {"progressista", "progressista.version", "progressista.protocol"}
    extra = outside_the_standard_library(modules) - ours - {f"progressista.protocol.{name}" for name in PROTOCOL}
    assert not extra, f"the protocol loaded {sorted(extra)}"
    # The probe would notice: the client does load third-party modules.
    assert {"tqdm", "requests"} <= outside_the_standard_library(loaded("progressista.client"))
