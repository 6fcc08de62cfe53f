"""The job protocol between the window and the `edge-studio` commands it runs as child processes. Qt-free.

Both sides import this module, so a flag, an exit code or an event name is spelled once:

- argv builders (:func:`train_argv`, :func:`import_argv`, :func:`evaluate_argv`, :func:`export_argv`,
  :func:`estimate_argv`) from core specs; the defaults are those of :class:`studio.core.specs.TrainConfig`;
- :class:`ExitCode`, the exit codes of every command;
- one JSON error object (:class:`studio.core.events.JobError`) on stdout in ``--json`` mode;
- :func:`parse_line`: a stdout line back as a typed event (``Event.from_dict``) or a result object.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any

from studio.core.events import Event, JobError
from studio.core.specs import TrainConfig

_TRAIN_DEFAULTS = TrainConfig()
# Jobs the window starts run at a lower CPU priority: it sets this variable, the child applies and consumes it.
NICE_ENV = "EDGE_STUDIO_NICE"


class UserError(Exception):
    """A problem the user can fix; printed as one line, exit code 1."""


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1        # a user or data error: one line on stderr (and a JobError object with --json)
    USAGE = 2        # argparse's own code for a bad command line
    CANCELLED = 130  # Ctrl+C / SIGTERM: stopped cleanly, what was done is kept (128 + SIGINT)
    BROKEN_PIPE = 141  # the reader of stdout went away (`| head`): stop quietly, as other tools do (128 + SIGPIPE)


@dataclass(frozen=True)
class TrainJob:
    """One `edge-studio train` run as the window queues it: the spec the resolver decided
    (:func:`studio.core.resolve.train.resolve_train`, see :meth:`from_config`), spelled out flag by flag, so the
    child trains exactly what the window showed. The augmentation itself comes from the project's settings."""

    arch: str
    augment: bool
    epochs: int = _TRAIN_DEFAULTS.epochs
    batch_size: int = _TRAIN_DEFAULTS.batch_size
    learning_rate: float = _TRAIN_DEFAULTS.learning_rate
    patience: int = _TRAIN_DEFAULTS.early_stopping_patience
    extra: tuple[str, ...] = field(default=())  # further flags another lane may add (e.g. --fine-tune)
    image_size: int | None = None  # None: the child decides (the architecture's, else the project's)
    color: str | None = None

    @classmethod
    def from_config(cls, config: TrainConfig, extra: tuple[str, ...] = ()) -> TrainJob:
        return cls(config.arch, config.use_augment, epochs=config.epochs, batch_size=config.batch_size,
                   learning_rate=config.learning_rate, patience=config.early_stopping_patience, extra=extra,
                   image_size=config.preprocess.image_size, color=config.preprocess.color)

    @property
    def label(self) -> str:
        return f"{self.arch} {'+ augmentation' if self.augment else '(no augmentation)'}"

    def cli_args(self, project_root: Path) -> list[str]:
        return train_argv(project_root, self)


def train_argv(project_root: Path | str, job: TrainJob) -> list[str]:
    args = ["train", str(project_root), "--arch", job.arch, "--epochs", str(job.epochs),
            "--batch-size", str(job.batch_size), "--lr", repr(float(job.learning_rate)),
            "--patience", str(job.patience), *job.extra, "--json"]
    if job.image_size is not None:
        args += ["--image-size", str(job.image_size)]
    if job.color is not None:
        args += ["--color", job.color]
    if job.augment:
        args.append("--augment")
    return args


def import_argv(project_root: Path | str, paths: Sequence[str] = (), label: str | None = None) -> list[str]:
    """Paths listed on standard input (``--paths-from -``); ``paths`` go as arguments (names with a line break)."""
    args = ["import", str(project_root), *paths, "--paths-from", "-", "--json", "--events"]
    if label:
        args += ["--label", label]
    return args


def evaluate_argv(project_root: Path | str, run_id: str | None = None) -> list[str]:
    return ["evaluate", str(project_root), *([run_id] if run_id else []), "--json"]


def export_argv(project_root: Path | str, run_id: str | None, out: Path | str, quantization: str = "none",
                zip_too: bool = False, force: bool = False, unsure_threshold: float | None = None,
                fmt: str | None = None, keep_known: float | None = None, title: str | None = None) -> list[str]:
    args = ["export", str(project_root), *([run_id] if run_id else []), "--out", str(out),
            "--quantize", quantization, "--json"]
    if fmt is not None:
        args += ["--format", fmt]
    if zip_too:
        args.append("--zip")
    if force:
        args.append("--force")
    if unsure_threshold is not None:
        args += ["--unsure-threshold", f"{unsure_threshold:.2f}"]
    if keep_known is not None:
        args += ["--keep-known", f"{keep_known:.2f}"]
    if title:
        args += ["--title", title]
    return args


def estimate_argv(project_root: Path | str, run_id: str | None = None, fmt: str | None = None) -> list[str]:
    return ["export", str(project_root), *([run_id] if run_id else []), "--estimate", "--json",
            *(["--format", fmt] if fmt is not None else [])]


def health_argv(project_root: Path | str, fresh: bool = False) -> list[str]:
    """``health --json --events``: ``health_progress`` events, then the report object."""
    return ["health", str(project_root), "--json", "--events", *(["--fresh"] if fresh else [])]


def error_object(command: str, message: str, code: ExitCode = ExitCode.ERROR) -> dict[str, Any]:
    return JobError(command=command, error=message, exit_code=int(code)).to_dict()


def parse_line(text: str) -> Event | dict[str, Any] | None:
    """A stdout line of a ``--json`` child: its typed event, a result object (a dict without a known
    ``event``), or None for anything that is not a JSON object (stray third-party output)."""
    text = text.strip()
    if not text.startswith("{"):
        return None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError:
        return None
    if not isinstance(obj, dict):
        return None
    if "event" in obj:
        try:
            return Event.from_dict(obj)
        except ValueError:
            return obj
    return obj


def lower_priority_if_asked() -> None:
    """Jobs the window starts (training, import, export) run with ``EDGE_STUDIO_NICE=N``: the process lowers
    its own CPU priority before any thread exists, so every thread it starts inherits it and the window
    stays responsive while the job uses every core. The variable is consumed, not passed on."""
    value = os.environ.pop(NICE_ENV, "")
    if value and hasattr(os, "nice"):
        try:
            os.nice(max(0, min(19, int(value))))
        except (ValueError, OSError):
            pass  # an unusable value or a refused change: run at normal priority
