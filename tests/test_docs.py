"""The README documents every setting and command, and opens with the two commands."""

import re
from pathlib import Path

from progressista.server.settings import Settings

README = (Path(__file__).parent.parent / "README.md").read_text()


def test_every_server_setting_is_documented():
    for name in Settings.model_fields:
        assert f"`PROGRESSISTA_{name.upper()}`" in README, name


def test_every_setting_has_a_docstring():
    for name, field in Settings.model_fields.items():
        assert field.description, f"Settings.{name} has no docstring"


def test_every_cli_command_is_documented():
    from typer.main import get_command

    from progressista.cli import app

    root = get_command(app)
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        assert f"progressista {name}" in README, name
        for sub in getattr(command, "commands", {}):
            assert f"progressista {name} {sub}" in README, f"{name} {sub}"


def test_readme_opens_with_install_and_test_commands():
    first_block = re.search(r"```bash\n(.*?)```", README, re.S)
    assert first_block is not None
    lines = [line for line in first_block.group(1).splitlines() if line.strip()]
    assert "pip install" in lines[0] and "progressista serve" in lines[0]
    assert "pip install" in lines[1] and "pytest" in lines[1]
    ci = (Path(__file__).parent.parent / ".ci" / "run").read_text()
    assert lines[1].split("#")[0].strip() in ci
