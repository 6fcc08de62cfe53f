"""TensorFlow Lite Micro from Python (the ``tflite-micro`` package): run a board model, measure its arena.

The interpreter is the one a microcontroller runs (the same kernels and memory planner), built for the host.
The arena it reports is what the board's ``tensor_arena`` must hold: the tensors' planned memory (head) plus
the interpreter's persistent data (tail). Measured on a 64-bit host, so a 32-bit board needs slightly less.
"""

from __future__ import annotations

import ctypes
import os
import re
import sys
import tempfile
from typing import Any

import numpy as np

from studio.core.export.bundle_folder import ExportError

# Only to build the interpreter before measuring; the measured arena is what the model needs.
_MEASURE_ARENA = 64 << 20
_TOTAL = re.compile(r"Arena allocation total (\d+) bytes")


def interpreter(model: bytes, arena_size: int = _MEASURE_ARENA) -> Any:
    from tflite_micro.python.tflite_micro import runtime

    try:
        return runtime.Interpreter.from_bytes(model, arena_size=arena_size)
    except (RuntimeError, ValueError) as exc:
        raise ExportError(f"TensorFlow Lite Micro cannot run this model: {exc}") from None


def arena_bytes(model: bytes) -> int:
    """The tensor arena the model needs, as TensorFlow Lite Micro's recording allocator reports it after one
    inference."""
    micro = interpreter(model)
    detail = micro.get_input_details(0)
    micro.set_input(np.zeros(tuple(detail["shape"]), dtype=detail["dtype"]), 0)
    micro.invoke()
    text = _captured(micro.print_allocations)
    found = _TOTAL.search(text)
    if not found:
        raise ExportError("TensorFlow Lite Micro did not report the arena it used")
    return int(found.group(1))


def _captured(call: Any) -> str:
    """What ``call`` prints from C++ (MicroPrintf writes to the process's stdout/stderr, not Python's)."""
    libc = ctypes.CDLL(None)
    with tempfile.TemporaryFile() as sink:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = [os.dup(1), os.dup(2)]
        try:
            os.dup2(sink.fileno(), 1)
            os.dup2(sink.fileno(), 2)
            call()
            libc.fflush(None)
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
        sink.seek(0)
        return sink.read().decode("utf-8", "replace")
