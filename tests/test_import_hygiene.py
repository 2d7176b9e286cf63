"""The client must load on a worker that has only the client's dependencies, and the root loads it lazily."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

SERVER_SIDE = ("fastapi", "uvicorn", "starlette", "pydantic", "pydantic_settings", "textual", "redis", "websockets")


def after(code: str, answer: str = "sorted(sys.modules)") -> Any:
    """Run ``code`` in a fresh interpreter; then the JSON of ``answer`` evaluated there (by default, what it loaded)."""
    program = f"{code}\nimport json, sys\nprint(json.dumps({answer}))"
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def leaked(modules: list[str], stacks: tuple[str, ...] = SERVER_SIDE) -> list[str]:
    return sorted({name.split(".")[0] for name in modules} & set(stacks))


@pytest.mark.parametrize(
    "statement",
    [
        "import progressista",
        "import progressista.client",
        "from progressista import RemoteTqdm, trange",
        "import progressista.sender, progressista.api, progressista.protocol.urls, progressista.config",
        "import progressista.patch; progressista.patch.install(); progressista.patch.uninstall()",
        "import progressista.capture; progressista.capture.install({}); progressista.capture.uninstall()",
        "import progressista.run, progressista.demo",
        "import progressista.cli",
    ],
)
def test_the_client_does_not_load_the_server_stack(statement: str) -> None:
    assert leaked(after(statement)) == [], f"{statement!r} imported them"


#: What the capture hooks into, never imports itself (each module where its hooked class lives).
CAPTURED = ("rich.progress", "click._termui_impl", "typer._click._termui_impl", "enlighten")


@pytest.mark.parametrize(
    "statement",
    [
        "import progressista.capture; progressista.capture.install({})",
        "import progressista.patch; progressista.patch.install()",
        "import progressista.cli",
    ],
)
def test_the_capture_imports_none_of_the_libraries_it_captures(statement: str) -> None:
    assert set(after(statement)) & set(CAPTURED) == set(), f"{statement!r} imported them"


def test_the_capture_probe_would_notice() -> None:
    """Canary: a program that imports them does load them (the names are right)."""
    code = "import rich.progress, click, typer, enlighten\nclick.progressbar(range(1)); typer.progressbar(range(1))"
    assert set(after(code)) >= set(CAPTURED)


def test_creating_a_bar_starts_no_server_stack() -> None:
    bar = (
        "import io\nfrom progressista import RemoteTqdm\n"
        "for _ in RemoteTqdm(range(3), file=io.StringIO(), server_url='http://127.0.0.1:1'): pass"
    )
    assert leaked(after(bar)) == []


def test_the_probe_would_notice() -> None:
    """Canary: the server does load its stack, and the probe sees it."""
    assert {"fastapi", "pydantic", "starlette"} <= set(leaked(after("import progressista.server")))


@pytest.mark.parametrize("module", ["progressista", "progressista.server", "progressista.cli"])
def test_the_package_root_is_lazy(module: str) -> None:
    """``import progressista`` (the server, ``progressista --help``) loads neither tqdm nor requests."""
    assert leaked(after(f"import {module}"), ("tqdm", "requests")) == []


def test_the_client_resolves_on_first_access() -> None:
    code = (
        "import sys, progressista\nbefore = 'tqdm' in sys.modules\n"
        "from progressista import RemoteTqdm, trange\nimport progressista.client as client"
    )
    answer = "[before, 'tqdm' in sys.modules, RemoteTqdm is client.RemoteTqdm, trange is client.trange]"
    assert after(code, answer) == [False, True, True, True]
    assert "RemoteTqdm" in after("import progressista", "dir(progressista)")


def test_an_unknown_attribute_of_the_root_is_an_attribute_error() -> None:
    import progressista

    with pytest.raises(AttributeError, match="no attribute 'RemoteTqdmm'"):
        progressista.RemoteTqdmm  # noqa: B018
