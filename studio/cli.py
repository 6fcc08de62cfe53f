"""`edge-studio` command line. Thin: parses arguments and hands over to ``studio.commands``.

Exit codes: 0 ok, 1 user or data error (one line on stderr, no traceback), 2 usage error.
With no subcommand the GUI opens.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from studio import APP_NAME, __version__


class UserError(Exception):
    """A problem the user can fix; printed as one line, exit code 1."""


def _add_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="machine-readable output (JSON)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edge-studio", description=f"{APP_NAME}: browser image classifiers.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("demo", help="create the demo project (handwritten digits)")
    p.add_argument("project")
    _add_json(p)

    p = sub.add_parser("import", help="import image files, folders, zips or path,label CSVs")
    p.add_argument("project")
    p.add_argument("paths", nargs="*", metavar="PATH")
    p.add_argument("--paths-from", metavar="FILE", help="also import the paths listed in FILE, one per line "
                   "('-' = standard input)")
    p.add_argument("--label", help="label every imported image with this class")
    p.add_argument("--max-megapixels", type=float, default=50.0, help="reject larger images (default 50)")
    _add_json(p)
    p.add_argument("--events", action="store_true", help="with --json: first one import_progress event per "
                   "line as the import goes, then the report")

    p = sub.add_parser("info", help="classes and counts per class and split")
    p.add_argument("project")
    _add_json(p)

    p = sub.add_parser("train", help="train a model; prints the run id")
    p.add_argument("project")
    p.add_argument("--arch", default="cnn", help="pretrained | dense | cnn | cnn_dropout | compact")
    p.add_argument("--augment", action="store_true", help="use the project's augmentation settings "
                   "(the original pipeline when none are saved)")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--image-size", type=int, default=None)
    p.add_argument("--color", choices=["gray", "rgb"], default=None)
    p.add_argument("--patience", type=int, default=0, help="early stopping patience in epochs (0 = off)")
    p.add_argument("--class-weights", action="store_true", help="weight classes by inverse frequency")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fine-tune", action="store_true", help="pretrained only: after the head, also train the "
                   "backbone's last blocks at a low learning rate, with augmentation")
    _add_json(p)

    p = sub.add_parser("runs", help="the runs table")
    p.add_argument("project")
    _add_json(p)

    p = sub.add_parser("evaluate", help="classification report on the test split")
    p.add_argument("project")
    p.add_argument("run", nargs="?")
    _add_json(p)

    p = sub.add_parser("predict", help="label and class probabilities for image files")
    p.add_argument("project")
    p.add_argument("items", nargs="+", metavar="[RUN] IMAGE")
    _add_json(p)

    p = sub.add_parser("export", help="write the TF.js web bundle of a run")
    p.add_argument("project")
    p.add_argument("run", nargs="?")
    p.add_argument("--out", required=True)
    p.add_argument("--quantize", choices=["none", "float16", "uint8"], default=None,
                   help="weight quantization (default: float16 for pretrained runs, none otherwise)")
    p.add_argument("--zip", action="store_true", help="also write OUT.zip")
    p.add_argument("--force", action="store_true", help="replace an existing OUT folder")
    _add_json(p)

    p = sub.add_parser("serve", help="serve a web bundle on 127.0.0.1 for preview")
    p.add_argument("dir")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--open", action="store_true", help="open the system browser")
    _add_json(p)

    p = sub.add_parser("health", help="likely label mistakes, near-duplicates and leaks, outliers, "
                       "suggested labels")
    p.add_argument("project")
    p.add_argument("--fresh", action="store_true", help="compute again even when a current report is cached")
    _add_json(p)
    p.add_argument("--events", action="store_true", help="with --json: first one health_progress event per "
                   "line, then the report")

    p = sub.add_parser("gui", help="open the studio")
    p.add_argument("project", nargs="?")
    return parser


def lower_priority_if_asked() -> None:
    """Jobs the window starts (training, import, export) run with ``EDGE_STUDIO_NICE=N``: the process lowers
    its own CPU priority before any thread exists, so every thread it starts inherits it and the window
    stays responsive while the job uses every core. The variable is consumed, not passed on."""
    value = os.environ.pop("EDGE_STUDIO_NICE", "")
    if value and hasattr(os, "nice"):
        try:
            os.nice(max(0, min(19, int(value))))
        except (ValueError, OSError):
            pass  # an unusable value or a refused change: run at normal priority


def main(argv: Sequence[str] | None = None) -> int:
    lower_priority_if_asked()
    # Packaging (issue 7): `EdgeAIVisionStudio --self-test` / `python -m studio --self-test`, a headless check
    # of the whole pipeline (studio/selftest.py). Kept out of the parser so it stays out of --help.
    if "--self-test" in (sys.argv[1:] if argv is None else argv):
        from studio.selftest import main as self_test

        return self_test()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command in (None, "gui"):
        from studio.gui.app import run_gui

        return run_gui(getattr(args, "project", None))

    from studio.commands import dispatch
    from studio.core.project import ProjectError
    from studio.core.specs import SpecError

    try:
        return dispatch(args)
    except (UserError, ProjectError, SpecError) as exc:
        print(f"edge-studio {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"edge-studio {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
