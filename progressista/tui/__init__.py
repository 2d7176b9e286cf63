"""The terminal dashboard behind ``progressista watch``.

This package imports nothing on its own, and needs the ``tui`` extra (Textual,
websockets) for :mod:`progressista.tui.app`. What the dashboard shows is computed
by pure modules outside it, shared with ``progressista tasks ls``:
:mod:`progressista.board` (columns, groups, order, filter) and
:mod:`progressista.cards` (what each row says)::

    from progressista.tui.app import create_app

    create_app("http://localhost:8000", token="s3cret").run()
"""
