"""The IPython extension: ``%load_ext progressista`` in a running kernel, and every tqdm bar reports.

>>> %load_ext progressista      # doctest: +SKIP
progressista: tqdm bars in this kernel report to http://localhost:8000
>>> %unload_ext progressista    # doctest: +SKIP
progressista: tqdm bars in this kernel no longer report

Loading installs :mod:`progressista.patch` with the usual ``PROGRESSISTA_*``
defaults (set them in the kernel's environment, or with ``%env`` before
loading), checks the server as the bars will post to it and prints one line:
where bars go, or why they would not show (a refused token, no server).
``tqdm.notebook`` and ``tqdm.auto`` bars keep their widget. Unloading puts
tqdm back as it was.
"""

from __future__ import annotations

from typing import Any

__all__ = ["load", "unload"]


def load(ipython: Any = None) -> str:
    """Install the patch in this kernel; print and return the line that says where bars go."""
    from . import notices
    from .client import RemoteTqdm
    from .client.routes import route_for
    from .patch import install
    from .protocol.urls import server_urls

    install()
    route, run_id = route_for(RemoteTqdm, {}, None, None, None, None)
    notice = notices.check_server(route.url, dict(route.headers), route.timeout)
    if notice is not None:
        line = notice[1]
    else:
        line = f"progressista: tqdm bars in this kernel report to {server_urls(route.url).base}"
        if run_id:
            line += f", in the group {run_id}"
    print(line)
    return line


def unload(ipython: Any = None) -> str:
    """Put tqdm back; print and return the line that says so."""
    from .patch import uninstall

    uninstall()
    line = "progressista: tqdm bars in this kernel no longer report"
    print(line)
    return line
