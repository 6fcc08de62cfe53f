"""`health`: likely mislabels, near-duplicates and leaks, outliers, class warnings, suggested labels.

``--json`` prints one JSON object (the report); with ``--events`` one ``health_progress`` line per progress
report comes first (what the window's child process reads). Without ``--json`` a bar on stderr and a
readable summary on stdout. SIGINT/SIGTERM cancel (exit code 130).
"""

from __future__ import annotations

import argparse
import sys

from studio.commands.output import ProgressBar, cancel_on_signals, emit_json, json_stdout, table
from studio.commands.protocol import ExitCode
from studio.core.events import CancelToken, Event, HealthProgress
from studio.core.project.store import Project

SHOW = 10  # entries per section in the text summary


def health(args: argparse.Namespace) -> int:
    from studio.core.health.check import HealthCancelled, check_project

    with Project.open(args.project) as project:
        cancel = CancelToken()
        bar = ProgressBar("health")
        with cancel_on_signals(cancel), json_stdout(args.json) as out:
            def reporter(event: Event) -> None:
                if not isinstance(event, HealthProgress):
                    return
                if args.json and args.events:
                    emit_json(event.to_dict(), out)
                elif not args.json:
                    bar.update(event.done, event.total, event.stage)

            try:
                report = check_project(project, reporter=reporter, cancel=cancel, use_cache=not args.fresh)
            except HealthCancelled:
                bar.close()
                print("health check cancelled", file=sys.stderr)
                return ExitCode.CANCELLED
            bar.close()
            if args.json:
                emit_json(report.to_json(), out)
                return ExitCode.OK
    _print_summary(report)
    return ExitCode.OK


def _print_summary(report) -> None:  # noqa: ANN001 - a HealthReport
    print(f"{report.images} images ({report.labelled} labelled), features: {report.feature_source}, "
          f"{report.seconds:.1f} s")
    copies = report.notes.get("duplicate_copies", len(report.duplicates))
    groups = report.notes.get("duplicate_groups", len(report.duplicate_groups))
    print(f"{len(report.mislabels)} likely label mistakes, {copies} near-copies in {groups} groups "
          f"({sum(g.leak for g in report.duplicate_groups)} across splits), {len(report.outliers)} outliers, "
          f"{len(report.suggestions)} suggested labels\n")
    for w in report.warnings:
        print("warning: " + w)
    sections = [
        ("likely label mistakes", ["image", "split", "label", "suggested", "confidence"],
         [[m.id, m.split, m.label, m.suggested, m.confidence] for m in report.mislabels]),
        ("groups of copies", ["keep", "images", "splits", "leak"],
         [[g.keep, g.size, "/".join(f"{k} {v}" for k, v in g.splits.items()), "yes" if g.leak else ""]
          for g in report.duplicate_groups]),
        ("near-duplicates and leaks", ["image", "copy", "splits", "similarity", "leak"],
         [[d.a, d.b, f"{d.split_a}/{d.split_b}", d.similarity, "yes" if d.leak else ""] for d in report.duplicates]),
        ("outliers", ["image", "split", "label", "typicality"],
         [[o.id, o.split, o.label, o.score] for o in report.outliers]),
        ("label these next", ["image", "suggested", "confidence"],
         [[s.id, s.suggested, s.confidence] for s in report.label_next]),
    ]
    for title, headers, rows in sections:
        if rows:
            more = f" (first {SHOW} of {len(rows)}; --json for all)" if len(rows) > SHOW else ""
            print(f"\n{title}{more}:")
            table(headers, rows[:SHOW])
