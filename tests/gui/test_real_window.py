"""The real studio window on real X screens (issue 23): Xvfb at 1024x640, 1366x768 and 1920x1080, no window
manager, a fresh HOME with no saved settings. On first launch the window fits the screen; every page and the
Review view are screenshotted (test-artifacts/real_<size>_<page>.png) over a project of real photos, and the
class names are shown in full in the Classes panel at every size."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.gui.photos import write_photo_crops

# Trains one small model, then starts the studio three times; one worker runs the three screens in turn.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("real_window")]

ROOT = Path(__file__).resolve().parents[2]
SCREENS = ((1024, 640), (1366, 768), (1920, 1080))
DISPLAYS = {screen: f":{93 + i}" for i, screen in enumerate(SCREENS)}  # one X server per screen: never the last one


@pytest.fixture(scope="module")
def photo_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("real-window")
    write_photo_crops(root / "photos", per_class=30)
    project = root / "photos-project"
    for args in (["import", str(project), str(root / "photos")],
                 ["train", str(project), "--arch", "pretrained", "--epochs", "3"]):
        subprocess.run([sys.executable, "-m", "studio", *args], cwd=ROOT, capture_output=True, check=True,
                       timeout=600)
    return project


def _start_xvfb(width: int, height: int) -> subprocess.Popen:
    display = DISPLAYS[(width, height)]
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    socket = Path(f"/tmp/.X11-unix/X{display[1:]}")
    for _ in range(100):
        if socket.exists() or xvfb.poll() is not None:
            break
        time.sleep(0.05)
    if xvfb.poll() is not None:
        pytest.fail(f"Xvfb could not start on {display}")
    return xvfb


@pytest.mark.parametrize(("width", "height"), SCREENS)
def test_real_window_fits_and_shows_class_names(photo_project: Path, tmp_path: Path, artifacts_dir: Path,
                                                width: int, height: int) -> None:
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed")
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env.update(DISPLAY=DISPLAYS[(width, height)], HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
               XDG_DATA_HOME=str(home / ".local/share"), STUDIO_NO_WARMUP="1", PYTHONPATH=str(ROOT))
    xvfb = _start_xvfb(width, height)
    try:
        done = subprocess.run([sys.executable, "-m", "tests.gui.real_window_driver", str(photo_project),
                               str(artifacts_dir), f"{width}x{height}"], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=300)
    finally:
        xvfb.terminate()
        xvfb.wait(10)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("{")), None)
    assert done.returncode == 0 and line, done.stderr[-2000:]
    result = json.loads(line)
    ax, ay, aw, ah = result["available"]
    fx, fy, fw, fh = result["frame"]
    assert (aw, ah) == (width, height)
    assert ax <= fx and ay <= fy and fx + fw <= ax + aw and fy + fh <= ay + ah, result  # fits on first launch
    assert all(result["class_names_visible"].values()), result["class_names_visible"]
    assert len(result["shots"]) == 6 and all(Path(p).stat().st_size > 10_000 for p in result["shots"])
