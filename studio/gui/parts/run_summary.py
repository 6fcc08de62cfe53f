"""What the pages show about one run: a readable name and its key numbers, from the run's row.

Metric names are read tolerantly (the engine's current names first, older spellings after) so a page
never crashes on a run written by another version; a missing number shows as an empty cell.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from studio.core.evaluation.report import compare_row
from studio.core.project.runs import RunRecord, run_clock, run_number


def _first(metrics: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        value = metrics.get(key)
        if value is not None:
            return value
    return None


def format_bytes(n: float | None) -> str:
    if n is None:
        return ""
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000.0
    return ""


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def format_count(n: int | None) -> str:
    return "" if n is None else f"{int(n):,}"


def format_fraction(x: float | None, digits: int = 3) -> str:
    return "" if x is None else f"{float(x):.{digits}f}"


@dataclass(frozen=True)
class RunSummary:
    id: str
    arch: str
    status: str
    augmented: bool
    best_val_accuracy: float | None
    test_accuracy: float | None
    test_macro_f1: float | None
    params: int | None
    size_bytes: int | None
    seconds: float | None
    error: str | None

    @classmethod
    def of(cls, run: RunRecord) -> RunSummary:
        m = run.metrics or {}
        row = compare_row(run)  # the engine's own summary of a run; older metric spellings after it
        seconds = _first(row, "train_seconds") or _first(m, "seconds", "duration")
        if seconds is None and run.finished_at is not None:
            seconds = run.finished_at - run.created_at
        return cls(
            id=run.id, arch=run.arch, status=str(run.status), augmented=bool(row["augment"]),
            best_val_accuracy=_first({**m, **row}, "best_val_accuracy", "val_accuracy"),
            test_accuracy=_first({**m, **row}, "test_accuracy", "accuracy"),
            test_macro_f1=_first({**m, **row}, "macro_f1", "test_macro_f1"),
            params=_first({**m, **row}, "params", "parameters", "param_count"),
            size_bytes=_first({**m, **row}, "weight_bytes", "model_bytes", "size_bytes"),
            seconds=seconds, error=run.error)

    @property
    def augmentation_text(self) -> str:
        return "augmented" if self.augmented else "none"

    @property
    def stamp(self) -> str:
        clock = run_clock(self.id)
        return f"{clock} #{run_number(self.id)}" if clock else self.id

    def describe(self) -> str:
        bits = [f"{self.arch}{' + augmentation' if self.augmented else ''}", self.stamp]
        if self.test_accuracy is not None:
            bits.append(f"test acc {self.test_accuracy:.3f}")
        elif self.best_val_accuracy is not None:
            bits.append(f"val acc {self.best_val_accuracy:.3f}")
        return " · ".join(bits)

