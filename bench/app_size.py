"""Size of the packaged app (`make package` builds dist/EdgeAIVisionStudio/), by component, beside its goal.

    .venv/bin/python bench/app_size.py [--app dist/EdgeAIVisionStudio]

Goal (issue 28): onedir <= 1.0 GB; the test's budget is packaging's SIZE_BUDGET. Reads the folder the last build
left; it does not build (a build takes ~5 minutes: `make package`).
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_BYTES = 1_000_000_000

# Top-level names under _internal/ -> the component they belong to (the rest is "other").
COMPONENTS = {
    "tensorflow": "TensorFlow", "keras": "Keras", "tensorflowjs": "tensorflowjs",
    "PySide6": "Qt (PySide6)", "shiboken6": "Qt (PySide6)",
    "cv2": "OpenCV", "opencv_python_headless.libs": "OpenCV",
    "scipy": "SciPy", "scipy.libs": "SciPy", "sklearn": "scikit-learn", "pandas": "pandas (for cleanlab)",
    "numpy": "NumPy", "numpy.libs": "NumPy", "onnxruntime": "ONNX Runtime + onnx", "onnx": "ONNX Runtime + onnx",
    "libpython3.11.so.1.0": "Python", "python3.11": "Python", "base_library.zip": "Python",
    "resources": "studio resources (incl. pretrained weights)", "studio": "studio", "web_template": "web page + TF.js",
    "cryptography": "cryptography (phone preview HTTPS)", "h5py": "h5py", "h5py.libs": "h5py",
}


def sizes(app: Path) -> tuple[dict[str, int], list[tuple[int, str]]]:
    by_component: dict[str, int] = defaultdict(int)
    files: list[tuple[int, str]] = []
    internal = app / "_internal"
    for path in app.rglob("*"):
        if not path.is_file() or path.is_symlink():
            continue
        size = path.stat().st_size
        rel = path.relative_to(internal) if internal in path.parents else None
        top = rel.parts[0] if rel is not None else ""
        by_component[COMPONENTS.get(top, "other (system libraries, small packages)" if rel else "program")] += size
        files.append((size, str(path.relative_to(app))))
    return by_component, sorted(files, reverse=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--app", default=str(ROOT / "dist" / "EdgeAIVisionStudio"))
    args = ap.parse_args()
    app = Path(args.app)
    if not (app / "_internal").is_dir():
        print(f"app_size: no packaged app at {app}; build it with `make package` (about 5 minutes)")
        return 0
    by_component, files = sizes(app)
    total = sum(by_component.values())
    print(f"{'component':48}{'MB':>9}{'share':>8}")
    for name, size in sorted(by_component.items(), key=lambda kv: -kv[1]):
        print(f"{name:48}{size / 1e6:9.0f}{size / total:8.0%}")
    print(f"{'total onedir':48}{total / 1e6:9.0f}")
    print("largest files: " + ", ".join(f"{name} {size / 1e6:.0f} MB" for size, name in files[:5]))
    print(f"goal <= {GOAL_BYTES / 1e9:.1f} GB: {'met' if total <= GOAL_BYTES else 'NOT met'} "
          f"({(total - GOAL_BYTES) / 1e6:+,.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
