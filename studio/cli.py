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
from studio.core.export.targets import DEFAULT_TARGET, TARGETS, all_quantizations, target_class
from studio.core.specs import COLOR_MODES, PREPROCESS_RANGES, TRAIN_RANGES, Range, TrainConfig
from studio.core.training import architectures

__all__ = ["UserError", "build_parser", "main"]
_TRAIN = TrainConfig()  # the training defaults (one definition, in core)


def _in_range(kind: Callable[[str], float], allowed: Range, flag: str) -> Callable[[str], float]:
    """An argparse type checking the spec's own range (:data:`studio.core.specs.TRAIN_RANGES` and the like)."""
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not math.isfinite(value) or not allowed.contains(value):
            raise argparse.ArgumentTypeError(f"{flag} must be {allowed.text()}, not {text}")
        return value
    parse.__name__ = kind.__name__
    return parse


def _number(kind: Callable[[str], float], low: float, high: float, what: str) -> Callable[[str], float]:
    """An argparse type: a finite number in [low, high]; anything else is a usage error (exit 2)."""
    return _in_range(kind, Range(low, high), what)


def _arch_help() -> str:
    archs = architectures.all_architectures()
    return "; ".join(f"{a.name}: {a.title}" for a in archs) + f" (default {_TRAIN.arch})"


def _epochs_help() -> str:
    budgets = ", ".join(f"{a.name} {a.epoch_budget(False)}" for a in architectures.all_architectures())
    return (f"epochs (default: the architecture's budget, {budgets}; more with --augment, ended early when "
            "validation stops improving)")


def _quantize_help() -> str:
    formats = "; ".join(f"{n}: {'|'.join(target_class(n).quantizations)}" for n in TARGETS)
    preferred = ", ".join(f"{'/'.join(a.export_quantization)} for {a.name} runs"
                          for a in architectures.all_architectures() if a.export_quantization)
    return f"{formats} (default: {preferred + ' where the format has it, ' if preferred else ''}else the format's own)"


def _positive_megapixels(text: str) -> float:
    from studio.core.limits import MAX_PIXELS_CEILING

    value = _number(float, 0, MAX_PIXELS_CEILING / 1e6, "--max-megapixels")(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("--max-megapixels must be more than 0")
    return value


def _add_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="machine-readable output (JSON)")


def _add_open_world(p: argparse.ArgumentParser, unsure_threshold: bool = True) -> None:
    from studio.core.specs import DEFAULT_KEEP_KNOWN

    p.add_argument("--keep-known", type=_number(float, 0.5, 1.0, "--keep-known"), default=None, metavar="S",
                   help="share of images of the classes still answered; below that known score the answer is "
                        f"'Not one of the classes' (0.5..1; default: the project's choice, {DEFAULT_KEEP_KNOWN:g})")
    if unsure_threshold:
        p.add_argument("--unsure-threshold", type=float, default=None, metavar="P",
                       help="not sure below this top probability (as export's; default: from validation)")


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
    p.add_argument("--not-a-class", action="store_true", help="the images are none of the classes (the room, "
                   "the desk, a background): they never become a class; they measure and calibrate "
                   "'Not one of the classes'")
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
    p.add_argument("--arch", default=_TRAIN.arch, choices=architectures.names(), metavar="ARCH",
                   help=_arch_help())
    p.add_argument("--augment", action="store_true", help="use the project's augmentation settings "
                   "(the gentle preset when none are saved)")
    p.add_argument("--epochs", type=_in_range(int, TRAIN_RANGES["epochs"], "--epochs"), default=None,
                   help=_epochs_help())
    p.add_argument("--batch-size", type=_in_range(int, TRAIN_RANGES["batch_size"], "--batch-size"), default=None,
                   help=f"images per step (default {_TRAIN.batch_size})")
    p.add_argument("--lr", type=_in_range(float, TRAIN_RANGES["learning_rate"], "--lr"), default=None,
                   help=f"learning rate (default {_TRAIN.learning_rate:g})")
    p.add_argument("--image-size", type=_in_range(int, PREPROCESS_RANGES["image_size"], "--image-size"),
                   default=None, help="input size in pixels (default: the architecture's, else the project's)")
    p.add_argument("--color", choices=list(COLOR_MODES), default=None,
                   help="default: the project's, else the architecture's, else rgb when the images have colour")
    p.add_argument("--patience", type=_in_range(int, TRAIN_RANGES["early_stopping_patience"], "--patience"),
                   default=None,
                   help="early stopping patience in epochs (0 = off; default off, 5 with --augment)")
    p.add_argument("--class-weights", action="store_true", help="weight classes by inverse frequency")
    p.add_argument("--seed", type=_number(int, 0, 2**31 - 1, "--seed"), default=None,
                   help=f"random seed (default {_TRAIN.seed})")
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
    _add_open_world(p)
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
                   help=f"{DEFAULT_TARGET}: the web bundle (default); arduino: a TensorFlow Lite Micro sketch; "
                        "raspberry_pi: model.tflite + classify.py; the others: the model + metadata.json")
    p.add_argument("--quantize", choices=list(all_quantizations()), default=None, help=_quantize_help())
    p.add_argument("--zip", action="store_true", help="also write OUT.zip")
    p.add_argument("--force", action="store_true", help="replace an existing OUT folder (only one of our bundles)")
    p.add_argument("--estimate", action="store_true", help="write no bundle: for each quantization, the "
                   "bundle's size and the test accuracy of the weights the bundle holds (kept with the run)")
    p.add_argument("--title", default=None, metavar="TEXT",
                   help="the web page's title (default: the class names)")
    p.add_argument("--unsure-threshold", type=float, default=None, metavar="P",
                   help="the page says it is not sure when the top probability is below P (0..1; 0 = never); "
                        "default: derived from the validation split")
    _add_open_world(p, unsure_threshold=False)
    _add_json(p)

    p = sub.add_parser("serve", help="serve a web bundle on 127.0.0.1 for preview (--phone: to phones on your "
                       "network, over https, with a QR code)")
    p.add_argument("dir")
    p.add_argument("--port", type=_number(int, 0, 65535, "--port"), default=8000)
    p.add_argument("--open", action="store_true", help="open the system browser")
    p.add_argument("--phone", action="store_true", help="serve to devices on your network over https, behind a "
                   "one-time address shown as a QR code")
    p.add_argument("--host", metavar="ADDR", help="with --phone: this computer's address to serve on (default: "
                   "the one of the default route)")
    p.add_argument("--timeout", type=_number(float, 0.01, 24 * 60, "--timeout"), default=None, metavar="MINUTES",
                   help="with --phone: stop after this many minutes (default 30)")  # phone.DEFAULT_TIMEOUT_MIN, kept
    # out of the import so the parser (the GUI's start too) does not load the https server; a test compares them
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
    _add_verbose(sub)
    return parser


def _add_verbose(sub: argparse._SubParsersAction) -> None:
    for command in sub.choices.values():
        command.add_argument("--verbose", action="store_true",
                             help="also show TensorFlow's own start-up log on stderr")


def main(argv: Sequence[str] | None = None) -> int:
    lower_priority_if_asked()
    # Packaging (issue 7): `EdgeAIVisionStudio --self-test` / `python -m studio --self-test`, a headless check
    # of the whole pipeline (studio/selftest.py). Kept out of the parser so it stays out of --help.
    raw = sys.argv[1:] if argv is None else list(argv)
    if "--self-test" in raw:
        from studio.selftest import main as self_test

        return self_test(raw)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "export" and not args.estimate and not args.out:
        parser.error("export: the following arguments are required: --out (or --estimate)")
    if args.command == "serve" and not args.phone and (args.host is not None or args.timeout is not None):
        parser.error("serve: --host and --timeout go with --phone (the plain preview is for this computer only)")
    if args.command == "serve" and args.phone and args.open:
        parser.error("serve: --open is for the plain preview; with --phone, scan the QR code")
    if args.command in (None, "gui"):
        problem = display_problem()
        if problem:
            print(f"edge-studio: {problem}", file=sys.stderr)
            return ExitCode.ERROR
        from studio.gui.app import run_gui

        return run_gui(getattr(args, "project", None))

    if not args.verbose:
        from studio.commands.quiet_tf import quiet_tensorflow

        quiet_tensorflow()
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
        return ExitCode.BROKEN_PIPE
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
