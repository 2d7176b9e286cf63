"""The alerts file: ``[[rule]]`` tables, read once at start and refused whole when one is wrong.

::

    [[rule]]
    name = "nightly failures"
    on = ["error", "lost"]       # error, lost, stale, close, slow, group_done, group_error
    match = "nightly-*"          # glob on the task id (group_*: on the group), default "*"
    notify = ["json://127.0.0.1:9000/hook", "ntfy://ntfy.sh/jobs"]
    cooldown = 300               # seconds: one alert per task (or group) per rule within it, default 0
    resolved = true              # also say when a stale or lost task moves again, default false

:func:`parse_rules` raises :class:`RulesError` naming the file, the rule and
the field (``alerts file a.toml: rule 2 ("nightly failures"): on: …``), never a
target URL (they hold keys). Whether a URL is one Apprise can send to is asked
of ``known_target`` (Apprise itself, in :func:`load_rules`).

>>> rules = parse_rules('[[rule]]\\non = ["error"]\\nnotify = ["json://h/x"]\\n', "a.toml", lambda url: True)
>>> rules[0].name, rules[0].matches("etl:load", "error"), rules[0].matches("etl", "group_done")
('rule 1', True, False)
"""

from __future__ import annotations

import fnmatch
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from progressista.protocol.alerts import GROUP_STATES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["Rule", "RulesError", "load_rules", "parse_rules"]

RuleState = Literal["error", "lost", "stale", "close", "slow", "group_done", "group_error"]


class RulesError(ValueError):
    """The alerts file cannot be used; the message names the file, the rule and the field."""


class _RuleFields(BaseModel):
    """One ``[[rule]]`` table as written."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    on: Annotated[list[RuleState], Field(min_length=1)]
    match: Annotated[str, Field(min_length=1, max_length=256)] = "*"
    notify: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]
    cooldown: Annotated[float, Field(ge=0, le=30 * 86_400)] = 0.0
    resolved: bool = False


@dataclass(frozen=True)
class Rule:
    """A checked rule."""

    name: str
    on: frozenset[str]
    match: str
    notify: tuple[str, ...]
    cooldown: float
    resolved: bool

    def matches(self, subject: str, state: str) -> bool:
        """Does this rule fire for ``subject`` (a task id, or a group for ``group_*``) entering ``state``?

        ``resolved`` goes with the rule's ``stale``/``lost`` alerts, when the rule asks for it.
        """
        if state == "resolved":
            wanted = self.resolved and bool(self.on & {"stale", "lost"})
        else:
            wanted = state in self.on
        return wanted and fnmatch.fnmatchcase(subject, self.match)

    @property
    def on_groups(self) -> bool:
        return bool(self.on & set(GROUP_STATES))


def _where(source: str, number: int, table: Any) -> str:
    name = table.get("name") if isinstance(table, dict) else None
    shown = f" ({name!r})" if isinstance(name, str) and name else ""
    return f"{source}: rule {number}{shown}"


def _field_error(where: str, exc: ValidationError) -> RulesError:
    first = exc.errors(include_url=False, include_input=False)[0]
    path = ".".join(str(part) for part in first["loc"]) or "rule"
    message = first["msg"]
    if first["type"] == "missing":
        message = "missing (every rule needs it)"
    elif first["type"] == "extra_forbidden":
        message = "unknown field (a rule has name, on, match, notify, cooldown, resolved)"
    return RulesError(f"{where}: {path}: {message}")


def parse_rules(text: str, source: str, known_target: Callable[[str], bool]) -> list[Rule]:
    """The rules of an alerts file's ``text`` (``source`` names it in errors)."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{source}: not valid TOML ({exc})") from None
    unknown = sorted(set(document) - {"rule"})
    if unknown:
        raise RulesError(f"{source}: unknown top-level key {unknown[0]!r} (rules are [[rule]] tables)")
    tables = document.get("rule", [])
    if not isinstance(tables, list) or not tables:
        raise RulesError(f"{source}: no [[rule]] table")
    rules: list[Rule] = []
    for number, table in enumerate(tables, 1):
        where = _where(source, number, table)
        try:
            fields = _RuleFields.model_validate(table)
        except ValidationError as exc:
            raise _field_error(where, exc) from None
        for index, url in enumerate(fields.notify):
            if not known_target(url):
                scheme = url.partition("://")[0] if "://" in url else ""
                shown = f"scheme {scheme!r}" if scheme and scheme.isalnum() else "no scheme://"
                raise RulesError(f"{where}: notify.{index}: not a notification URL Apprise can send to ({shown})")
        name = fields.name or f"rule {number}"
        if any(rule.name == name for rule in rules):
            raise RulesError(f"{where}: name: another rule is named {name!r} (names identify alerts)")
        rules.append(
            Rule(name, frozenset(fields.on), fields.match, tuple(fields.notify), fields.cooldown, fields.resolved)
        )
    return rules


def load_rules(path: Path) -> list[Rule]:
    """The rules in the file at ``path``, targets checked by Apprise."""
    from .delivery import known_target

    source = f"alerts file {path}"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesError(f"{source}: cannot read it ({exc.strerror or type(exc).__name__})") from None
    except UnicodeError:
        raise RulesError(f"{source}: is not UTF-8 text") from None
    return parse_rules(text, source, known_target)
