"""The dialog shown after an import: how many were added, the duplicates, each rejected file and why."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from studio.core.images.report import ImportReport


def summary_text(report: ImportReport) -> str:
    added, dups, bad = len(report.added), len(report.duplicates), len(report.rejected)
    parts = [f"{added} image{'s' if added != 1 else ''} added"]
    if dups:
        parts.append(f"{dups} duplicate{'s' if dups != 1 else ''} skipped")
    if bad:
        parts.append(f"{bad} file{'s' if bad != 1 else ''} rejected")
    text = ", ".join(parts)
    return text + (" (cancelled)" if report.cancelled else "")


def _table(headers: list[str], rows: list[list[str]]) -> QTableWidget:
    table = QTableWidget(len(rows), len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
    table.setAlternatingRowColors(True)
    table.setWordWrap(False)
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            item = QTableWidgetItem(text)
            item.setToolTip(text)
            table.setItem(r, c, item)
    header = table.horizontalHeader()
    for c in range(len(headers)):
        header.setSectionResizeMode(c, QHeaderView.ResizeMode.Stretch if c == 0 else
                                    QHeaderView.ResizeMode.ResizeToContents)
    return table


class ImportReportDialog(QDialog):
    def __init__(self, report: ImportReport, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("importReport")
        self.setWindowTitle("Import finished" if not report.cancelled else "Import cancelled")
        self.report = report
        self.resize(720, 440)
        headline = QLabel(summary_text(report))
        headline.setObjectName("dialogHeadline")
        self.headline = headline
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 18, 18, 18)
        layout.setSpacing(12)
        layout.addWidget(headline)

        self.tabs = QTabWidget()
        self.rejected_table = _table(["File", "Reason"], [[r["path"], r["reason"]] for r in report.rejected])
        self.duplicates_table = _table(["File (already in the project)"], [[p] for p in report.duplicates])
        self.tabs.addTab(self.rejected_table, f"Rejected ({len(report.rejected)})")
        self.tabs.addTab(self.duplicates_table, f"Duplicates ({len(report.duplicates)})")
        if report.rejected or report.duplicates:
            layout.addWidget(self.tabs, 1)
            if not report.rejected:
                self.tabs.setCurrentIndex(1)
        else:
            self.tabs.hide()
            ok = QLabel("Every file was a valid, new image.")
            ok.setAlignment(Qt.AlignmentFlag.AlignLeft)
            layout.addWidget(ok)
            layout.addStretch(1)
            self.resize(420, 160)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        layout.addWidget(buttons)
