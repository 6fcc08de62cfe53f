"""The interface of an export target: write a model for a quantization; load back what was written.

Accuracy is always measured on what was written (:func:`measure`): the target reloads the model from its own
files (quantized weights dequantized as the consumer's runtime does) and classifies the test split with it,
so an estimate never describes a model that is not shipped.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import numpy as np

    from studio.core.project.store import Project
    from studio.core.specs import TrainConfig

# RGB pixels 0..255 as float32, shape (height, width, 3), any size -> class probabilities (n_classes,)
Classifier = Callable[["np.ndarray"], "np.ndarray"]  # (NumPy loads on first use, not with the window)
# The same pixels -> every named output of the written model (probabilities, known_score, ...), each (…,)
Outputs = Callable[["np.ndarray"], "dict[str, np.ndarray]"]


REQUIRED = ("name", "model_dir", "model_format", "model_entry", "quantizations", "default_quantization")


class ExportTarget(ABC):
    """One model format. Subclasses set every class attribute of :data:`REQUIRED` (there are no defaults: a
    target that forgets one fails when its class is defined) and implement the two methods."""

    name: ClassVar[str]                                # "tfjs" (the --format value)
    model_dir: ClassVar[str]                           # the folder the model is written to inside a bundle
    model_format: ClassVar[str]                        # metadata's model.format, e.g. "tfjs-graph-model"
    model_entry: ClassVar[str]                         # the file a runtime opens, relative to model_dir
    quantizations: ClassVar[tuple[str, ...]]           # the --quantize values it writes, e.g. ("none", "int8")
    default_quantization: ClassVar[str]                # what it writes when nobody chose (one of quantizations)
    web_page: ClassVar[bool] = False                   # the bundle carries the page, runtime and app files

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if any(getattr(getattr(cls, n, None), "__isabstractmethod__", False) for n in dir(cls)):
            return  # still abstract (ABCMeta sets __abstractmethods__ only after this hook)
        missing = [n for n in REQUIRED if not hasattr(cls, n)]
        if missing:
            raise TypeError(f"export target {cls.__name__} must declare {', '.join(missing)}")
        if cls.default_quantization not in cls.quantizations:
            raise TypeError(f"export target {cls.__name__}: default_quantization {cls.default_quantization!r} "
                            f"is not one of its quantizations {cls.quantizations}")

    def prepare(self, project: Project, run: Any) -> None:  # noqa: B027 (an optional hook)
        """Called before :meth:`write_model` with the run's project (e.g. TFLite's int8 calibration images)."""

    def model_bytes(self, dest: Path) -> int:
        """The size of the model a device holds, of what :meth:`write_model` wrote to ``dest``."""
        return sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())

    def notes(self) -> list[str]:
        """After :meth:`write_model`: lines worth telling the user (e.g. the boards a model is too big for)."""
        return []

    @abstractmethod
    def write_model(self, model_file: Path, config: TrainConfig, dest: Path, quantization: str) -> None:
        """Write the run's Keras model (``model_file``) with its preprocessing baked in, into ``dest``."""

    @abstractmethod
    def load_written(self, dest: Path) -> Classifier:
        """What :meth:`write_model` wrote to ``dest``, loaded from those files, as a classifier."""

    def load_outputs(self, dest: Path) -> Outputs:
        """Every named output of what was written, by name (a format that has only probabilities gives those)."""
        classify = self.load_written(dest)
        return lambda pixels: {"probabilities": classify(pixels)}


def measure(target: ExportTarget, dest: Path, project: Project, labels: Sequence[str]) -> dict[str, Any]:
    """Accuracy and macro F1 on the test split of the model the target wrote to ``dest``."""
    import numpy as np

    from studio.core.errors import ProjectError
    from studio.core.evaluation.report import classification_metrics
    from studio.core.images.imaging import ImageRejected, load_rgb
    from studio.core.training.data import split_items

    items = split_items(project, "test", list(labels))
    if not len(items):
        raise ProjectError("the test split has no labelled images of this run's classes")
    classify = target.load_written(dest)
    predicted = []
    for path in items.paths:
        try:
            pixels = load_rgb(Path(path)).astype(np.float32)
        except (ImageRejected, OSError) as exc:
            raise ProjectError(f"cannot read test image {path}: {exc}") from None
        predicted.append(int(np.argmax(classify(pixels))))
    metrics = classification_metrics(list(items.labels), predicted, list(labels))
    return {"accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"], "n": len(predicted)}
