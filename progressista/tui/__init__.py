"""The terminal dashboard behind ``progressista watch``.

This package imports nothing on its own: :mod:`progressista.tui.view` is pure
standard library (``progressista tasks ls`` uses it too), while
:mod:`progressista.tui.app` needs the ``tui`` extra (Textual, websockets)::

    from progressista.tui.app import create_app

    create_app("http://localhost:8000", token="s3cret").run()
"""
