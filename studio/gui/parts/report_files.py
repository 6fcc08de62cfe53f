"""Save a classification report as a self-contained HTML page (plots embedded as PNG), CSV or JSON."""

from __future__ import annotations

import base64
import csv
import html
import json
from pathlib import Path
from typing import Any

from studio.core.safe_text import csv_cell
from studio.gui.parts.report_table import HEADERS, report_rows


def write_json(path: Path, report: dict[str, Any]) -> None:
    Path(path).write_text(json.dumps(report, indent=2, sort_keys=True, default=str), encoding="utf-8")


def write_csv(path: Path, report: dict[str, Any]) -> None:
    """The report table, then a blank line and the confusion matrix (rows true, columns predicted)."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        out = _SafeWriter(csv.writer(f))
        out.writerow([h.lower() for h in HEADERS])
        for name, precision, recall, f1, support in report_rows(report):
            out.writerow([name, *("" if v is None else f"{float(v):.6f}" for v in (precision, recall, f1)),
                          "" if support is None else int(support)])
        labels = [str(x) for x in report.get("labels") or []]
        if report.get("confusion_matrix"):
            out.writerow([])
            out.writerow(["true \\ predicted", *labels])
            for name, row in zip(labels, report["confusion_matrix"]):
                out.writerow([name, *row])


class _SafeWriter:
    """Class names come from users' folders: a label like ``=HYPERLINK(...)`` must stay text in a spreadsheet."""

    def __init__(self, writer: Any) -> None:
        self._writer = writer

    def writerow(self, row: list[Any]) -> None:
        self._writer.writerow([csv_cell(v) for v in row])


def write_html(path: Path, report: dict[str, Any], title: str, images: dict[str, bytes]) -> None:
    """``images``: caption -> PNG bytes (the confusion matrix, the training curves), embedded as data URLs."""
    rows = report_rows(report)
    n_classes = len(rows) - 3
    body = []
    for i, (name, precision, recall, f1, support) in enumerate(rows):
        cls = ' class="summary"' if i >= n_classes else ""
        cells = "".join(_metric_cell(v) for v in (precision, recall, f1))
        body.append(f"<tr{cls}><th>{html.escape(name)}</th>{cells}"
                    f"<td>{'' if support is None else int(support)}</td></tr>")
    figures = "".join(
        f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,'
        f'{base64.b64encode(png).decode("ascii")}"><figcaption>{html.escape(caption)}</figcaption></figure>'
        for caption, png in images.items())
    mis = report.get("misclassified") or []
    mis_rows = "".join(
        f"<tr><td>{html.escape(str(m.get('image_id', '')))}</td><td>{html.escape(str(m.get('true', '')))}</td>"
        f"<td>{html.escape(str(m.get('predicted', '')))}</td><td>{float(m.get('confidence', 0)):.3f}</td></tr>"
        for m in mis[:500])
    acc = report.get("accuracy")
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1000px; color: #1b1b1b; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
th, td {{ padding: 4px 12px; text-align: right; border-bottom: 1px solid #e3e6ea; }}
th:first-child {{ text-align: left; }}
tr.summary th, tr.summary td {{ font-weight: 600; background: #f1f3f6; }}
figure {{ display: inline-block; margin: 1em 1em 0 0; }}
figure img {{ max-width: 100%; border: 1px solid #e3e6ea; }}
.muted {{ color: #666; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p class="muted">Test split · accuracy {'' if acc is None else f'{float(acc):.4f}'} ·
macro F1 {float(report.get('macro_f1') or 0):.4f}</p>
<h2>Classification report</h2>
<table><thead><tr>{''.join(f'<th>{h}</th>' for h in HEADERS)}</tr></thead><tbody>{''.join(body)}</tbody></table>
{figures}
<h2>Misclassified test images ({len(mis)})</h2>
<table><thead><tr><th>image</th><th>true</th><th>predicted</th><th>confidence</th></tr></thead>
<tbody>{mis_rows}</tbody></table>
</body></html>
"""
    Path(path).write_text(page, encoding="utf-8")


def _metric_cell(value: float | None) -> str:
    if value is None:
        return "<td></td>"
    v = float(value)
    # Same cue as the table on screen: red when weak, green when strong.
    hue = int(120 * max(0.0, min(1.0, (v - 0.4) / 0.6)))
    return f'<td style="background:hsl({hue},70%,88%)">{v:.3f}</td>'
