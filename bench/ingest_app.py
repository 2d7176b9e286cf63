"""The app the ingest benchmark serves: Progressista plus a no-op JSON endpoint.

Both routes live on one app in one uvicorn, so they share every setting.
"""

from __future__ import annotations

import json

from fastapi import FastAPI, Request

from progressista.server import create_app


def app_with_noop() -> FastAPI:
    app = create_app()

    @app.post("/noop")
    async def noop(request: Request) -> dict[str, bool]:
        """The baseline: reads and ``json``-parses the body, nothing else."""
        json.loads(await request.body())
        return {"ok": True}

    return app
