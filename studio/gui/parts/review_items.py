"""What the Review view lists: a health report turned into reviewable items, each with its reason, the action
one key takes, and whether it is still open given the project as it is now (relabelled, trashed, undone).
Qt-free, so the rules are tested without a window."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from studio.core.health.report import HealthReport
from studio.core.project.store import ImageRecord, Project

SECTIONS = (
    ("mislabels", "Likely mislabels"),
    ("duplicates", "Duplicates & leaks"),
    ("outliers", "Outliers"),
    ("suggestions", "Suggested labels"),
    ("label_next", "Label these next"),
)


@dataclass(frozen=True)
class ReviewItem:
    section: str
    image_ids: tuple[int, ...]          # the image (or the pair) shown
    title: str
    reason: str
    label_when_made: tuple[str | None, ...]  # labels the report saw; the item closes when they change
    suggest_label: str | None = None     # Enter labels image_ids[0] with this class...
    suggest_trash: int | None = None     # ...or moves this image to the trash
    review_only: bool = False            # a test image: Enter does nothing, the user decides

    @property
    def key(self) -> tuple[str, tuple[int, ...]]:
        return (self.section, self.image_ids)

    @property
    def target(self) -> int:
        """The image number keys, typing and Delete act on."""
        return self.suggest_trash if self.suggest_trash is not None else self.image_ids[0]

    def hint(self) -> str:
        if self.review_only:
            return (f"A test image: the check never relabels test images by itself. If you agree, press the "
                    f"number of {self.suggest_label!r}.")
        if self.suggest_label is not None:
            return f"Enter: label as {self.suggest_label!r}"
        if self.suggest_trash is not None:
            return f"Enter: move the copy (image {self.suggest_trash}) to the trash"
        return "Delete: move it to the trash · Space: it is fine, hide it"


def items_from_report(report: HealthReport) -> dict[str, list[ReviewItem]]:
    out: dict[str, list[ReviewItem]] = {key: [] for key, _ in SECTIONS}
    for m in report.mislabels:
        out["mislabels"].append(ReviewItem(
            "mislabels", (m.id,), f"Image {m.id} ({m.split}): {m.label} → {m.suggested}?", m.reason, (m.label,),
            suggest_label=m.suggested, review_only=m.needs_review))
    for d in report.duplicates:
        drop = _copy_to_drop(d.a, d.split_a, d.b, d.split_b)
        kind = "Leak" if d.leak else "Duplicate"
        out["duplicates"].append(ReviewItem(
            "duplicates", (d.a, d.b), f"{kind}: images {d.a} ({d.split_a}) and {d.b} ({d.split_b})", d.reason,
            (d.label_a, d.label_b), suggest_trash=drop))
    for o in report.outliers:
        out["outliers"].append(ReviewItem(
            "outliers", (o.id,), f"Image {o.id} ({o.split}, {o.label or 'unlabelled'})", o.reason, (o.label,)))
    for section, entries in (("suggestions", report.suggestions), ("label_next", report.label_next)):
        for s in entries:
            out[section].append(ReviewItem(
                section, (s.id,), f"Image {s.id}: {s.suggested}? ({s.confidence:.0%})", s.reason, (None,),
                suggest_label=s.suggested))
    return out


def _copy_to_drop(a: int, split_a: str, b: int, split_b: str) -> int:
    """Keep the training copy (the model learns from it); otherwise keep the older image."""
    if split_a == "train" and split_b != "train":
        return b
    if split_b == "train" and split_a != "train":
        return a
    return max(a, b)


def is_open(item: ReviewItem, records: dict[int, ImageRecord], dismissed: Iterable[tuple]) -> bool:
    """Still worth showing: every image still there (not trashed), labels as the report saw them, not hidden."""
    if item.key in set(dismissed):
        return False
    for image_id, label in zip(item.image_ids, item.label_when_made):
        record = records.get(image_id)
        if record is None or record.trashed_at is not None or record.label != label:
            return False
    return True


def class_problem_counts(items: dict[str, list[ReviewItem]], records: dict[int, ImageRecord],
                         dismissed: Iterable[tuple] = ()) -> dict[str, int]:
    """Open problems per class (mislabels, duplicates, outliers; not those hidden as fine) for the class panel."""
    dismissed = set(dismissed)
    counts: dict[str, int] = {}
    for section in ("mislabels", "duplicates", "outliers"):
        for item in items.get(section, ()):
            if not is_open(item, records, dismissed):
                continue
            for label in {lab for lab in item.label_when_made if lab}:
                counts[label] = counts.get(label, 0) + 1
    return counts


def health_notes(project: Project, image_ids: Iterable[int]) -> dict[int, str]:
    """Image id -> the current health report's "possible label mistake" reason (the Evaluate page's hint);
    empty when no report is current for the project as it is now."""
    from studio.core.health.check import cached_report

    report = cached_report(project)
    if report is None:
        return {}
    wanted = set(image_ids)
    return {m.id: "Possible label mistake: " + m.reason for m in report.mislabels if m.id in wanted}
