"""Typed dependency aliases: routes reach the app's resources through these.

The getters are ``async def`` on purpose: FastAPI runs plain ``def`` dependencies
in a thread pool, a thread hop per dependency per request on the ingest path.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from .broadcast import Broadcaster
from .metrics import Metrics
from .settings import Settings
from .store import TaskStore

__all__ = ["BroadcasterDep", "MetricsDep", "SettingsDep", "StoreDep"]


async def get_settings(conn: HTTPConnection) -> Settings:
    return conn.app.state.settings  # type: ignore[no-any-return]


async def get_store(conn: HTTPConnection) -> TaskStore:
    return conn.app.state.store  # type: ignore[no-any-return]


async def get_broadcaster(conn: HTTPConnection) -> Broadcaster:
    return conn.app.state.broadcaster  # type: ignore[no-any-return]


async def get_metrics(conn: HTTPConnection) -> Metrics:
    return conn.app.state.metrics  # type: ignore[no-any-return]


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[TaskStore, Depends(get_store)]
BroadcasterDep = Annotated[Broadcaster, Depends(get_broadcaster)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
