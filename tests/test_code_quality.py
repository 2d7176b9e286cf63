"""ruff and mypy stay clean: run as part of the suite so CI enforces them."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


@pytest.mark.parametrize("tool", [["ruff", "check", "."], [sys.executable, "-m", "mypy"]], ids=["ruff", "mypy"])
def test_tool_is_clean(tool):
    if tool[0] == "ruff" and not shutil.which("ruff"):
        pytest.fail("ruff is not installed: pip install -e '.[test]'")
    result = subprocess.run(tool, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
