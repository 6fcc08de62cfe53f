"""Frozen event objects that long jobs report (import, training, export). Never positional tuples."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass(frozen=True)
class Event:
    def to_dict(self) -> dict[str, Any]:
        return {"event": EVENT_NAMES.get(type(self), type(self).__name__), **asdict(self)}

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Event:
        """The inverse of :meth:`to_dict` (a JSON line of a child process back as its typed event).
        Unknown keys are ignored (a newer child may add fields); an unknown ``event`` is a ValueError."""
        cls = _EVENT_TYPES.get(str(data.get("event")))
        if cls is None:
            raise ValueError(f"unknown event {data.get('event')!r}")
        try:
            return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})
        except TypeError as exc:
            raise ValueError(f"malformed {data.get('event')} event: {exc}") from None


Reporter = Callable[[Event], None]


def ignore(_event: Event) -> None:
    """A reporter that drops every event."""


# ----- import ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ImportStarted(Event):
    total: int


@dataclass(frozen=True)
class ImportProgress(Event):
    done: int
    total: int
    added: int
    duplicates: int
    rejected: int
    current: str = ""


@dataclass(frozen=True)
class ImportFinished(Event):
    added: int
    duplicates: int
    rejected: int
    cancelled: bool = False


# ----- training ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunStarted(Event):
    run: str
    arch: str
    epochs: int
    steps_per_epoch: int


@dataclass(frozen=True)
class FeatureProgress(Event):
    """Pretrained runs: backbone features computed for ``done`` of ``total`` images (before the first epoch)."""

    run: str
    done: int
    total: int


@dataclass(frozen=True)
class BatchEnd(Event):
    run: str
    epoch: int
    batch: int
    steps: int
    loss: float
    accuracy: float


@dataclass(frozen=True)
class EpochEnd(Event):
    run: str
    epoch: int
    epochs: int
    loss: float
    accuracy: float
    val_loss: float
    val_accuracy: float
    seconds: float


@dataclass(frozen=True)
class RunFinished(Event):
    run: str
    best_epoch: int
    best_val_accuracy: float
    seconds: float
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunFailed(Event):
    run: str
    error: str


@dataclass(frozen=True)
class RunCancelled(Event):
    run: str
    epoch: int


# ----- data health -------------------------------------------------------------------------------
@dataclass(frozen=True)
class HealthProgress(Event):
    stage: str          # features | labels | duplicates | outliers
    done: int
    total: int


# ----- export ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExportStep(Event):
    step: str
    done: int
    total: int


@dataclass(frozen=True)
class QuantizationEstimate(Event):
    """``export --estimate``: the bundle size and the test accuracy of the bundle's own weights."""

    run: str
    quantization: str
    bytes: int
    model_bytes: int
    test_accuracy: float
    macro_f1: float


# ----- any job ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class JobError(Event):
    """The one error object a command prints on stdout in ``--json`` mode before it exits with ``exit_code``."""

    command: str
    error: str
    exit_code: int = 1


EVENT_NAMES: dict[type, str] = {
    ImportStarted: "import_started",
    ImportProgress: "import_progress",
    ImportFinished: "import_finished",
    RunStarted: "run_started",
    FeatureProgress: "feature_progress",
    BatchEnd: "batch_end",
    EpochEnd: "epoch_end",
    RunFinished: "run_finished",
    RunFailed: "run_failed",
    RunCancelled: "run_cancelled",
    HealthProgress: "health_progress",
    ExportStep: "export_step",
    QuantizationEstimate: "quantization",
    JobError: "error",
}
_EVENT_TYPES: dict[str, type[Event]] = {name: cls for cls, name in EVENT_NAMES.items()}


class CancelToken:
    """Cooperative cancel: the job checks :attr:`cancelled` between units of work."""

    def __init__(self) -> None:
        self._cancelled = False

    def cancel(self) -> None:
        self._cancelled = True

    @property
    def cancelled(self) -> bool:
        return self._cancelled
