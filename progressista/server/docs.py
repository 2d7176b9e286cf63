"""The API docs at ``/docs``: a page the package serves whole, drawn from ``/openapi.json`` by ``static/js/apidocs.js``.

FastAPI's own ``/docs`` and ``/redoc`` load Swagger UI and ReDoc from a CDN, so they are blank offline
or on an air-gapped cluster. The Swagger UI that PyPI carries (``swagger-ui-bundle``) is 4.x, which cannot
read the OpenAPI 3.1 that FastAPI writes; vendoring Swagger UI 5 would add megabytes of minified code to the
package. This page lists every operation with its parameters, bodies, responses and schemas, and needs
nothing but this server. ``/redoc`` leads to it.
"""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse, RedirectResponse

__all__ = ["DOCS_CSP", "docs_router"]

#: Only this server's own script, style and ``openapi.json``; nothing inline, nothing from elsewhere.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'"
)

# Relative addresses, so the page works behind a proxy that serves the app under a prefix.
_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="referrer" content="no-referrer">
  <meta name="color-scheme" content="light dark">
  <title>{title} — API docs</title>
  <link rel="stylesheet" href="static/docs.css">
  <script type="module" src="static/js/apidocs.js"></script>
</head>
<body>
  <div class="page">
    <header id="head"><h1>{title}</h1><p class="meta">version {version}</p></header>
    <main id="docs" aria-busy="true"><p>Loading <a href="openapi.json">openapi.json</a>…</p></main>
  </div>
</body>
</html>
"""


def docs_router(app: FastAPI, headers: dict[str, str]) -> APIRouter:
    """``/docs`` (the page, sent with ``headers`` and :data:`DOCS_CSP`) and ``/redoc`` (a redirect to it)."""
    router = APIRouter(include_in_schema=False)
    page = _PAGE.format(title=escape(app.title), version=escape(app.version))
    page_headers = {"Referrer-Policy": "no-referrer", **headers}
    csp = page_headers.get("Content-Security-Policy")
    page_headers["Content-Security-Policy"] = f"{DOCS_CSP}; {csp}" if csp else DOCS_CSP

    @router.get("/docs")
    async def docs() -> HTMLResponse:
        return HTMLResponse(page, headers=page_headers)

    @router.get("/redoc")
    async def redoc() -> RedirectResponse:
        return RedirectResponse("docs")

    return router
