"""`train`, `runs`, `evaluate` and `predict`.

``train --json`` is what the GUI runs as a child process: stdout carries only JSON event lines (each flushed);
everything else TensorFlow, Keras or Python prints is sent to stderr. SIGINT (Ctrl+C) or SIGTERM cancels the
run cleanly (status ``cancelled``, exit code 130); a second signal aborts at once.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from studio.commands.output import ProgressBar, cancel_on_signals, emit_json, json_stdout, table
from studio.commands.protocol import ExitCode, UserError
from studio.core.events import BatchEnd, CancelToken, EpochEnd, Event, RunFailed, RunStarted
from studio.core.project.store import Project, RunRecord
from studio.core.resolve.train import TrainChoices, resolve_train
from studio.core.specs import TrainConfig


def train_choices(args: argparse.Namespace) -> TrainChoices:
    """What the command line said (None where a flag was not given: the resolver decides)."""
    return TrainChoices(arch=args.arch, augment=bool(args.augment), epochs=args.epochs, batch_size=args.batch_size,
                        learning_rate=args.lr, patience=args.patience, image_size=args.image_size, color=args.color,
                        class_weights=bool(args.class_weights), seed=args.seed,
                        fine_tune=bool(getattr(args, "fine_tune", False)))


def train_config(project: Project, args: argparse.Namespace) -> tuple[TrainConfig, str]:
    """The run's config as the resolver decides it from the command line and the project, and a note saying
    where the augmentation came from."""
    plan = resolve_train(project, train_choices(args))
    return plan.config, plan.augment_note


def train(args: argparse.Namespace) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from studio.core.training.run import train as run_training

    task = _cluster_task()
    worker = task is not None and not task.is_chief  # a non-chief worker writes nothing into the project
    cancel = CancelToken()
    if task is not None:
        _guard_cluster(task, cancel)
    with Project.open(args.project, read_only=worker) as project:
        config, note = train_config(project, args)
        if worker:
            return _train_worker(project, config, cancel, task)
        with cancel_on_signals(cancel), json_stdout(args.json) as out:
            if args.json:
                def reporter(event: Event) -> None:
                    emit_json(event.to_dict(), out)
            else:
                print(f"training {config.arch} on {config.preprocess.image_size}x{config.preprocess.image_size} "
                      f"{config.preprocess.color}, {note}", file=sys.stderr)
                reporter = _TextProgress(config.epochs)
            run = run_training(project, config, reporter, cancel)
        if run.status == "cancelled":
            print(f"run {run.id} cancelled", file=sys.stderr)
            return ExitCode.CANCELLED
        if run.status != "finished":
            print(f"edge-studio train: error: run {run.id} failed: {run.error}", file=sys.stderr)
            if task is not None:
                _exit_now(ExitCode.ERROR)
            return ExitCode.ERROR
        if not args.json:
            m = run.metrics
            print(f"finished: best val accuracy {m.get('best_val_accuracy', 0):.4f}, test accuracy "
                  f"{_num(m.get('test_accuracy'))}, macro F1 {_num(m.get('macro_f1'))}", file=sys.stderr)
            print(run.id)
    return ExitCode.OK


def _cluster_task() -> Any:
    from studio.core.training import cluster

    try:
        return cluster.current()
    except cluster.ClusterSpecError as exc:
        raise UserError(str(exc)) from None


def _guard_cluster(task: Any, cancel: CancelToken) -> None:
    """Before TensorFlow starts: the port checked, every peer awaited (bounded, signals honoured), and a
    watchdog for the stages where TensorFlow holds the process (cluster_guard)."""
    from studio.commands.cluster_guard import ClusterGuard
    from studio.core.training import cluster

    try:
        cluster.check_port_free(task)
        timeout = cluster.join_timeout()
    except cluster.ClusterSpecError as exc:
        raise UserError(str(exc)) from None
    _host, port = cluster.split_address(cluster.own_address(task))
    print(f"note: TensorFlow's training server listens on port {port} of every network interface, without "
          "authentication: keep that port private (README: Distributed training)", file=sys.stderr)
    print(f"waiting for the other workers (at most {timeout:.0f} s)", file=sys.stderr)
    with cancel_on_signals(cancel):
        try:
            joined = cluster.wait_for_peers(task, timeout, lambda: cancel.cancelled)
        except cluster.ClusterSpecError as exc:
            raise UserError(str(exc)) from None
    if not joined:
        print("worker cancelled before training started", file=sys.stderr)
        raise SystemExit(ExitCode.CANCELLED)
    ClusterGuard(task, cancel, timeout + cluster.REGISTER_MARGIN_SECONDS).start()


def _train_worker(project: Project, config: TrainConfig, cancel: CancelToken, task: Any) -> int:
    """A non-chief worker: trains its share, prints nothing on stdout (the chief reports the run)."""
    from studio.core.training.loop import ClusterError
    from studio.core.training.run import train_worker

    print(f"training {config.arch} as {task.describe()}; the chief writes the run", file=sys.stderr)
    with cancel_on_signals(cancel), json_stdout(True):
        try:
            status = train_worker(project, config, cancel)
        except ClusterError as exc:
            print(f"edge-studio train: error: {exc}", file=sys.stderr)
            _exit_now(ExitCode.ERROR)
        except Exception as exc:  # noqa: BLE001 - TensorFlow's errors while joining or training: one line
            print(f"edge-studio train: error: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}",
                  file=sys.stderr)
            _exit_now(ExitCode.ERROR)
    if status == "cancelled":
        print("worker cancelled", file=sys.stderr)
        return ExitCode.CANCELLED
    print("worker finished; the chief holds the run", file=sys.stderr)
    return ExitCode.OK


def _exit_now(code: int) -> None:
    """End a failed cluster run's process at once: TensorFlow's shutdown would otherwise keep retrying the
    lost worker for half a minute. The run's row, files and events are written and flushed by now."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


class _TextProgress:
    """Terminal progress: a bar per epoch (batch, ETA, metrics) and one summary line per epoch on stderr."""

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs
        self.bar: ProgressBar | None = None
        self.epoch_seconds: list[float] = []

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            print(f"run {event.run}: {event.epochs} epochs of {event.steps_per_epoch} batches", file=sys.stderr)
        elif isinstance(event, BatchEnd):
            if self.bar is None:
                self.bar = ProgressBar(f"epoch {event.epoch}/{self.epochs}")
            self.bar.update(event.batch, event.steps, f"loss {event.loss:.4f} acc {event.accuracy:.4f}")
        elif isinstance(event, EpochEnd):
            if self.bar is not None:
                self.bar.close()
                self.bar = None
            self.epoch_seconds.append(event.seconds)
            left = (self.epochs - event.epoch) * sum(self.epoch_seconds) / len(self.epoch_seconds)
            eta = f", ETA {left:.0f}s" if event.epoch < self.epochs else ""
            print(f"epoch {event.epoch}/{event.epochs}: loss {event.loss:.4f} accuracy {event.accuracy:.4f} "
                  f"val_loss {event.val_loss:.4f} val_accuracy {event.val_accuracy:.4f} ({event.seconds:.1f}s{eta})",
                  file=sys.stderr)
        elif isinstance(event, RunFailed) and self.bar is not None:
            self.bar.close()
            self.bar = None


def _num(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else "-"


def runs(args: argparse.Namespace) -> int:
    from studio.core.evaluation.report import compare_runs

    with Project.open(args.project) as project:
        rows = compare_runs(project)
    if args.json:
        emit_json({"runs": rows})
        return ExitCode.OK
    if not rows:
        print("no runs yet; train one with: edge-studio train PROJECT --arch cnn")
        return ExitCode.OK
    table(["run", "arch", "augment", "status", "params", "weights KB", "best val acc", "test acc", "macro F1",
           "train s", "epochs"],
          [[r["run"], r["arch"], "yes" if r["augment"] else "no", r["status"], r["params"],
            None if r["weight_bytes"] is None else round(r["weight_bytes"] / 1024),
            r["best_val_accuracy"], r["test_accuracy"], r["macro_f1"],
            None if r["train_seconds"] is None else f"{r['train_seconds']:.1f}", r["epochs_run"]] for r in rows])
    return ExitCode.OK


def evaluate(args: argparse.Namespace) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from studio.core.evaluation.report import evaluate as evaluate_run

    with Project.open(args.project) as project, json_stdout(args.json) as out:
        report = evaluate_run(project, args.run)
        if args.json:
            emit_json(report, out)
            return ExitCode.OK
    labels = report["labels"]
    print(f"run {report['run']}: {report['n']} test images, accuracy {report['accuracy']:.4f}, "
          f"macro F1 {report['macro_f1']:.4f}\n")
    rows: list[list[Any]] = [[n, *(report["per_class"][n][k] for k in ("precision", "recall", "f1", "support"))]
                             for n in labels]
    for key in ("macro avg", "weighted avg"):
        rows.append([key, *(report[key][k] for k in ("precision", "recall", "f1", "support"))])
    table(["class", "precision", "recall", "f1", "support"], rows)
    print("\nconfusion matrix (rows: true, columns: predicted)")
    table(["", *labels], [[n, *row] for n, row in zip(labels, report["confusion_matrix"])])
    print(f"\n{len(report['misclassified'])} misclassified test images")
    world = report.get("open_world")
    if isinstance(world, dict) and world.get("answered") is not None:
        accuracy = world.get("answered_accuracy")
        print(f"answered {world['answered']:.1%} of the test images (the rest: not one of the classes or not sure)"
              + (f", accuracy of those {accuracy:.4f}" if accuracy is not None else ""))
    if report.get("saved") is False:
        print("the project is read-only: this report was not saved", file=sys.stderr)
    return ExitCode.OK


def run_and_images(project: Project, items: list[str]) -> tuple[RunRecord, list[str]]:
    """``[RUN] IMAGE...`` of predict and explain: a first item that is no file but a run id names the run
    (else the latest finished run)."""
    run_id = None
    if not Path(items[0]).exists() and items[0] in {r.id for r in project.runs()}:
        run_id, items = items[0], items[1:]
    if not items:
        raise UserError("give at least one image file")
    return project.resolve_run(run_id), items


def predict(args: argparse.Namespace) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from studio.core.evaluation import unsure
    from studio.core.evaluation.predict import predict_files

    items = list(args.items)
    with Project.open(args.project) as project, json_stdout(args.json) as out:
        run, items = run_and_images(project, items)
        started = time.monotonic()
        predictions = predict_files(project, run, items)
        # The exported page's own decision (same rule, same calibration; never the test split).
        rule = unsure.calibrate(project, run, args.keep_known, args.unsure_threshold)
        for p in predictions:
            p["unsure"] = rule.unsure(p)
        if args.json:
            emit_json({"run": run.id, "predictions": predictions, "unsure": rule.to_json()}, out)
            return ExitCode.OK
    print(f"run {run.id} ({run.arch}), {len(predictions)} images in {time.monotonic() - started:.1f}s")
    for p in predictions:
        probs = sorted(p["probabilities"].items(), key=lambda kv: -kv[1])
        answer = (f"not one of the classes (known score {p['known_score']:.3f})" if rule.not_a_class(p["known_score"])
                  else f"not sure ({p['label']}?)" if p["unsure"] else p["label"])
        print(f"{p['path']}: {answer} ({probs[0][1]:.4f})  "
              + "  ".join(f"{name}={value:.4f}" for name, value in probs))
    return ExitCode.OK
