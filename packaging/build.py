"""`make package`: build the double-click app `dist/EdgeAIVisionStudio/` and its `.tar.gz`.

1. Installs (or reuses) the CPU-only build environment `.venv-pkg` from packaging/requirements.txt; it is
   reinstalled only when that file changes.
2. Runs PyInstaller on packaging/edge_studio.spec (onedir).
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

from bundle_contents import APP_NAME, app_icon  # noqa: E402

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
    if not env_python().is_file():
        _run([sys.executable, "-m", "venv", str(ENV)], "create .venv-pkg")
    # --no-deps: the file is the complete set; tensorflowjs' own dependencies (TF-DF, JAX, ...) stay out.
    _run([str(env_python()), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
          "-r", str(REQUIREMENTS)], "install packaging/requirements.txt into .venv-pkg")
    STAMP.write_text(digest + "\n")


def check_web_runtime() -> None:
    """Fail before the 2-minute build when the page template or the TF.js runtime is missing."""
    from studio.core import web_runtime

    template = ROOT / "web_template"
    try:
        web_runtime.page_files(template)
        web_runtime.runtime_files(template)
    except web_runtime.WebRuntimeMissing as exc:
        raise BuildError(str(exc)) from None


def run_pyinstaller() -> Path:
    _run([str(env_python()), "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
          "--distpath", str(DIST), "--workpath", str(WORK), str(SPEC)], "PyInstaller")
    app_dir = DIST / APP_NAME
    if not (app_dir / executable_name()).is_file():
        raise BuildError(f"PyInstaller finished but {app_dir / executable_name()} is missing")
    return app_dir


def executable_name() -> str:
    return APP_NAME + (".exe" if os.name == "nt" else "")


def add_linux_integration(app_dir: Path) -> None:
    """Desktop entry template, icon and install script at the top of the app folder (next to the program)."""
    shutil.copyfile(LINUX_FILES / "edge-studio.desktop", app_dir / "edge-studio.desktop")
    shutil.copyfile(app_icon(ROOT), app_dir / "edge-studio.png")
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
    args = parser.parse_args(argv)
    times: dict[str, float] = {}
    try:
        t = time.monotonic()
        ensure_env()
        times["environment"] = time.monotonic() - t
        check_web_runtime()
        t = time.monotonic()
        app_dir = run_pyinstaller()
        times["pyinstaller"] = time.monotonic() - t
        archive = None
        if sys.platform.startswith("linux"):
            add_linux_integration(app_dir)
            if not args.no_archive:
                t = time.monotonic()
                archive = write_archive(app_dir)
                times["archive"] = time.monotonic() - t
    except BuildError as exc:
        print(f"make package: error: {exc}", file=sys.stderr)
        return 1
    print(f"app:     {app_dir / executable_name()}")
    print(f"size:    {_mb(folder_bytes(app_dir))} (onedir folder)")
    if archive is not None:
        print(f"archive: {archive} ({_mb(archive.stat().st_size)})")
    print("times:   " + ", ".join(f"{k} {v:.0f} s" for k, v in times.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
