"""What would fit a board: the same architecture at a smaller input, or the compact one.

Each candidate is measured, not guessed: the architecture is built (untrained weights: the size of a model
does not depend on its training), wrapped in the studio's preprocessing at a fixed input, converted to int8
with a few random calibration frames, and its arena measured by TensorFlow Lite Micro. Fitting shrinks as
the input grows, so the candidate sizes are searched by bisection (about three conversions).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from studio.core.export.targets import micro
from studio.core.export.targets.boards import Board, Need

CANDIDATE_SIZES = (224, 192, 160, 128, 112, 96, 80, 64, 48, 32, 24, 16)
FALLBACK_ARCH = "compact"  # global average pooling: its weights do not grow with the input
_CALIBRATION_FRAMES = 4


def need_of(arch: str, size: int, color: str, n_classes: int) -> Need:
    from studio.core.export.targets.pixels import network_module
    from studio.core.export.targets.tflite import convert_module
    from studio.core.specs import PreprocessSpec
    from studio.core.training.architectures import build

    spec = PreprocessSpec(image_size=size, color=color)
    module = network_module(build(arch, spec.input_shape, n_classes), spec, batch=1, size=size)
    rng = np.random.default_rng(0)

    def samples():  # noqa: ANN202 (the converter's generator)
        for _ in range(_CALIBRATION_FRAMES):
            yield [rng.uniform(0, 255, (1, size, size, 3)).astype(np.float32)]

    model = convert_module(module, "int8", samples)
    return Need(model_bytes=len(model), arena_bytes=micro.arena_bytes(model), frame_bytes=size * size * 3)


def largest_fitting(arch: str, sizes: Sequence[int], color: str, n_classes: int, board: Board) -> int | None:
    """The largest of ``sizes`` at which ``arch`` fits ``board`` (bisection over the sorted sizes)."""
    ordered = sorted(sizes)
    lo, hi, best = 0, len(ordered) - 1, None
    while lo <= hi:
        mid = (lo + hi) // 2
        if need_of(arch, ordered[mid], color, n_classes).fits(board):
            best, lo = ordered[mid], mid + 1
        else:
            hi = mid - 1
    return best


def smallest_fit(arch: str, size: int, color: str, n_classes: int, board: Board) -> tuple[str, int] | None:
    """(architecture, input size) that fits ``board``: the run's architecture at the largest smaller input,
    else the compact architecture at the largest input up to ``size`` (the pretrained backbone alone is
    bigger than a microcontroller's flash); None when neither fits."""
    from studio.core.training.architectures import PRETRAINED, names

    tries = [] if arch in (PRETRAINED, FALLBACK_ARCH) or arch not in names() else [
        (arch, [s for s in CANDIDATE_SIZES if s < size])]
    tries.append((FALLBACK_ARCH, [s for s in CANDIDATE_SIZES if s <= size and (s < size or arch != FALLBACK_ARCH)]))
    for name, sizes in tries:
        found = largest_fitting(name, sizes, color, n_classes, board) if sizes else None
        if found is not None:
            return name, found
    return None
