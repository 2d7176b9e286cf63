"""What a history store does; :mod:`.sqlite` and :mod:`.redis` do it."""

from __future__ import annotations

from typing import Any, Protocol

from .rows import Query

__all__ = ["HistoryStore", "Successes"]

#: Per key, the (duration, rate) of its last successful runs, newest first.
Successes = dict[str, list[tuple[float, float | None]]]


class HistoryStore(Protocol):
    async def start(self) -> None:
        """Open (and create) the store; raise with one clear line when it cannot be used at all."""
        ...

    async def add(self, rows: list[dict[str, Any]]) -> None:
        """Keep ``rows`` (a row already kept, by ``id``, is kept once), then drop the oldest past the cap."""
        ...

    async def query(self, query: Query) -> list[dict[str, Any]]:
        """The rows ``query`` admits, newest first, ``query.limit`` at most."""
        ...

    async def successes(self, runs: int) -> Successes:
        """Every key's last ``runs`` successful (``close``) runs."""
        ...

    async def prune(self, before: float) -> int:
        """Drop the rows that ended before ``before``; how many."""
        ...

    async def close(self) -> None: ...
