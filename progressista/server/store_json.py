"""The JSON snapshot file behind ``PROGRESSISTA_STORAGE_PATH``.

Saved atomically: a temporary file in the same folder, fsync, rename, so a crash
leaves either the old snapshot or the new one, never half of one. A file that
cannot be read back is moved aside with a warning, never overwritten silently;
a malformed task in it is skipped (the file is copied aside first). A server
holds ``<name>.lock`` beside the file while it runs: each server saves its whole
task map, so two on one file would overwrite each other's tasks.
"""

from __future__ import annotations

import contextlib
import glob
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import IO, Any

from progressista.protocol.statuses import TASK_STATUSES
from progressista.protocol.task import EVENT_FIELDS, SERVER_FIELDS, TASK_DEFAULTS, finite

from .models import field_problem
from .tasks import Task

__all__ = ["FORMAT_VERSION", "JsonFile", "StorageError", "StorageLocked"]

log = logging.getLogger("progressista.server")

FORMAT_VERSION = 1


class StorageError(Exception):
    """The storage file is unusable and could not be moved aside."""


class StorageLocked(StorageError):
    """Another server holds the storage file's lock."""


#: How many skipped task ids a warning names.
_NAMED = 5


class JsonFile:
    """Load and save the task map as ``{"version": 1, "tasks": {...}}``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self._lock: IO[str] | None = None

    def lock(self) -> None:
        """Take ``<name>.lock`` (``flock``, exclusive) until :meth:`unlock`; :class:`StorageLocked` if held.

        :class:`StorageError` when the folder cannot be written (read-only, full): the server
        would acknowledge tasks it cannot keep.

        The lock file stays behind: removing it could let a third server lock a
        new file while the second still holds the old one.
        """
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock, as before
            return
        try:
            self.lock_path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(self.lock_path, "a+", encoding="utf-8")  # held open until unlock(): that is the lock
        except OSError as exc:
            raise StorageError(f"cannot lock {self.lock_path}: {exc}") from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            handle.seek(0)
            holder = handle.read().strip()
            handle.close()
            if isinstance(exc, BlockingIOError):
                raise StorageLocked(
                    f"storage file {self.path} is in use by another server ({holder or 'a process'} holds "
                    f"{self.lock_path.name}); stop it, or give this server another storage path"
                ) from None
            raise StorageError(f"cannot lock {self.lock_path}: {exc}") from None
        try:  # also proves the folder takes writes (a full disk refuses even these few bytes)
            handle.truncate(0)
            handle.write(f"pid {os.getpid()}\n")
            handle.flush()
        except OSError as exc:
            with contextlib.suppress(OSError):  # closing flushes again, and fails again
                handle.close()
            raise StorageError(f"cannot write {self.lock_path}: {exc}") from None
        self._lock = handle

    def unlock(self) -> None:
        """Let go of the lock :meth:`lock` took (closing the file releases it)."""
        if self._lock is not None:
            self._lock.close()
            self._lock = None

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
            tasks, skipped = _decode(raw)
        except ValueError as exc:
            self._move_aside(str(exc))
            return {}
        if skipped:
            self._report_skipped(skipped)
        return tasks

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

    def _report_skipped(self, skipped: dict[str, str]) -> None:
        """One warning for every malformed task, after copying the file aside (the next save leaves them out)."""
        aside = self._aside()
        try:
            shutil.copy2(self.path, aside)
            kept = f"; the file as it was is kept as {aside}"
        except OSError as exc:
            kept = f"; could not copy the file aside ({exc})"
        named = ", ".join(f"{task_id!r} ({why})" for task_id, why in list(skipped.items())[:_NAMED])
        more = f" and {len(skipped) - _NAMED} more" if len(skipped) > _NAMED else ""
        log.warning("storage file %s: skipped %d malformed task(s): %s%s%s", self.path, len(skipped), named, more, kept)

    def _aside(self) -> Path:
        return self.path.with_name(f"{self.path.name}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}")

    def _move_aside(self, why: str) -> None:
        aside = self._aside()
        try:
            os.replace(self.path, aside)
        except OSError as exc:
            raise StorageError(f"storage file {self.path} {why}, and moving it aside failed: {exc}") from exc
        log.warning("storage file %s %s; moved it to %s and started empty", self.path, why, aside)


def _decode(raw: bytes) -> tuple[dict[str, Task], dict[str, str]]:
    """The snapshot's usable tasks, and ``{task_id: what is wrong}`` for those skipped."""
    try:
        doc = json.loads(raw, parse_constant=_refuse_constant)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"is not valid JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("version") != FORMAT_VERSION or not isinstance(doc.get("tasks"), dict):
        raise ValueError(f"is not a progressista snapshot (version {FORMAT_VERSION})")
    tasks: dict[str, Task] = {}
    skipped: dict[str, str] = {}
    for task_id, task in doc["tasks"].items():
        why = _task_problem(task_id, task)
        if why is not None:
            skipped[task_id] = why
            continue
        # Snapshots from before seen_at existed: the last change is the last contact we know of.
        tasks[task_id] = {**TASK_DEFAULTS, "seen_at": task["updated_at"], **task, "task_id": task_id}
    return tasks, skipped


def _task_problem(task_id: str, task: Any) -> str | None:
    """Why a saved task cannot be served (every pass and view would trip on it), or ``None``."""
    if not isinstance(task, dict):
        return "not an object"
    if task.get("status") not in TASK_STATUSES:
        return f"status: not one of {', '.join(TASK_STATUSES)}"
    for key in SERVER_FIELDS:
        if (key in task or key != "seen_at") and finite(task.get(key)) is None:
            return f"{key}: must be a finite number"
    fields = {key: value for key, value in task.items() if key in EVENT_FIELDS and key != "status"}
    return field_problem({**fields, "task_id": task_id})


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
