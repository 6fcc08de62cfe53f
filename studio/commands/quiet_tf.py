"""TensorFlow's C++ start-up log kept off the terminal of every CLI command, unless ``--verbose``.

``TF_CPP_MIN_LOG_LEVEL=3`` silences TensorFlow's own logger, but the lines written while its shared libraries
load ("Unable to register cuDNN factory", "computation placer already registered", absl's "All log messages
before absl::InitializeLog()") ignore it. Those come only while ``import tensorflow`` runs, so that one import
writes its file descriptor 2 into a temporary file; the file is replayed only when the import fails, so a real
problem is never hidden. Our own progress and one-line errors are untouched.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

LOG_LEVEL_VARIABLE = "TF_CPP_MIN_LOG_LEVEL"


@contextmanager
def stderr_held() -> Iterator[None]:
    """Send fd 2 to a temporary file while the block runs; replay what it caught when the block raises."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            caught.seek(0)
            os.write(2, caught.read())
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


class _QuietLoader(importlib.abc.Loader):
    def __init__(self, inner: importlib.abc.Loader) -> None:
        self.inner = inner

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        with stderr_held():
            self.inner.exec_module(module)


class _QuietTensorFlowFinder(importlib.abc.MetaPathFinder):
    """Finds ``tensorflow`` the usual way, then loads it with stderr held (once: it removes itself)."""

    def find_spec(self, name: str, path, target=None):  # noqa: ANN001, ANN201
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)
        from importlib.util import find_spec

        spec = find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


def quiet_tensorflow() -> None:
    """Called once at CLI start (without ``--verbose``): before TensorFlow is imported, by anyone."""
    os.environ[LOG_LEVEL_VARIABLE] = "3"
    if "tensorflow" in sys.modules or any(isinstance(f, _QuietTensorFlowFinder) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _QuietTensorFlowFinder())
