"""Frozen event objects that long jobs report (import, training, export). Never positional tuples."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    def to_dict(self) -> dict[str, Any]:
        return {"event": EVENT_NAMES.get(type(self), type(self).__name__), **asdict(self)}


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
}


class CancelToken:
    """Cooperative cancel: the job checks :attr:`cancelled` between units of work."""

    def __init__(self) -> None:
        self._cancelled = False

    def cancel(self) -> None:
        self._cancelled = True

    @property
    def cancelled(self) -> bool:
        return self._cancelled
