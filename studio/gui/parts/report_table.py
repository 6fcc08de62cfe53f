"""The classification report as a table: precision, recall, F1 and support per class, then the averages.

Metric cells are tinted from red (0) through amber to green (1) so weak classes stand out at a glance.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QToolButton, QWidget

from studio.gui.parts.plain_words import meaning

HEADERS = ("Class", "Precision", "Recall", "F1", "Support")
METRIC_KEYS = ("precision", "recall", "f1", "support")


def score_color(value: float) -> QColor:
    """Pale red below 0.5, pale amber around 0.75, pale green at 1 (readable with dark text)."""
    v = max(0.0, min(1.0, value))
    if v < 0.75:
        t = max(0.0, (v - 0.4) / 0.35)
        return QColor(248, int(205 + 30 * t), int(205 - 25 * t))
    t = (v - 0.75) / 0.25
    return QColor(int(248 - 58 * t), int(235 - 3 * t), int(180 + 10 * t))


def _f1(entry: dict[str, Any]) -> Any:
    return entry.get("f1", entry.get("f1-score", entry.get("f1_score")))


def report_rows(report: dict[str, Any]) -> list[tuple[str, float | None, float | None, float | None, int | None]]:
    """(name, precision, recall, f1, support) per class in label order, then macro avg, weighted avg and
    accuracy; the same rows the table shows and the CSV export writes."""
    per_class: dict[str, Any] = report.get("per_class") or {}
    labels = [str(x) for x in report.get("labels") or list(per_class)]
    rows: list[tuple[str, float | None, float | None, float | None, int | None]] = []
    for name in labels:
        entry = per_class.get(name, {})
        rows.append((name, entry.get("precision"), entry.get("recall"), _f1(entry), entry.get("support")))
    total = sum(int(r[4] or 0) for r in rows) or None
    for key, title in (("macro_avg", "macro avg"), ("weighted_avg", "weighted avg")):
        entry = report.get(key) or report.get(title) or {}
        if not entry and key == "macro_avg" and report.get("macro_f1") is not None:
            entry = {"f1": report["macro_f1"]}
        rows.append((title, entry.get("precision"), entry.get("recall"), _f1(entry),
                     entry.get("support", total)))
    rows.append(("accuracy", None, None, report.get("accuracy"), total))
    return rows


class ReportTable(QTableWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(HEADERS), parent)
        self.setHorizontalHeaderLabels(HEADERS)
        for column, title in enumerate(HEADERS):
            self.horizontalHeaderItem(column).setToolTip(meaning(title))
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setShowGrid(False)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)

    def set_report(self, report: dict[str, Any] | None) -> None:
        rows = report_rows(report) if report else []
        n_classes = len(rows) - 3 if rows else 0
        self.setRowCount(len(rows))
        bold = QFont(self.font())
        bold.setBold(True)
        for r, (name, precision, recall, f1, support) in enumerate(rows):
            summary = r >= n_classes
            name_item = QTableWidgetItem(name)
            if summary:
                name_item.setToolTip(meaning(name))
                name_item.setFont(bold)
                name_item.setBackground(QColor("#f1f3f6"))
            self.setItem(r, 0, name_item)
            for c, value in enumerate((precision, recall, f1), start=1):
                item = QTableWidgetItem("" if value is None else f"{float(value):.3f}")
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if value is not None:
                    item.setBackground(score_color(float(value)))
                    item.setForeground(QColor("#1b1b1b"))
                elif summary:
                    item.setBackground(QColor("#f1f3f6"))
                if summary:
                    item.setFont(bold)
                self.setItem(r, c, item)
            item = QTableWidgetItem("" if support is None else str(int(support)))
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if summary:
                item.setBackground(QColor("#f1f3f6"))
                item.setFont(bold)
            self.setItem(r, 4, item)

    def cell_text(self, row: int, column: int) -> str:
        item = self.item(row, column)
        return item.text() if item else ""


def details_toggle(table: QWidget) -> QToolButton:
    """A button that shows or hides the expert table (precision, recall, F1 per class)."""
    button = QToolButton()
    button.setObjectName("reportDetailsButton")
    button.setCheckable(True)
    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    button.setArrowType(Qt.ArrowType.RightArrow)
    button.setText("Details per class (precision, recall, F1)")
    button.setToolTip("The expert table; hover its column titles for what each number means")

    def toggled(on: bool) -> None:
        table.setVisible(on)
        button.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)

    button.toggled.connect(toggled)
    return button
