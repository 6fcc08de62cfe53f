"""Arguments and output: usage errors instead of tracebacks, no display, escaped names, safe CSV cells."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from studio.core.safe_text import csv_cell, terminal
from tests.core.helpers import make_class_folder, write_image


@pytest.mark.parametrize("args", [
    ("import", "P", "x.png", "--max-megapixels", "nan"),
    ("import", "P", "x.png", "--max-megapixels", "inf"),
    ("import", "P", "x.png", "--max-megapixels", "-3"),
    ("import", "P", "x.png", "--max-megapixels", "1e9"),
    ("train", "P", "--seed", "-1"),
    ("train", "P", "--epochs", "0"),
    ("train", "P", "--lr", "nan"),
    # The spec's own ranges (studio.core.specs.TRAIN_RANGES / PREPROCESS_RANGES), checked by the parser.
    ("train", "P", "--epochs", "20000"),
    ("train", "P", "--batch-size", "5000"),
    ("train", "P", "--image-size", "600"),
    ("train", "P", "--arch", "no_such_net"),
    ("serve", "D", "--port", "70000"),
])
def test_bad_numbers_are_usage_errors(cli, args) -> None:
    r = cli(*args)
    assert r.rc == 2 and "error: argument" in r.err
    assert len([line for line in r.err.splitlines() if "error:" in line]) == 1, r.err


def test_paths_from_problems_are_one_line(cli, tmp_path: Path) -> None:
    (tmp_path / "latin1.txt").write_bytes(b"caf\xe9.png\n")
    for source, expect in ((tmp_path / "missing.txt", "No such file"), (tmp_path, "is a folder"),
                           (tmp_path / "latin1.txt", "not UTF-8")):
        r = cli("import", tmp_path / "p", "--paths-from", source)
        assert r.rc == 1 and expect in r.one_error_line()
    assert not (tmp_path / "p").exists()


def test_no_display_is_one_line(cli) -> None:
    r = cli(env={"DISPLAY": None, "WAYLAND_DISPLAY": None, "QT_QPA_PLATFORM": None})
    assert r.rc == 1 and "no display" in r.one_error_line()


def test_names_cannot_drive_the_terminal(cli, tmp_path: Path) -> None:
    evil = "\x1b]0;pwned\x07\x1b[2J"
    make_class_folder(tmp_path / "in", {f"cls{evil}": 2, "b": 2})
    write_image(tmp_path / "in" / "b" / f"file{evil}", seed=99)
    (tmp_path / "in" / "b" / f"bad{evil}.png").write_bytes(b"nope")
    for r in (cli("import", tmp_path / "p", tmp_path / "in"), cli("info", tmp_path / "p")):
        assert r.rc == 0
        assert "\x1b" not in r.out + r.err and "\x07" not in r.out + r.err
        assert "\\x1b" in r.out
    report = cli("info", tmp_path / "p", "--json").report  # JSON keeps the real name, escaped the JSON way
    assert f"cls{evil}" in report["classes"]


def test_terminal_and_csv_escaping_rules() -> None:
    assert terminal("a\x1b[31mb\u202ec\udce9") == "a\\x1b[31mb\\u202ec\\udce9"
    assert terminal("line\n", keep="\n") == "line\n"
    assert [csv_cell(v) for v in ("=HYPERLINK(\"x\")", "+1+1", "@SUM(A1)", "-0.5", "cat", 3)] == \
        ["'=HYPERLINK(\"x\")", "'+1+1", "'@SUM(A1)", "-0.5", "cat", 3]


def test_report_csv_writes_formula_labels_as_text(tmp_path: Path) -> None:
    from studio.gui.parts.report_files import write_csv

    labels = ['=HYPERLINK("http://evil","x")', "ok"]
    report = {"labels": labels, "accuracy": 1.0, "macro_f1": 1.0, "confusion_matrix": [[1, 0], [0, 1]],
              "per_class": {n: {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1} for n in labels},
              "macro avg": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 2},
              "weighted avg": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 2}}
    write_csv(tmp_path / "r.csv", report)
    cells = [c for row in csv.reader(open(tmp_path / "r.csv", encoding="utf-8")) for c in row]
    assert not any(c.startswith("=") for c in cells)
    assert "'" + labels[0] in cells


