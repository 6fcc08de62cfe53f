"""`export` and `serve`."""

from __future__ import annotations

import argparse
import sys

from studio.commands.output import ProgressBar, emit_json, json_stdout, table
from studio.commands.protocol import ExitCode
from studio.core.events import Event
from studio.core.project.store import Project
from studio.core.resolve.export import ExportChoices, resolve_export


def export(args: argparse.Namespace) -> int:
    if args.estimate:
        return estimate(args)
    from studio.core.export.exporter import ExportStep, export_bundle

    bar = ProgressBar("export")
    if args.json:
        bar.enabled = False

    def report(event: Event) -> None:
        if isinstance(event, ExportStep):
            bar.update(event.done, event.total, event.step, force=True)

    from studio.core.export.targets import get_target

    with Project.open(args.project) as project:
        plan = resolve_export(project, args.run, export_choices(args))
        target = get_target(plan.format)
        result = export_bundle(project, args.run, args.out, plan.options, reporter=report, target=target)
    bar.update(1, 1, "done", force=True)
    bar.close()
    if args.json:
        emit_json(result.to_json())
        return ExitCode.OK
    kind = "web bundle" if target.web_page else f"{target.name} model"
    print(f"{kind} of run {result.run} ({result.quantization}) at {result.out}: "
          f"{len(result.files)} files, {result.bytes / 1e6:.2f} MB (model {result.model_bytes / 1e3:.1f} kB)")
    for note in result.notes:
        print(f"note: {note}")
    if result.zip_path:
        print(f"zip: {result.zip_path}")
    if target.web_page:
        print(f"preview: edge-studio serve {result.out}")
    return ExitCode.OK


def export_choices(args: argparse.Namespace) -> ExportChoices:
    """What the command line said (None where a flag was not given: the resolver decides)."""
    return ExportChoices(format=args.format, quantization=args.quantize, unsure_threshold=args.unsure_threshold,
                         keep_known=getattr(args, "keep_known", None), title=getattr(args, "title", None),
                         zip=bool(args.zip), force=bool(args.force))


def estimate(args: argparse.Namespace) -> int:
    """``export --estimate``: one ``quantization`` event per line as each is measured, then
    ``{"run", "estimates"}``; without --json, a table."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from studio.core.export.estimate import estimate as measure

    with Project.open(args.project) as project, json_stdout(args.json) as out:
        def report(event: Event) -> None:
            if args.json:
                emit_json(event.to_dict(), out)
            else:
                print(f"measured {event.quantization}", file=sys.stderr)  # type: ignore[attr-defined]

        from studio.core.export.targets import get_target

        rows = measure(project, args.run, reporter=report, target=get_target(args.format))
        if args.json:
            emit_json({"run": rows[0].run if rows else args.run,
                       "estimates": [r.to_dict() for r in rows]}, out)
            return ExitCode.OK
    print(f"run {rows[0].run}: each quantization exported and its own weights tested on the test split")
    table(["quantization", "bundle", "model", "test accuracy", "macro F1"],
          [[r.quantization, f"{r.bytes / 1e6:.2f} MB", f"{r.model_bytes / 1e3:.1f} kB", r.test_accuracy, r.macro_f1]
           for r in rows])
    return ExitCode.OK


def serve(args: argparse.Namespace) -> int:
    import signal

    if args.phone:
        from studio.commands.phone_cmd import serve_phone

        return serve_phone(args)
    from studio.core.export.serve import PreviewServer

    server = PreviewServer(args.dir, port=args.port).start()
    # `kill` (SIGTERM) stops as cleanly as Ctrl+C: the socket is closed, the exit code is 0.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        if args.json:
            emit_json({"url": server.url, "dir": str(server.root), "port": server.port})
        else:
            print(f"serving {server.root} at {server.url} (127.0.0.1 only; Ctrl+C to stop)", flush=True)
        if args.open:
            import webbrowser

            if not webbrowser.open(server.url):
                print(f"could not open a browser; open {server.url} yourself", file=sys.stderr)
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return ExitCode.OK
