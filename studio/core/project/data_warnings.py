"""Plain-language warnings about the data behind a score: too few images, a test split too small to mean much,
imbalance, validation far above test. Qt-free; the Train and Evaluate pages show them where they matter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MIN_TRAIN_PER_CLASS = 10      # below this a class is hardly learnt
GOOD_TRAIN_PER_CLASS = 30     # what we suggest aiming for
MIN_TEST_IMAGES = 50          # below this the test score moves by 2+ points per image
IMBALANCE_RATIO = 3.0         # the largest class this many times the smallest
VAL_TEST_GAP = 0.15           # validation accuracy this far above test accuracy


@dataclass(frozen=True)
class DataWarning:
    kind: str   # few_images | no_split_images | small_test | imbalance | val_above_test | few_classes
    text: str


def wilson_interval(correct: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% (z=1.96) Wilson score interval of a proportion measured on ``n`` items; (0, 1) when n is 0."""
    if n <= 0:
        return 0.0, 1.0
    p = min(max(float(correct), 0.0), 1.0)
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def score_uncertainty(accuracy: float, n: int) -> str:
    """'0.85 on 20 test images: the true accuracy is likely between 0.64 and 0.95 (95% interval)'."""
    lo, hi = wilson_interval(accuracy, n)
    return (f"{accuracy:.2f} on {n} test image{'s' if n != 1 else ''}: the true accuracy is likely between "
            f"{lo:.2f} and {hi:.2f} (95% interval)")


def training_blocker(counts: dict[str | None, dict[str, int]]) -> str | None:
    """Why a model cannot be trained on this data yet, in plain words; None when it can. The same rules
    training itself checks (two classes in the train split, some validation images), asked up front so the
    Train button can say so instead of failing after a wait."""
    in_train = sorted(name for name, per in counts.items() if name is not None and per.get("train", 0))
    if len(in_train) < 2:
        have = (f"this project has only “{in_train[0]}”" if in_train else "no images are labelled yet")
        return (f"Training needs labelled images of at least two classes; {have}. Add a class on the Images "
                "page and label some images with it.")
    if not sum(per.get("val", 0) for name, per in counts.items() if name is not None):
        return "Training needs some validation images to check itself on; add a few more images of each class."
    return None


def data_warnings(counts: dict[str | None, dict[str, int]]) -> list[DataWarning]:
    """Warnings about labelled data before training; ``counts`` is ``Project.counts()`` (class -> split -> n;
    the ``None`` key, unlabelled images, is ignored)."""
    classes = {name: per for name, per in counts.items() if name is not None and sum(per.values())}
    out: list[DataWarning] = []
    if len(classes) < 2:
        out.append(DataWarning("few_classes", "Label images of at least two classes to train a model."))
        return out
    few = sorted((per.get("train", 0), name) for name, per in classes.items()
                 if per.get("train", 0) < MIN_TRAIN_PER_CLASS)
    if few:
        listed = ", ".join(f"“{name}” ({n})" for n, name in few[:4]) + (" …" if len(few) > 4 else "")
        out.append(DataWarning("few_images", f"Few training images in {listed}: aim for {GOOD_TRAIN_PER_CLASS} or "
                                             "more per class, or the model will mostly guess."))
    for split, word in (("val", "validation"), ("test", "test")):
        missing = [name for name, per in classes.items() if not per.get(split, 0)]
        if missing:
            listed = ", ".join(f"“{m}”" for m in missing[:4]) + (" …" if len(missing) > 4 else "")
            out.append(DataWarning("no_split_images", f"No {word} images of {listed}: add more images of "
                                                      f"{'it' if len(missing) == 1 else 'them'} so the "
                                                      f"{word} score covers every class."))
    n_test = sum(per.get("test", 0) for per in classes.values())
    if 0 < n_test < MIN_TEST_IMAGES:
        lo, hi = wilson_interval(0.8, n_test)
        out.append(DataWarning("small_test", f"Only {n_test} test images: each one moves the score by "
                                             f"{100 / n_test:.0f} points, and a measured 0.80 could really be "
                                             f"anywhere from {lo:.2f} to {hi:.2f}."))
    totals = sorted(sum(per.values()) for per in classes.values())
    if totals[0] and totals[-1] / totals[0] >= IMBALANCE_RATIO:
        big = max(classes, key=lambda n: sum(classes[n].values()))
        small = min(classes, key=lambda n: sum(classes[n].values()))
        out.append(DataWarning("imbalance", f"Unbalanced classes: “{big}” has {totals[-1]} images, “{small}” only "
                                            f"{totals[0]}. The model will favour the big class; add images of the "
                                            "small ones."))
    return out


def result_warnings(best_val_accuracy: float | None, test_accuracy: float | None, n_test: int,
                    supports: dict[str, int] | None = None) -> list[DataWarning]:
    """Warnings about a finished run's scores: how uncertain the test score is, validation far above test, and
    classes whose test score rests on a handful of images."""
    out: list[DataWarning] = []
    if test_accuracy is not None and 0 < n_test < MIN_TEST_IMAGES:
        out.append(DataWarning("small_test", "Small test split: " + score_uncertainty(test_accuracy, n_test) + "."))
    if best_val_accuracy is not None and test_accuracy is not None and \
            best_val_accuracy - test_accuracy > VAL_TEST_GAP:
        out.append(DataWarning("val_above_test", f"Validation accuracy ({best_val_accuracy:.2f}) is far above test "
                                                 f"accuracy ({test_accuracy:.2f}): the validation split is probably "
                                                 "too small, or unlike the test images. Trust the test score."))
    tiny = sorted(name for name, n in (supports or {}).items() if 0 < n < 5)
    if tiny:
        listed = ", ".join(f"“{t}”" for t in tiny[:4]) + (" …" if len(tiny) > 4 else "")
        out.append(DataWarning("few_images", f"{listed} {'has' if len(tiny) == 1 else 'have'} fewer than 5 test "
                                             "images, so their F1 (and the macro F1, their average) can swing a "
                                             "lot from one image."))
    return out


def other_things_warning(n_others: int, n_classes: int) -> DataWarning | None:
    """The suggestion to add "other things" (none of the classes) while a project with classes has none."""
    if n_others or n_classes < 2:
        return None
    return DataWarning("no_other_things", "No pictures of other things yet: add a few of what the camera sees when "
                                          "none of the classes is there (Export page, “Add other things…”, or the "
                                          "camera's “Background: not a class”) to check that the model says "
                                          "“Not one of the classes” for them.")
