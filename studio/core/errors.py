"""The one user-facing error type of the engine: one line, no traceback (the CLI exits 1 with it).

Re-exported by :mod:`studio.core.project.store`."""

from __future__ import annotations


class ProjectError(Exception):
    """A user-facing problem with a project (one line, no traceback needed)."""
