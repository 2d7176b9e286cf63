"""``progressista watch``: the terminal dashboard (needs the ``tui`` extra)."""

from __future__ import annotations

from .errors import fail
from .remote import EXIT_USAGE, TokenOption, UrlOption, resolve_server

__all__ = ["watch"]


def watch(url: UrlOption = None, token: TokenOption = None) -> None:
    """Live terminal dashboard: active, needs attention (stale or lost) and completed tasks over the server's WebSocket.

    Tasks whose ids share a prefix: (a run) are grouped under a row with their
    aggregate progress. Keys: arrows/tab move, enter/space folds the group under
    the cursor, g folds all groups, d discards the selected task (on a group
    row: its tasks in that column), c clears completed, s clears the needs
    attention column, / filters, r reconnects now, q quits.
    """
    server_url, token = resolve_server(url, token)
    try:
        from progressista.tui.app import create_app
    except ImportError as exc:
        fail(f"watch needs the terminal UI extra: pip install 'progressista[tui]' ({exc.name} is missing)")
    try:
        app = create_app(server_url, token)
    except ValueError as exc:
        fail(f"--url: {exc}", EXIT_USAGE)
    app.run()
    if app.return_code:  # Textual has printed the traceback; a crash must not exit 0 like a quit
        fail("watch stopped on an unexpected error (its traceback is above)", app.return_code)
