"""Plain-language cards for every architecture, and the setting the studio recommends for a project's data.

The registry (:mod:`studio.core.training.architectures`) owns the factories; this module owns what a person reads
about them. A registered architecture without a card still gets one, from its registry description.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from studio.core.specs import DEFAULT_EPOCHS, DEFAULT_PATIENCE, augment_epochs
from studio.core.training import architectures

if TYPE_CHECKING:
    from studio.core.project.store import Project

PRETRAINED = "pretrained"
BEST_SMALL = "compact"    # best test macro F1 of the from-scratch models on the demo (README table)
AUGMENT_BELOW = 300       # training images per class below which varying them helps (bench/augment_default.py)
# Below this many training images the compact net's batch normalisation has too few steps to settle (seen: a
# 12-class, 48-image project stayed at validation accuracy 0 for 6 epochs); the plain CNN learns at once.
SMALL_DATA = 300
SMALL_DATA_ARCH = "cnn"


@dataclass(frozen=True)
class ArchCard:
    name: str        # the registry name (what the CLI's --arch takes)
    title: str       # what the studio shows
    summary: str     # one or two plain sentences
    good_for: str
    speed: str       # training and in-browser speed, in words


_CARDS: dict[str, ArchCard] = {
    PRETRAINED: ArchCard(PRETRAINED, "Pretrained (learns from few images)",
                         "Starts from a network that has already seen millions of photos and only learns your "
                         "classes on top.", "photos and real-world objects, especially with few images per class",
                         "trains fast; a bigger download in the browser (a few MB)"),
    "compact": ArchCard("compact", "Compact (small and accurate)",
                        "A small modern network built for the browser: it learns shapes wherever they appear "
                        "and stays tiny.", "most projects trained from scratch", "fast in the browser; tiny file"),
    "cnn": ArchCard("cnn", "Classic CNN",
                    "Three layers that learn small patterns, then larger ones, then a decision.",
                    "simple pictures such as digits, icons and symbols", "fast to train; small file"),
    "cnn_dropout": ArchCard("cnn_dropout", "Classic CNN with dropout",
                            "The classic CNN, taught to rely on no single detail (it randomly ignores half of "
                            "them while training).", "bigger data sets where the classic CNN memorises",
                            "like the classic CNN; needs more epochs"),
    "dense": ArchCard("dense", "Simple dense network",
                      "Looks at every pixel at once, without any notion of shape; a baseline to beat.",
                      "tiny, centred, clean images", "fastest to train; file grows with the image size"),
}


def card(name: str) -> ArchCard:
    if name in _CARDS:
        return _CARDS[name]
    description = architectures.DESCRIPTIONS.get(name, name)
    return ArchCard(name, name.replace("_", " ").capitalize(), description, "", "")


def cards() -> list[ArchCard]:
    """A card for every registered architecture, recommended ones first."""
    order = [PRETRAINED, BEST_SMALL, "cnn", "cnn_dropout", "dense"]
    names = [n for n in order if n in architectures.ARCHITECTURES]
    names += [n for n in architectures.ARCHITECTURES if n not in names]
    return [card(n) for n in names]


@dataclass(frozen=True)
class Recommendation:
    arch: str
    augment: bool
    image_size: int
    color: str
    epochs: int
    patience: int
    reasons: tuple[str, ...] = field(default=())

    @property
    def card(self) -> ArchCard:
        return card(self.arch)


def recommend(project: Project) -> Recommendation:
    """The default setting for this project's data: the pretrained model when it is registered, else the best
    small one; colour only when the images have colour; augmentation while classes are small."""
    images = [im for im in project.images() if im.label is not None]
    reasons: list[str] = []
    n_train = sum(1 for im in images if im.split == "train")
    if PRETRAINED in architectures.ARCHITECTURES:
        arch = PRETRAINED
    else:
        arch = BEST_SMALL if n_train >= SMALL_DATA else SMALL_DATA_ARCH
    reasons.append(f"{card(arch).title}: {card(arch).good_for}." if card(arch).good_for else card(arch).title)
    colour = any(im.channels >= 3 for im in images) or arch == PRETRAINED  # the backbone sees colour
    reasons.append("Colour, because your images have colour." if colour else
                   "Grayscale, because your images have no colour.")
    size = architectures.default_image_size(arch) or 32
    per_class: dict[str, int] = {}
    for im in images:
        if im.split == "train":
            per_class[im.label] = per_class.get(im.label, 0) + 1  # type: ignore[index]
    smallest = min(per_class.values()) if per_class else 0
    augment = arch != PRETRAINED and smallest < AUGMENT_BELOW
    if augment:
        reasons.append(f"Varied training images (small shifts, zoom and lighting), because the smallest class has "
                       f"only {smallest} training images.")
    base = architectures.default_epochs(arch) or DEFAULT_EPOCHS
    epochs = augment_epochs(base) if augment else base
    if arch == PRETRAINED:
        reasons.append(f"{epochs} quick passes over the pictures' pretrained features (seconds, not minutes).")
    else:
        reasons.append(f"Up to {epochs} epochs; training stops early when validation stops improving.")
    return Recommendation(arch, augment, size, "rgb" if colour else "gray", epochs, DEFAULT_PATIENCE,
                          tuple(reasons))
