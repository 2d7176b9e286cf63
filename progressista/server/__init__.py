"""The Progressista server: ``create_app`` and its ``Settings``."""

from .app import create_app
from .settings import Settings

__all__ = ["Settings", "create_app"]
