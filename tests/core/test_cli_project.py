import json
import signal
import subprocess
import sys
from pathlib import Path

from .helpers import make_class_folder

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "studio", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout)


def test_demo_project_from_bundled_digits(tmp_path):
    out = _cli("demo", str(tmp_path / "demo"), "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["added"] == 1797
    info = json.loads(_cli("info", str(tmp_path / "demo"), "--json").stdout)
    assert info["images"] == 1797 and len(info["classes"]) == 10
    assert set(info["classes"]) == {str(d) for d in range(10)}
    text = _cli("info", str(tmp_path / "demo"))
    assert text.returncode == 0 and "10 classes" in text.stdout


def test_user_errors_are_one_line_exit_1(tmp_path):
    out = _cli("info", str(tmp_path / "missing"))
    assert out.returncode == 1
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr and "not a project" in out.stderr


def test_usage_errors_exit_2():
    assert _cli("import").returncode == 2
    assert _cli("frobnicate").returncode == 2


def test_text_import_lists_rejections(tmp_path):
    make_class_folder(tmp_path / "d", {"a": 2})
    (tmp_path / "d" / "a" / "bad.png").write_bytes(b"nope")
    out = _cli("import", str(tmp_path / "p"), str(tmp_path / "d"))
    assert out.returncode == 0
    assert "added 2, duplicates 0, rejected 1" in out.stdout and "bad.png: not an image" in out.stdout


def test_import_events_paths_from_stdin_and_clean_cancel(tmp_path):
    """What the window runs: paths on stdin, one import_progress line per report, then the report; SIGINT
    stops after a batch with exit code 130 and a report of what was kept."""
    make_class_folder(tmp_path / "d", {"a": 40, "b": 40})
    listing = f"{tmp_path / 'd' / 'a'}\n{tmp_path / 'd' / 'b'}\n"
    out = subprocess.run([sys.executable, "-m", "studio", "import", str(tmp_path / "p"), "--paths-from", "-",
                          "--json", "--events"], input=listing, capture_output=True, text=True, cwd=ROOT,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    progress = [e for e in lines if e.get("event") == "import_progress"]
    assert progress and progress[-1]["done"] == progress[-1]["total"] == 80
    assert [e["done"] for e in progress] == sorted(e["done"] for e in progress)
    report = lines[-1]
    assert report["added"] == 80 and len(report["added_ids"]) == 80 and report["cancelled"] is False

    make_class_folder(tmp_path / "big", {"c": 3000}, size=16)
    child = subprocess.Popen([sys.executable, "-m", "studio", "import", str(tmp_path / "p2"),
                              str(tmp_path / "big"), "--json", "--events"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, cwd=ROOT)
    first = json.loads(child.stdout.readline())  # the import is under way
    assert first["event"] == "import_progress"
    child.send_signal(signal.SIGINT)
    rest, err = child.communicate(timeout=120)
    assert child.returncode == 130, err
    report = json.loads(rest.strip().splitlines()[-1])
    assert report["cancelled"] is True and report["added"] < 3000
    info = json.loads(_cli("info", str(tmp_path / "p2"), "--json").stdout)
    assert info["images"] == report["added"]
