"""The user-facing error of the engine: one line, no traceback (the CLI exits 1 with it)."""

from __future__ import annotations


class ProjectError(Exception):
    """A user-facing problem with a project (one line, no traceback needed)."""
