"""What a health check found, as plain frozen dataclasses with a JSON round-trip (the CLI's ``--json``, the
cache file and the GUI all read this one shape)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class MislabelEntry:
    id: int
    split: str
    label: str
    suggested: str
    confidence: float       # head's probability of the suggested class
    label_quality: float    # head's probability of the current label
    reason: str

    @property
    def needs_review(self) -> bool:
        """Test images are never relabelled on the health check's say-so: the user must decide."""
        return self.split == "test"


@dataclass(frozen=True)
class DuplicateEntry:
    a: int
    b: int
    split_a: str
    split_b: str
    label_a: str | None
    label_b: str | None
    similarity: float
    leak: bool              # the two copies sit in different splits
    reason: str


@dataclass(frozen=True)
class OutlierEntry:
    id: int
    split: str
    label: str | None
    score: float
    reason: str


@dataclass(frozen=True)
class SuggestionEntry:
    id: int
    split: str
    suggested: str
    confidence: float
    uncertainty: float
    reason: str


@dataclass(frozen=True)
class ClassHealth:
    name: str
    train: int
    val: int
    test: int
    problems: int           # mislabels + outliers + duplicate copies among this class's images


@dataclass(frozen=True)
class HealthReport:
    fingerprint: str
    feature_source: str
    images: int
    labelled: int
    seconds: float
    near_duplicate_threshold: float
    mislabels: tuple[MislabelEntry, ...] = ()
    duplicates: tuple[DuplicateEntry, ...] = ()
    outliers: tuple[OutlierEntry, ...] = ()
    suggestions: tuple[SuggestionEntry, ...] = ()
    label_next: tuple[SuggestionEntry, ...] = ()
    classes: tuple[ClassHealth, ...] = ()
    warnings: tuple[str, ...] = ()
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def leaks(self) -> tuple[DuplicateEntry, ...]:
        return tuple(d for d in self.duplicates if d.leak)

    def mislabel_ids(self) -> set[int]:
        return {m.id for m in self.mislabels}

    def problems_by_class(self) -> dict[str, int]:
        return {c.name: c.problems for c in self.classes}

    def to_json(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["leaks"] = [dataclasses.asdict(d) for d in self.leaks]
        out["classes"] = {c["name"]: {k: v for k, v in c.items() if k != "name"} for c in out["classes"]}
        out["warnings"] = list(self.warnings)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HealthReport:
        lists = {"mislabels": MislabelEntry, "duplicates": DuplicateEntry, "outliers": OutlierEntry,
                 "suggestions": SuggestionEntry, "label_next": SuggestionEntry}
        kwargs = {k: v for k, v in data.items() if k in {f.name for f in dataclasses.fields(cls)}}
        for name, entry in lists.items():
            kwargs[name] = tuple(entry(**e) for e in data.get(name, ()))
        kwargs["classes"] = tuple(ClassHealth(name=n, **v) for n, v in data.get("classes", {}).items())
        kwargs["warnings"] = tuple(data.get("warnings", ()))
        return cls(**kwargs)
