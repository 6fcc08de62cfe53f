"""Architecture registry: one :class:`Architecture` descriptor per model, registered once.

A descriptor holds everything the studio knows about an architecture: its builder
(``builder(input_shape, n_classes) -> keras.Model``), what a person reads about it (title, card text, what it is
good for), its defaults (input size and colour, epoch budget and the augmentation rule, the export quantization
it prefers) and whether it trains on cached features. The Train page's cards, the CLI's ``--arch`` choices and
help, training, the resolver of defaults (:mod:`studio.core.resolve`) and export all read it.

Adding an architecture is one module that calls :func:`register` (the built-in ones live in
:mod:`studio.core.training.models`, listed in :data:`BUILTIN_MODULES` and imported on first use).

Models hold inference layers only (no preprocessing, no augmentation), so the exported web model is exactly
the trained network; preprocessing is :func:`studio.core.preprocess.preprocess`, augmentation lives in the
input pipeline. Convolutions use ``same`` padding so every allowed input size (8..512 px) builds.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from studio.core.specs import AUGMENTED_EPOCH_FACTOR, DEFAULT_EPOCHS, TRAIN_RANGES

if TYPE_CHECKING:
    import keras

PRETRAINED = "pretrained"
Factory = Callable[[tuple[int, int, int], int], "keras.Model"]
BUILTIN_MODULES = (
    "studio.core.training.models.pretrained",
    "studio.core.training.models.compact",
    "studio.core.training.models.classic",
)


@dataclass(frozen=True)
class Architecture:
    """One architecture, all its facts. Only ``name``, ``builder``, ``title`` and ``summary`` are required."""

    name: str                       # what --arch takes and runs store
    builder: Factory                # (input_shape, n_classes) -> a fresh, uncompiled keras.Model
    title: str                      # what the studio shows
    summary: str                    # the card: one or two plain sentences
    good_for: str = ""
    speed: str = ""                 # training and in-browser speed, in words
    description: str = ""           # the technical one-liner (CLI help)
    image_size: int | None = None   # its own input size (wins over the project's); None: the project's
    color: str | None = None        # colour when the project chose none; None: from the images
    cached_features: bool = False   # its head trains on cached backbone features (training/pretrained.py)
    epochs: int = DEFAULT_EPOCHS    # the epoch budget without augmentation
    augment_factor: int = AUGMENTED_EPOCH_FACTOR  # with augmentation the budget grows by this; early stopping ends it
    augments_small_data: bool = True  # the recommendation turns augmentation on for small classes
    export_quantization: tuple[str, ...] = ()  # preferred export quantizations, first offered by a format wins
    rank: int = 100                 # place on the Train page and in lists, lower first

    def epoch_budget(self, augment: bool) -> int:
        """The one rule: augmented images are harder to fit, so the budget grows (early stopping ends it)."""
        epochs = self.epochs * (self.augment_factor if augment else 1)
        return int(min(epochs, TRAIN_RANGES["epochs"].high))

    def own_budget(self) -> bool:
        """It brings an epoch budget of its own (then early stopping is on even without augmentation)."""
        return self.epochs != DEFAULT_EPOCHS

    def quantization_for(self, offered: Sequence[str], fallback: str) -> str:
        """The export quantization for a format that offers ``offered`` (its default ``fallback``)."""
        return next((q for q in self.export_quantization if q in offered), fallback)


_REGISTRY: dict[str, Architecture] = {}
_loaded = False


def register(arch: Architecture) -> Architecture:
    """Add (or replace) ``arch``; returns it. Called once per architecture, by the module that defines it."""
    _REGISTRY[arch.name] = arch
    return arch


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def _load() -> dict[str, Architecture]:
    global _loaded
    if not _loaded:
        _loaded = True
        for module in BUILTIN_MODULES:
            importlib.import_module(module)
    return _REGISTRY


def all_architectures() -> list[Architecture]:
    """Every registered architecture, recommended ones first (by ``rank``, then registration order)."""
    items = list(_load().values())
    return sorted(items, key=lambda a: (a.rank, items.index(a)))


def names() -> tuple[str, ...]:
    return tuple(a.name for a in all_architectures())


def get(name: str) -> Architecture:
    """The descriptor; raises ``ValueError`` naming the choices for an unknown name."""
    registry = _load()
    if name not in registry:
        raise ValueError(f"unknown architecture {name!r}; choose one of {', '.join(names())}")
    return registry[name]


def build(name: str, input_shape: tuple[int, int, int], n_classes: int) -> keras.Model:
    """A fresh, uncompiled model; raises ``ValueError`` for an unknown name or fewer than 2 classes."""
    arch = get(name)
    if n_classes < 2:
        raise ValueError("a classifier needs at least 2 classes")
    return arch.builder(tuple(int(d) for d in input_shape), int(n_classes))  # type: ignore[arg-type]


def describe(model: keras.Model) -> dict[str, int]:
    """``params`` (all weights, trainable or not) and ``weight_bytes`` (float32 size of those weights)."""
    import numpy as np

    sizes = [(int(np.prod(w.shape)), np.dtype(w.dtype).itemsize) for w in model.weights]
    return {"params": sum(n for n, _ in sizes), "weight_bytes": sum(n * b for n, b in sizes)}
