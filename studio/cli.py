"""`edge-studio` command line. Thin: parses arguments and hands over to ``studio.commands``.

Exit codes (:class:`studio.commands.protocol.ExitCode`): 0 ok, 1 user or data error (one line on stderr,
no traceback; with ``--json`` also one ``error`` object on stdout), 2 usage error, 130 cancelled.
With no subcommand the GUI opens.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from studio import APP_NAME, __version__
from studio.commands.protocol import ExitCode, UserError, error_object, lower_priority_if_asked
from studio.core.export.targets import DEFAULT_TARGET, TARGETS
from studio.core.specs import EXPORT_QUANTIZATIONS, TrainConfig

__all__ = ["UserError", "build_parser", "main"]
_TRAIN = TrainConfig()  # the training defaults (one definition, in core)


def _number(kind: Callable[[str], float], low: float, high: float, what: str) -> Callable[[str], float]:
    """An argparse type: a finite number in [low, high]; anything else is a usage error (exit 2)."""
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not math.isfinite(value) or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{what} must be between {low:g} and {high:g}, not {text}")
        return value
    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


def _positive_megapixels(text: str) -> float:
    from studio.core.limits import MAX_PIXELS_CEILING

    value = _number(float, 0, MAX_PIXELS_CEILING / 1e6, "--max-megapixels")(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("--max-megapixels must be more than 0")
    return value


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
    p.add_argument("--max-megapixels", type=_positive_megapixels, default=50.0,
                   help="reject larger images (default 50, at most 200)")
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
                   "(the gentle preset when none are saved)")
    p.add_argument("--epochs", type=_number(int, 1, 100_000, "--epochs"), default=None,
                   help="epochs (default 10; with --augment 20, ended early when validation stops improving)")
    p.add_argument("--batch-size", type=_number(int, 1, 65_536, "--batch-size"), default=_TRAIN.batch_size)
    p.add_argument("--lr", type=_number(float, 1e-12, 10, "--lr"), default=_TRAIN.learning_rate)
    p.add_argument("--image-size", type=_number(int, 8, 1024, "--image-size"), default=None)
    p.add_argument("--color", choices=["gray", "rgb"], default=None)
    p.add_argument("--patience", type=_number(int, 0, 100_000, "--patience"), default=None,
                   help="early stopping patience in epochs (0 = off; default off, 5 with --augment)")
    p.add_argument("--class-weights", action="store_true", help="weight classes by inverse frequency")
    p.add_argument("--seed", type=_number(int, 0, 2**31 - 1, "--seed"), default=_TRAIN.seed)
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

    p = sub.add_parser("explain", help="heatmaps of where the model looked for its answer, for image files")
    p.add_argument("project")
    p.add_argument("items", nargs="+", metavar="[RUN] IMAGE")
    p.add_argument("--class", dest="class_name", metavar="NAME",
                   help="show the evidence for this class (default: the predicted one)")
    p.add_argument("--out", metavar="DIR", help="write each image with its heatmap laid over it as a PNG here")
    _add_json(p)

    p = sub.add_parser("export", help="write the TF.js web bundle of a run")
    p.add_argument("project")
    p.add_argument("run", nargs="?")
    p.add_argument("--out", help="the bundle folder to write (required unless --estimate)")
    p.add_argument("--format", choices=list(TARGETS), default=DEFAULT_TARGET,
                   help="tfjs: the web bundle (default); tflite, keras or saved_model: the model + metadata.json")
    p.add_argument("--quantize", choices=list(EXPORT_QUANTIZATIONS), default=None,
                   help="tfjs: none|float16|uint8; tflite: none|float16|int8; keras, saved_model: none "
                        "(default: float16 for pretrained runs where the format has it, none otherwise)")
    p.add_argument("--zip", action="store_true", help="also write OUT.zip")
    p.add_argument("--force", action="store_true", help="replace an existing OUT folder (only one of our bundles)")
    p.add_argument("--estimate", action="store_true", help="write nothing: for each quantization, the bundle's "
                   "size and the test accuracy of the weights the bundle holds")
    p.add_argument("--unsure-threshold", type=float, default=None, metavar="P",
                   help="the page says it is not sure when the top probability is below P (0..1; 0 = never); "
                        "default: derived from the validation split")
    _add_json(p)

    p = sub.add_parser("serve", help="serve a web bundle on 127.0.0.1 for preview")
    p.add_argument("dir")
    p.add_argument("--port", type=_number(int, 0, 65535, "--port"), default=8000)
    p.add_argument("--open", action="store_true", help="open the system browser")
    _add_json(p)

    p = sub.add_parser("cluster-spec", help="print the TF_CONFIG of one worker of a multi-machine training run")
    p.add_argument("--workers", required=True, metavar="HOST:PORT,...",
                   help="every worker's address, the same list and order on every machine (the first is the chief)")
    p.add_argument("--index", type=int, required=True, metavar="N", help="this worker's place in the list (0 = chief)")
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


def main(argv: Sequence[str] | None = None) -> int:
    lower_priority_if_asked()
    # Packaging (issue 7): `EdgeAIVisionStudio --self-test` / `python -m studio --self-test`, a headless check
    # of the whole pipeline (studio/selftest.py). Kept out of the parser so it stays out of --help.
    if "--self-test" in (sys.argv[1:] if argv is None else argv):
        from studio.selftest import main as self_test

        return self_test()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "export" and not args.estimate and not args.out:
        parser.error("export: the following arguments are required: --out (or --estimate)")
    if args.command in (None, "gui"):
        problem = display_problem()
        if problem:
            print(f"edge-studio: {problem}", file=sys.stderr)
            return 1
        from studio.gui.app import run_gui

        return run_gui(getattr(args, "project", None))

    from studio.commands import dispatch
    from studio.commands.output import SafeTextStream
    from studio.core.project.store import ProjectError
    from studio.core.specs import SpecError

    streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = SafeTextStream(sys.stdout), SafeTextStream(sys.stderr)  # type: ignore[assignment]
    try:
        return dispatch(args)
    except (UserError, ProjectError, SpecError) as exc:
        message = " ".join(str(exc).split())
        if getattr(args, "json", False):
            # The one error object of --json mode: a job's parent reads it instead of parsing stderr.
            from studio.commands.output import emit_json

            emit_json(error_object(args.command, message))
        print(f"edge-studio {args.command}: error: {message}", file=sys.stderr)
        return ExitCode.ERROR
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly, as other tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.__stdout__.fileno())
        return 141
    except OSError as exc:  # the file system said no (full, read-only, gone) somewhere we did not expect it
        where = f": {exc.filename}" if exc.filename else ""
        from studio.core.limits import os_reason

        print(f"edge-studio {args.command}: error: {os_reason(exc)}{where}", file=sys.stderr)
        return ExitCode.ERROR
    except KeyboardInterrupt:
        print(f"edge-studio {args.command}: interrupted", file=sys.stderr)
        return ExitCode.CANCELLED
    finally:
        sys.stdout, sys.stderr = streams



def display_problem() -> str | None:
    """Why the window cannot open here (no display on Linux), as one line; None when it can."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return ("no display to open the studio window on (DISPLAY and WAYLAND_DISPLAY are not set); run it in a "
            "desktop session, or use the command line: edge-studio --help")


def entry() -> None:
    """The process entry point (console script and ``python -m studio``): :func:`main`, then exit."""
    exit_process(int(main() or 0))


def exit_process(code: int) -> NoReturn:
    """End the process with ``code`` (every entry point ends here, the packaged app's included)."""
    if "tensorflow" in sys.modules:
        # TensorFlow's input-pipeline threads can abort the interpreter's teardown ("terminate called without
        # an active exception") after a run failed on a bad file. Everything is written by now: leave at once.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    sys.exit(main())  # `python -m studio` and the console script go through entry()
