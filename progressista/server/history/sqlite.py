"""History in a SQLite file (WAL), every call on one thread of its own, never on the event loop.

One connection, used only by that thread; the table has an index per way it
is read (by key, by group, by time). Inserting a row that is there already
(by ``id``) does nothing, and past ``max_rows`` the oldest rows go.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from .rows import ROW_FIELDS, Query
from .store import Successes

__all__ = ["SqliteHistory"]

T = TypeVar("T")

# "group" is an SQL keyword: the column is grp.
_COLUMNS = tuple("grp" if name == "group" else name for name in ROW_FIELDS)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, key TEXT NOT NULL, grp TEXT, task_id TEXT NOT NULL, desc TEXT, unit TEXT,
    n REAL, total REAL, status TEXT NOT NULL, created_at REAL, ended_at REAL NOT NULL, duration REAL,
    rate REAL, host TEXT, pid INTEGER, run_id TEXT, error TEXT, meta TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_key ON runs (key, ended_at);
CREATE INDEX IF NOT EXISTS runs_by_group ON runs (grp, ended_at);
CREATE INDEX IF NOT EXISTS runs_by_time ON runs (ended_at);
"""
_INSERT = f"INSERT OR IGNORE INTO runs ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)})"
_DROP_OLDEST = "DELETE FROM runs WHERE id IN (SELECT id FROM runs ORDER BY ended_at LIMIT ?)"
_DROP_OLDEST = "DELETE FROM runs WHERE id IN (SELECT id FROM runs ORDER BY ended_at LIMIT ?)"
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM runs"


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    """One explicit transaction (the connection is in autocommit mode, where ``with db:`` begins none)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _values(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(json.dumps(row["meta"], separators=(",", ":")) if name == "meta" else row[name] for name in ROW_FIELDS)


def _row(values: tuple[Any, ...]) -> dict[str, Any]:
    row = dict(zip(ROW_FIELDS, values, strict=True))
    row["meta"] = json.loads(row["meta"]) if row["meta"] else {}
    return row


class SqliteHistory:
    """The embedded history store: a SQLite file at ``path``."""

    def __init__(self, path: Path, max_rows: int = 100_000) -> None:
        self.path = path
        self.max_rows = max_rows
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="progressista-history")
        self._db: sqlite3.Connection | None = None
        self._rows = 0

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        def call() -> T:
            if self._db is None:
                raise sqlite3.OperationalError(f"history file {self.path} is not open")
            return work(self._db)

        return await asyncio.get_running_loop().run_in_executor(self._thread, call)

    async def start(self) -> None:
        def open_db() -> int:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            return int(self._db.execute("SELECT COUNT(*) FROM runs").fetchone()[0])

        self._rows = await asyncio.get_running_loop().run_in_executor(self._thread, open_db)

    async def add(self, rows: list[dict[str, Any]]) -> None:
        def insert(db: sqlite3.Connection) -> int:
            with _transaction(db):  # one for the batch: a WAL frame a page, not a page a row
                before = db.total_changes
                db.executemany(_INSERT, [_values(row) for row in rows])
                added = db.total_changes - before
                excess = self._rows + added - self.max_rows
                if excess > 0:
                    db.execute(_DROP_OLDEST, (excess,))
                    added -= excess
            return added

        self._rows += await self._run(insert)

    async def query(self, query: Query) -> list[dict[str, Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (("key", query.key), ("grp", query.group)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if query.statuses is not None:
            clauses.append(f"status IN ({', '.join('?' for _ in query.statuses)})")
            params.extend(sorted(query.statuses))
        if query.since is not None:
            clauses.append("ended_at >= ?")
            params.append(query.since)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"{_SELECT}{where} ORDER BY ended_at DESC LIMIT ?"

        def select(db: sqlite3.Connection) -> list[dict[str, Any]]:
            return [_row(values) for values in db.execute(sql, (*params, query.limit))]

        return await self._run(select)

    async def successes(self, runs: int) -> Successes:
        sql = (
            "SELECT key, duration, rate FROM (SELECT key, duration, rate, ROW_NUMBER() OVER "
            "(PARTITION BY key ORDER BY ended_at DESC) AS age FROM runs WHERE status = 'close') "
            "WHERE age <= ? ORDER BY key, age"
        )

        def select(db: sqlite3.Connection) -> Successes:
            found: Successes = {}
            for key, duration, rate in db.execute(sql, (runs,)):
                found.setdefault(key, []).append((duration, rate))
            return found

        return await self._run(select)

    async def prune(self, before: float) -> int:
        def delete(db: sqlite3.Connection) -> int:
            with _transaction(db):
                return db.execute("DELETE FROM runs WHERE ended_at < ?", (before,)).rowcount

        removed = await self._run(delete)
        self._rows -= removed
        return removed

    async def close(self) -> None:
        def shut() -> None:
            if self._db is not None:
                self._db.close()
                self._db = None

        await asyncio.get_running_loop().run_in_executor(self._thread, shut)
        self._thread.shutdown(wait=True)
