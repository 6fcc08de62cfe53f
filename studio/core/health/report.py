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
class DuplicateGroup:
    """Images that are all copies of one another (a connected group of confirmed near-copies, e.g. a burst of
    video frames). ``ids`` lists at most :data:`studio.core.health.check.GROUP_LISTED` of its ``size`` images,
    the one to keep first."""

    keep: int
    ids: tuple[int, ...]
    size: int
    splits: dict[str, int]   # images per split
    labels: tuple[str, ...]  # distinct labels among its images (unlabelled left out)
    leak: bool               # spans more than one split
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
    duplicate_groups: tuple[DuplicateGroup, ...] = ()
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
        """The inverse of :meth:`to_json`. Anything of another shape or type (a damaged or hand-made file)
        raises TypeError, ValueError or KeyError."""
        if not isinstance(data, dict):
            raise TypeError(f"a report is an object, not {type(data).__name__}")
        lists = {"mislabels": MislabelEntry, "duplicates": DuplicateEntry, "outliers": OutlierEntry,
                 "suggestions": SuggestionEntry, "label_next": SuggestionEntry, "duplicate_groups": DuplicateGroup}
        kwargs = {k: v for k, v in data.items() if k in {f.name for f in dataclasses.fields(cls)}}
        for name, entry in lists.items():
            kwargs[name] = tuple(_typed(entry, e) for e in _list(data.get(name, [])))
        classes = data.get("classes", {})
        if not isinstance(classes, dict):
            raise TypeError("classes is not an object")
        kwargs["classes"] = tuple(_typed(ClassHealth, {"name": n, **_dict(v)}) for n, v in classes.items())
        kwargs["warnings"] = tuple(_list(data.get("warnings", [])))
        if not all(isinstance(w, str) for w in kwargs["warnings"]) or not isinstance(kwargs.get("notes", {}), dict):
            raise TypeError("warnings or notes of the wrong type")
        return _typed(cls, kwargs, nested=True)


# ----- type checks of a report read back (it comes from a file in the project) -------------------------
_SCALARS: dict[str, tuple[type, ...]] = {
    "int": (int,), "str": (str,), "float": (int, float), "bool": (bool,), "str | None": (str, type(None)),
}


def _list(value: Any) -> list[Any]:
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"expected a list, not {type(value).__name__}")
    return list(value)


def _dict(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, not {type(value).__name__}")
    return value


def _typed(cls: type, values: Any, nested: bool = False) -> Any:
    """``cls(**values)`` once every scalar field has its declared type (bool is not an int here)."""
    values = _dict(values)
    for f in dataclasses.fields(cls):
        want = _SCALARS.get(str(f.type))
        if f.name not in values:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise KeyError(f.name)
            continue
        v = values[f.name]
        if want is not None and (not isinstance(v, want) or (isinstance(v, bool) and bool not in want)):
            raise TypeError(f"{cls.__name__}.{f.name} is {type(v).__name__}, expected {f.type}")
    if cls is DuplicateGroup:
        values = {**values, "ids": tuple(int(i) for i in _list(values["ids"])),
                  "labels": tuple(str(x) for x in _list(values["labels"])), "splits": _dict(values["splits"])}
    elif not nested and any(isinstance(v, (list, dict)) for v in values.values()):
        raise TypeError(f"{cls.__name__} holds a nested value")
    return cls(**values)
