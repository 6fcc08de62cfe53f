"""`demo`, `import` and `info`."""

from __future__ import annotations

import argparse
import os
import sys

from studio.commands.output import ProgressBar, cancel_on_signals, emit_json, table
from studio.commands.protocol import ExitCode, UserError
from studio.core.events import CancelToken, Event, ImportProgress
from studio.core.images.importer import ImportReport, import_paths
from studio.core.project.store import SPLITS, Project
from studio.core.safe_text import terminal


def _progress_reporter(bar: ProgressBar):
    def report(event: Event) -> None:
        if isinstance(event, ImportProgress):
            bar.update(event.done, event.total,
                       f"added {event.added}, duplicates {event.duplicates}, rejected {event.rejected}")
    return report


def _json_progress_reporter(event: Event) -> None:
    """``--json --events``: one ``import_progress`` line per progress report."""
    if isinstance(event, ImportProgress):
        emit_json(event.to_dict())


def _print_report(report: ImportReport, as_json: bool) -> None:
    if as_json:
        emit_json(report.to_json())
        return
    print(f"added {len(report.added)}, duplicates {len(report.duplicates)}, rejected {len(report.rejected)}"
          + (" (cancelled)" if report.cancelled else ""))
    for r in report.rejected:
        print(f"  rejected {terminal(r['path'])}: {terminal(r['reason'])}")


def demo(args: argparse.Namespace) -> int:
    from studio.core.project.demo import create_demo_project

    bar = ProgressBar("demo") if not args.json else ProgressBar("demo", stream=_NullTTY())
    project, report = create_demo_project(args.project, reporter=_progress_reporter(bar))
    bar.close()
    if args.json:
        emit_json({"project": str(project.root), **report.to_json()})
    else:
        print(f"demo project at {project.root}: {len(report.added)} images in {len(project.classes())} classes")
    project.close()
    return ExitCode.OK


def _import_paths_arg(args: argparse.Namespace) -> list[str]:
    """PATH arguments plus those listed in --paths-from (one per line; '-' reads stdin). A window that
    hands over thousands of dropped files uses the list: a command line has a length limit."""

    paths = list(args.paths)
    if args.paths_from:
        paths.extend(line for line in _read_list(args.paths_from).splitlines() if line.strip())
    if not paths:
        raise UserError("nothing to import: give at least one PATH (or --paths-from)")
    return paths


def _read_list(source: str) -> str:
    """The text of --paths-from: standard input, a file or a pipe (``<(find ...)``), UTF-8, bounded."""
    from studio.core.limits import MAX_LIST_BYTES

    try:
        if source == "-":
            data = sys.stdin.buffer.read(MAX_LIST_BYTES + 1)
        else:
            if os.path.isdir(source):
                raise UserError(f"--paths-from {source}: is a folder, not a list of paths")
            with open(source, "rb") as fh:
                data = fh.read(MAX_LIST_BYTES + 1)
    except OSError as exc:
        raise UserError(f"--paths-from {source}: {exc.strerror or exc}") from None
    if len(data) > MAX_LIST_BYTES:
        raise UserError(f"--paths-from {source}: longer than {MAX_LIST_BYTES // 2**20} MiB")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(f"--paths-from {source}: not UTF-8 text (byte {exc.start})") from None


def import_(args: argparse.Namespace) -> int:
    paths = _import_paths_arg(args)
    if getattr(args, "not_a_class", False):
        return _import_others(args, paths)
    project = Project.open_or_create(args.project)
    images_before = project.counts_total()
    bar = ProgressBar("import") if not args.json else ProgressBar("import", stream=_NullTTY())
    reporter = _json_progress_reporter if args.json and args.events else _progress_reporter(bar)
    cancel = CancelToken()
    try:
        # First Ctrl+C (or SIGTERM): stop after the current batch and report what was imported.
        with cancel_on_signals(cancel):
            report = import_paths(project, paths, label=args.label, reporter=reporter, cancel=cancel,
                                  max_pixels=int(args.max_megapixels * 1e6))
    except KeyboardInterrupt:
        # A second Ctrl+C: finished batches are committed; the rest is simply not imported.
        bar.close()
        kept = project.counts_total() - images_before
        print(f"import interrupted; {kept} images imported before the interruption are kept" +
              (", run the same import again to finish" if kept else ""), file=sys.stderr)
        return ExitCode.CANCELLED
    finally:
        project.close()
    bar.close()
    _print_report(report, args.json)
    if report.cancelled:
        print(f"import cancelled; {len(report.added)} images imported before the cancel are kept, "
              "run the same import again to finish", file=sys.stderr)
        return ExitCode.CANCELLED
    return ExitCode.OK


def _import_others(args: argparse.Namespace, paths: list[str]) -> int:
    """``import --not-a-class``: the images are "other things" (none of the classes), never a class."""
    from studio.core.project import others

    if args.label:
        raise UserError("--not-a-class images have no label; leave out --label")
    with Project.open_or_create(args.project) as project:
        report = others.add_paths(project, paths, max_pixels=int(args.max_megapixels * 1e6))
        total = others.count(project)
    if args.json:
        emit_json({**report.to_json(), "not_a_class": total})
        return 0
    print(f"added {report.added} images of other things (none of the classes), {report.duplicates} duplicates, "
          f"{len(report.rejected)} rejected; the project has {total}")
    for r in report.rejected:
        print(f"  rejected {r['path']}: {r['reason']}")
    return 0


def info(args: argparse.Namespace) -> int:
    with Project.open(args.project) as project:
        counts = project.counts()
        classes = {c.name: sum(counts.get(c.name, {}).values()) for c in project.classes()}
        splits = {s: sum(v[s] for v in counts.values()) for s in SPLITS}
        unlabelled = sum(counts.get(None, {}).values())  # type: ignore[call-overload]
        total = sum(splits.values())
        if args.json:
            emit_json({"name": project.name, "classes": classes, "splits": splits, "images": total,
                       "unlabelled": unlabelled, "runs": len(project.runs())})
            return ExitCode.OK
        print(f"{project.name}  ({project.root})")
        print(f"{total} images, {len(classes)} classes, {unlabelled} unlabelled, {len(project.runs())} runs\n")
        rows = [[name, *(counts.get(name, {}).get(s, 0) for s in SPLITS), classes[name]] for name in classes]
        if unlabelled:
            rows.append(["(unlabelled)", *(counts[None][s] for s in SPLITS), unlabelled])  # type: ignore[index]
        table(["class", *SPLITS, "total"], rows)
    return ExitCode.OK


class _NullTTY:
    def isatty(self) -> bool:
        return False

    def write(self, _s: str) -> int:
        return ExitCode.OK

    def flush(self) -> None:
        pass
