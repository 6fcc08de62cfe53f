"""The job protocol: argv builders agree with the CLI parser, events round-trip, defaults defined once."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from studio.cli import build_parser
from studio.commands import protocol
from studio.core import events
from studio.core.images.importer import ImportReport
from studio.core.specs import PreprocessSpec, TrainConfig


def test_train_argv_parses_back_to_the_same_values() -> None:
    job = protocol.TrainJob("compact", True, epochs=7, batch_size=8, learning_rate=3e-4, patience=2)
    args = build_parser().parse_args(protocol.train_argv(Path("/p"), job))
    assert (args.command, args.project, args.arch, args.augment, args.json) == ("train", "/p", "compact", True, True)
    assert (args.epochs, args.batch_size, args.lr, args.patience) == (7, 8, 3e-4, 2)
    assert (args.image_size, args.color) == (None, None)  # left to the child's resolver


def test_a_resolved_config_travels_whole() -> None:
    config = TrainConfig(arch="dense", preprocess=PreprocessSpec(24, "rgb"), use_augment=True, epochs=12,
                         batch_size=16, learning_rate=0.01, early_stopping_patience=4)
    args = build_parser().parse_args(protocol.train_argv(Path("/p"), protocol.TrainJob.from_config(config)))
    assert (args.arch, args.augment, args.epochs, args.batch_size, args.lr, args.patience, args.image_size,
            args.color) == ("dense", True, 12, 16, 0.01, 4, 24, "rgb")


def test_training_defaults_are_the_train_config_defaults() -> None:
    defaults = TrainConfig()
    cli = build_parser().parse_args(["train", "/p"])
    job = protocol.TrainJob("cnn", False)
    # Every value left out on the command line is decided by the resolver (studio.core.resolve.train), whose
    # fallbacks are the TrainConfig defaults themselves.
    assert (cli.epochs, cli.patience, cli.batch_size, cli.lr, cli.seed) == (None,) * 5
    assert cli.arch == defaults.arch
    assert (job.epochs, job.batch_size, job.learning_rate, job.patience) == (
        defaults.epochs, defaults.batch_size, defaults.learning_rate, defaults.early_stopping_patience)


@pytest.mark.parametrize("argv", [
    protocol.import_argv("/p", ["a\nb.png"], "cat"),
    protocol.evaluate_argv("/p", "r1"),
    protocol.export_argv("/p", "r1", "/out", "uint8", zip_too=True, force=True),
    protocol.estimate_argv("/p", "r1"),
])
def test_every_builder_makes_a_command_line_the_parser_accepts(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    assert args.json and args.project == "/p"


def test_every_event_round_trips_through_its_dict() -> None:
    samples = {cls: cls(**{f.name: _sample(f.type) for f in fields(cls)}) for cls in events.EVENT_NAMES}
    for event in samples.values():
        again = events.Event.from_dict(event.to_dict())
        assert again == event and type(again) is type(event)
        assert protocol.parse_line(__import__("json").dumps(event.to_dict())) == event
    with pytest.raises(ValueError):
        events.Event.from_dict({"event": "nope"})


def _sample(type_name: str):
    return {"int": 3, "float": 0.5, "str": "x", "bool": True, "dict[str, Any]": {"a": 1}}[type_name]


def test_parse_line_keeps_results_and_skips_stray_output() -> None:
    assert protocol.parse_line('{"added": 1, "rejected": []}') == {"added": 1, "rejected": []}
    assert protocol.parse_line("Epoch 1/3 ...") is None
    assert protocol.parse_line("{broken") is None
    error = protocol.parse_line('{"event": "error", "command": "train", "error": "no images", "exit_code": 1}')
    assert isinstance(error, events.JobError) and error.error == "no images"


def test_import_report_json_round_trip() -> None:
    report = ImportReport(added=[4, 5], duplicates=["a.png"], rejected=[{"path": "b", "reason": "not an image"}],
                          cancelled=True)
    assert ImportReport.from_json(report.to_json()) == report


def test_exit_codes() -> None:
    assert [int(c) for c in protocol.ExitCode] == [0, 1, 2, 130, 141]
