"""Every path that users, the README or pickles rely on still leads where it did."""

from __future__ import annotations

import importlib
import pickle

import pytest

PATHS = [
    ("progressista", "RemoteTqdm"),
    ("progressista", "trange"),
    ("progressista", "__version__"),
    ("progressista.client", "RemoteTqdm"),
    ("progressista.client", "trange"),
    ("progressista.client", "tqdm"),
    ("progressista.patch", "install"),
    ("progressista.patch", "uninstall"),
    ("progressista.reporter", "PhaseReporter"),
    ("progressista.server", "create_app"),
    ("progressista.server", "Settings"),
    ("progressista.sender", "flush"),
    ("progressista.api", "ProgressistaApi"),
    ("progressista.tui.app", "create_app"),
    ("progressista.cli", "main"),
]


def resolve(module: str, name: str) -> object:
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize(("module", "name"), PATHS, ids=[f"{m}.{n}" for m, n in PATHS])
def test_the_path_resolves(module: str, name: str) -> None:
    assert resolve(module, name) is not None


def test_the_root_and_the_client_name_one_class() -> None:
    import progressista
    import progressista.client

    assert progressista.RemoteTqdm is progressista.client.RemoteTqdm
    assert progressista.client.tqdm is progressista.client.RemoteTqdm


def test_a_pickled_bar_class_loads_by_its_old_name() -> None:
    """``progressista.client.RemoteTqdm`` as pickles written before the split name it."""
    from progressista.client import RemoteTqdm

    old = b"\x80\x04\x95\x26\x00\x00\x00\x00\x00\x00\x00\x8c\x13progressista.client\x94\x8c\nRemoteTqdm\x94\x93\x94."
    assert pickle.loads(old) is RemoteTqdm


def test_a_missing_name_is_still_an_error() -> None:
    """Negative control: the check above fails for a name that is not there."""
    with pytest.raises(AttributeError):
        resolve("progressista.client", "RemoteTqdmm")
