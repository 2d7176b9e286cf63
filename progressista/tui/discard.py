"""Remove tasks by id through ``DELETE /tasks?task_id=…``; shared by ``watch`` and ``tasks rm``.

The query form works for every id, including ``.`` and ``..``, which a URL
path (``DELETE /tasks/{task_id}``) cannot carry: HTTP clients normalise them away.
"""

from __future__ import annotations

from collections.abc import Iterable

from progressista.api import ProgressistaApi

__all__ = ["discard"]


def discard(api: ProgressistaApi, task_ids: Iterable[str]) -> list[str]:
    """Remove ``task_ids`` (each once); returns the ids the server had and removed.

    Raises :class:`~progressista.api.ApiError` like the other API calls.
    """
    ids = list(dict.fromkeys(task_ids))
    if not ids:
        return []
    # ProgressistaApi has no public call for this query form yet; _request keeps its
    # timeout and one-line errors.
    removed: list[str] = api._request("DELETE", api.urls.tasks, params={"task_id": ids})["removed"]
    return removed
