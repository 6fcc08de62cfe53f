"""What an import did (:class:`ImportReport`), in its own module: the window shows reports without loading the
decoders (OpenCV, NumPy) that :mod:`studio.core.images.importer` needs, so they stay off the start-up path."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ImportReport"]


@dataclass
class ImportReport:
    added: list[int] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    rejected: list[dict[str, str]] = field(default_factory=list)
    cancelled: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"added": len(self.added), "duplicates": len(self.duplicates), "duplicate_paths": self.duplicates,
                "rejected": self.rejected, "cancelled": self.cancelled, "added_ids": self.added}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> ImportReport:
        """The inverse of :meth:`to_json` (a child process's ``--json`` report)."""
        added = obj.get("added_ids")
        if not isinstance(added, list):
            added = [0] * int(obj.get("added", 0))  # ids unknown: keep the count
        return cls(added=[int(i) for i in added], duplicates=[str(p) for p in obj.get("duplicate_paths", [])],
                   rejected=[{"path": str(r.get("path", "")), "reason": str(r.get("reason", ""))}
                             for r in obj.get("rejected", []) if isinstance(r, dict)],
                   cancelled=bool(obj.get("cancelled", False)))
