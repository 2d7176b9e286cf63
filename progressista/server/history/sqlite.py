"""History in a SQLite file (WAL), every call on one thread of its own, never on the event loop.

One connection, used only by that thread; the table has an index per way it
is read: by key, by time, and by group through the ``id`` (a run's id starts
with its task id, whose group is its part before the first ``:``, so a
group's rows are one range of ids). Inserting a row that is there already (by
``id``) does nothing, and past ``max_rows`` the oldest rows go.

Written for ingest under load (tens of thousands of runs a second): a batch is
one transaction of multi-row INSERTs, so this thread lets go of Python's lock
(the GIL) and takes it back once a statement, not once a row (each time, the
event loop's thread waits for it), and every index page is written once a
batch, not once a row.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import operator
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import chain
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
CREATE INDEX IF NOT EXISTS runs_by_time ON runs (ended_at);
"""
# Files made before had an index by group: a group's rows are a range of the id index (see the module
# docstring), and each index is one more B-tree written for every row. Left in a file that cannot be written.
_DROP_GROUP_INDEX = "DROP INDEX IF EXISTS runs_by_group"
#: The rows an INSERT statement takes, largest first: a batch is cut into a few statements, each prepared
#: once and cached. 512 rows are 9,216 parameters, under the 32,766 SQLite allows since 3.32; an older
#: SQLite allows 999, 55 rows.
_CHUNKS = (512, 64, 8, 1) if sqlite3.sqlite_version_info >= (3, 32, 0) else (32, 8, 1)
_PLACES = f"({', '.join('?' for _ in _COLUMNS)})"
_DROP_OLDEST = "DELETE FROM runs WHERE rowid IN (SELECT rowid FROM runs ORDER BY ended_at LIMIT ?)"
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM runs"
#: The page cache, KiB (SQLite's default is 2,000): 100,000 rows and their indexes are about 30 MB, and a
#: batch writes all over the key index (10,000 rows a batch: 6.5 us a row, against 9.5 with 2,000 KiB).
_CACHE_KIB = 16_384
#: Bytes a page, in a new file (SQLite's default is 4,096): an index entry written is a page written, and
#: larger pages hold more of them (measured: about a tenth less time a row).
_PAGE_SIZE = 16_384


def _insert(rows: int) -> str:
    return f"INSERT OR IGNORE INTO runs ({', '.join(_COLUMNS)}) VALUES {', '.join([_PLACES] * rows)}"


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


_FIELDS = operator.itemgetter(*ROW_FIELDS)
_META = len(ROW_FIELDS) - 1  # meta, the last, is kept as JSON text
_encode = json.JSONEncoder(separators=(",", ":")).encode  # one encoder: json.dumps(separators=) makes one a call


def _insert_all(db: sqlite3.Connection, rows: list[dict[str, Any]]) -> None:
    """``rows`` in as few statements as :data:`_CHUNKS` allow."""
    start, width = 0, len(ROW_FIELDS)
    for size in _CHUNKS:
        sql = _insert(size)
        while len(rows) - start >= size:
            # The fields of every row in a row, by C loops; then each meta as its text.
            params = list(chain.from_iterable(map(_FIELDS, rows[start : start + size])))
            params[_META::width] = [_encode(meta) if meta else "{}" for meta in params[_META::width]]
            db.execute(sql, params)
            start += size


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
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            try:
                db.execute(f"PRAGMA page_size={_PAGE_SIZE}")  # first: it sizes a new file; an old one keeps its own
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                db.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
                db.executescript(_SCHEMA)
                with contextlib.suppress(sqlite3.OperationalError):  # read-only: kept, and read as before
                    db.execute(_DROP_GROUP_INDEX)
                rows = int(db.execute("SELECT COUNT(*) FROM runs").fetchone()[0])
            except BaseException:
                db.close()  # a file that cannot be opened leaves no connection behind
                raise
            self._db = db
            return rows

        self._rows = await asyncio.get_running_loop().run_in_executor(self._thread, open_db)

    async def add(self, rows: list[dict[str, Any]]) -> None:
        def insert(db: sqlite3.Connection) -> int:
            with _transaction(db):  # one for the batch: a WAL frame a page, not a page a row
                before = db.total_changes
                _insert_all(db, rows)
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
        if query.key is not None:
            clauses.append("key = ?")
            params.append(query.key)
        if query.group is not None:
            # The group's ids are those from "<group>:" to before "<group>;" (";" follows ":"): one range of
            # the id index; grp = ? then leaves out an id "<group>:@..." (a task id "<group>:" has no group).
            clauses.append("id >= ? AND id < ? AND grp = ?")
            params += [query.group + ":", query.group + ";", query.group]
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
