"""Architecture rules: studio.core is Qt-free, and importing studio stays light (no TF, no Qt)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

HEAVY = ("tensorflow", "keras", "PySide6", "pyqtgraph", "tensorflowjs", "jax")


def _loaded_after(statement: str) -> list[str]:
    code = (f"import sys\n{statement}\n"
            f"print(','.join(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    return [m for m in out.stdout.strip().split(",") if m]


def test_import_studio_loads_neither_tensorflow_nor_qt():
    assert _loaded_after("import studio") == []
    assert _loaded_after("import studio.core.project") == []
    assert _loaded_after("import studio.core.importer, studio.core.specs, studio.core.events, studio.cli") == []


def test_every_core_module_imports_without_qt():
    modules = sorted(p.stem for p in (ROOT / "studio" / "core").glob("*.py") if p.stem != "__init__")
    stmt = "\n".join(f"import studio.core.{m}" for m in modules)
    loaded = _loaded_after(stmt)
    assert "PySide6" not in loaded and "pyqtgraph" not in loaded


def test_import_contract_holds():
    lint = Path(sys.executable).with_name("lint-imports")
    out = subprocess.run([str(lint)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "studio.core is Qt-free KEPT" in out.stdout


def test_ruff_is_clean():
    ruff = Path(sys.executable).with_name("ruff")
    out = subprocess.run([str(ruff), "check", "studio", "tests", "bench", "packaging"], capture_output=True,
                         text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
