"""Where the web page template and the pinned TensorFlow.js runtime live on this machine.

The runtime is never committed and never loaded from a CDN: `make setup` fetches it with npm from
``web_template/package.json`` + lock into ``web_template/node_modules``, and the export copies the few
minified UMD files a graph model needs (and the WebAssembly backend's ``.wasm`` binaries) into the bundle's
``vendor/`` folder. `make setup` also renders the app icon at the sizes the web app manifest names into
``web_template/icons`` (ignored, like node_modules: generated from ``resources/app-icon.svg``).
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from studio.core.project.store import ProjectError

TEMPLATE_ENV = "EDGE_STUDIO_WEB_TEMPLATE"
PAGE_FILES = ("index.html", "script.js", "style.css")
# The service worker is written by the export (it carries the bundle's version and file list): sw.template.js.
SERVICE_WORKER_TEMPLATE = "sw.template.js"
ICON_DIR = "icons"
ICON_SIZES = (192, 512)  # what Chromium's installability check asks a manifest for

# Load order matters: the backends and the converter attach themselves to the global `tf` made by core.
# The es2017 builds are the smallest UMD builds (every browser with getUserMedia runs ES2017).
RUNTIME_FILES: tuple[tuple[str, str], ...] = (
    ("@tensorflow/tfjs-core", "dist/tf-core.es2017.min.js"),
    ("@tensorflow/tfjs-backend-cpu", "dist/tf-backend-cpu.es2017.min.js"),
    ("@tensorflow/tfjs-backend-webgl", "dist/tf-backend-webgl.es2017.min.js"),
    ("@tensorflow/tfjs-backend-wasm", "dist/tf-backend-wasm.es2017.min.js"),
    ("@tensorflow/tfjs-converter", "dist/tf-converter.es2017.min.js"),
    # Only the SIMD binary: the threaded one needs blob: workers the page's CSP refuses (never fetched), and a
    # browser without WebAssembly SIMD (none current: Chrome 91, Firefox 89, Safari 16.4 have it) is not
    # offered the wasm backend by the page and runs on WebGL or the CPU backend instead.
    ("@tensorflow/tfjs-backend-wasm", "dist/tfjs-backend-wasm-simd.wasm"),
)
WEBGL_FILE = "tf-backend-webgl.es2017.min.js"
# A model with fewer weights than this ships without the WebGL backend: WebAssembly with SIMD runs it faster
# (here 1.5 ms vs 24 ms per inference for the compact CNN; TF.js's own benchmark has a 0.1M-parameter face
# detector on plain, non-SIMD WebAssembly as fast as WebGL, and SIMD is 1.7-4x faster than plain).
WEBGL_MIN_PARAMETERS = 100_000


class WebRuntimeMissing(ProjectError):
    """The page template or the TF.js runtime is not installed (a set-up problem, not a data problem)."""


@dataclass(frozen=True)
class RuntimeFile:
    package: str
    version: str
    source: Path

    @property
    def name(self) -> str:
        return self.source.name


def template_dir() -> Path:
    """The ``web_template`` folder: ``$EDGE_STUDIO_WEB_TEMPLATE``, the frozen app's data, or the checkout."""
    override = os.environ.get(TEMPLATE_ENV)
    if override:
        return Path(override)
    frozen_root = getattr(sys, "_MEIPASS", None)  # PyInstaller unpacks data files here
    if frozen_root:
        return Path(frozen_root) / "web_template"
    return Path(__file__).resolve().parents[3] / "web_template"


def page_files(root: Path | None = None) -> list[Path]:
    root = root or template_dir()
    missing = [name for name in PAGE_FILES if not (root / name).is_file()]
    if missing:
        raise WebRuntimeMissing(f"the web page template is incomplete in {root} (missing {', '.join(missing)})")
    return [root / name for name in PAGE_FILES]


def service_worker_template(root: Path | None = None) -> Path:
    root = root or template_dir()
    path = root / SERVICE_WORKER_TEMPLATE
    if not path.is_file():
        raise WebRuntimeMissing(f"the web page template is incomplete in {root} (missing {SERVICE_WORKER_TEMPLATE})")
    return path


def icon_name(size: int) -> str:
    return f"icon-{size}.png"


def icon_files(root: Path | None = None) -> list[Path]:
    """The app icon as PNGs at :data:`ICON_SIZES` (rendered from the SVG by `make setup`)."""
    folder = (root or template_dir()) / ICON_DIR
    paths = [folder / icon_name(size) for size in ICON_SIZES]
    if not all(p.is_file() for p in paths):
        raise WebRuntimeMissing(f"the web app icons are not rendered ({folder}); run `make setup` "
                                "(it renders resources/app-icon.svg with packaging/render_icon.py)")
    return paths


def runtime_files(root: Path | None = None) -> list[RuntimeFile]:
    """The vendored TF.js files, in load order; a clear error when `make setup` has not fetched them."""
    modules = (root or template_dir()) / "node_modules"
    found: list[RuntimeFile] = []
    for package, rel in RUNTIME_FILES:
        source = modules / package / rel
        manifest = modules / package / "package.json"
        if not source.is_file() or not manifest.is_file():
            raise WebRuntimeMissing(
                f"the TensorFlow.js runtime is not installed ({package} missing under {modules}); "
                "run `make setup` (it fetches the pinned runtime with npm)")
        version = str(json.loads(manifest.read_text(encoding="utf-8")).get("version", "unknown"))
        found.append(RuntimeFile(package, version, source))
    versions = {f.version for f in found}
    if len(versions) != 1:
        raise WebRuntimeMissing(f"mixed TensorFlow.js versions installed ({sorted(versions)}); run `make setup`")
    return found


def for_model(files: list[RuntimeFile], parameters: int) -> list[RuntimeFile]:
    """The runtime files a page for a model of ``parameters`` weights can use."""
    if parameters >= WEBGL_MIN_PARAMETERS:
        return files
    return [f for f in files if f.name != WEBGL_FILE]


def tfjs_version(root: Path | None = None) -> str:
    return runtime_files(root)[0].version
