import json
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
