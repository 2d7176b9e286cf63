"""The app the ingest benchmark serves: Progressista plus a no-op JSON endpoint.

Both routes live on one app in one uvicorn, so they share every setting.
"""

from __future__ import annotations

from fastapi import FastAPI

from progressista.server import create_app


def app_with_noop() -> FastAPI:
    app = create_app()

    @app.post("/noop")
    async def noop() -> dict[str, bool]:
        return {"ok": True}

    return app
