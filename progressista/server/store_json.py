"""The JSON snapshot file behind ``PROGRESSISTA_STORAGE_PATH``.

Saved atomically: a temporary file in the same folder, fsync, rename, so a crash
leaves either the old snapshot or the new one, never half of one. A file that
cannot be read back is moved aside with a warning, never overwritten silently.
"""

from __future__ import annotations

import contextlib
import glob
import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from progressista.protocol.statuses import TASK_STATUSES
from progressista.protocol.task import TASK_DEFAULTS, finite

from .tasks import Task

__all__ = ["FORMAT_VERSION", "JsonFile", "StorageError"]

log = logging.getLogger("progressista.server")

FORMAT_VERSION = 1


class StorageError(Exception):
    """The storage file is unusable and could not be moved aside."""


class JsonFile:
    """Load and save the task map as ``{"version": 1, "tasks": {...}}``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def load(self) -> dict[str, Task]:
        """The saved tasks; ``{}`` when there is no file or it had to be moved aside.

        Also removes temporary files that saves interrupted by a crash left behind.
        """
        self._remove_leftovers()
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            self._move_aside(f"cannot be read ({exc})")
            return {}
        try:
            return _decode(raw)
        except ValueError as exc:
            self._move_aside(str(exc))
            return {}

    def save(self, tasks: dict[str, Task]) -> None:
        """Write the snapshot atomically (temp file, fsync, rename, fsync the folder)."""
        folder = self.path.parent
        folder.mkdir(parents=True, exist_ok=True)
        data = json.dumps(
            {"version": FORMAT_VERSION, "saved_at": time.time(), "tasks": tasks}, separators=(",", ":"), allow_nan=False
        )
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        _fsync_folder(folder)

    def _remove_leftovers(self) -> None:
        # A save killed between mkstemp and rename leaves its temporary file; without
        # this, every hard kill during a save would leave one more.
        for leftover in self.path.parent.glob(f".{glob.escape(self.path.name)}.*.tmp"):
            with contextlib.suppress(OSError):
                leftover.unlink()
                log.info("removed %s, left by an interrupted save", leftover)

    def _move_aside(self, why: str) -> None:
        aside = self.path.with_name(f"{self.path.name}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}")
        try:
            os.replace(self.path, aside)
        except OSError as exc:
            raise StorageError(f"storage file {self.path} {why}, and moving it aside failed: {exc}") from exc
        log.warning("storage file %s %s; moved it to %s and started empty", self.path, why, aside)


def _decode(raw: bytes) -> dict[str, Task]:
    try:
        doc = json.loads(raw, parse_constant=_refuse_constant)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"is not valid JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("version") != FORMAT_VERSION or not isinstance(doc.get("tasks"), dict):
        raise ValueError(f"is not a progressista snapshot (version {FORMAT_VERSION})")
    tasks: dict[str, Task] = {}
    for task_id, task in doc["tasks"].items():
        if not _looks_like_task(task):
            raise ValueError(f"holds a malformed task {task_id!r}")
        # Snapshots from before seen_at existed: the last change is the last contact we know of.
        tasks[task_id] = {**TASK_DEFAULTS, "seen_at": task["updated_at"], **task, "task_id": task_id}
    return tasks


def _looks_like_task(task: Any) -> bool:
    return (
        isinstance(task, dict)
        and task.get("status") in TASK_STATUSES
        and all(finite(task.get(key)) is not None for key in ("created_at", "updated_at"))
    )


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"holds {name}, which is not JSON")


def _fsync_folder(folder: Path) -> None:
    # Makes the rename itself durable; not every platform can open a folder.
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
