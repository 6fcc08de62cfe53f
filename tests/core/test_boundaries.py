"""Architecture rules: studio.core is Qt-free, and importing studio stays light (no TF, no Qt)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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
    assert _loaded_after("import studio.core.project.store") == []
    assert _loaded_after("import studio.core.images.importer, studio.core.specs, studio.core.events, studio.cli") == []


def test_every_core_module_imports_without_qt():
    modules = sorted(p.stem for p in (ROOT / "studio" / "core").glob("*.py") if p.stem != "__init__")
    stmt = "\n".join(f"import studio.core.{m}" for m in modules)
    loaded = _loaded_after(stmt)
    assert "PySide6" not in loaded and "pyqtgraph" not in loaded


CONTRACTS = ("studio.core is Qt-free", "studio.core imports none of commands, cli, gui",
             "studio.commands does not import studio.cli", "studio.gui does not import studio.cli")


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    lint = Path(sys.executable).with_name("lint-imports")
    return subprocess.run([str(lint), "--config", str(root / "pyproject.toml"), "--no-cache"], capture_output=True,
                          text=True, cwd=root, timeout=300, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})


def test_import_contracts_hold():
    out = _lint_imports(ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    for name in CONTRACTS:
        assert f"{name} KEPT" in out.stdout


@pytest.mark.parametrize("module, statement, broken", [
    ("gui/uses_cli.py", "from studio.cli import build_parser", "studio.gui does not import studio.cli"),
    ("commands/uses_cli.py", "import studio.cli", "studio.commands does not import studio.cli"),
    ("core/uses_commands.py", "from studio.commands import protocol", "studio.core imports none of commands"),
])
def test_an_import_back_up_breaks_a_contract(tmp_path: Path, module: str, statement: str, broken: str):
    """The contracts can fail: the same code plus one module that imports back up is rejected."""
    shutil.copytree(ROOT / "studio", tmp_path / "studio", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "studio" / module).write_text(f'"""A module that breaks the layering."""\n\n{statement}\n')
    out = _lint_imports(tmp_path)
    assert out.returncode != 0, out.stdout
    assert f"{broken}" in out.stdout and "BROKEN" in out.stdout, out.stdout


def test_ruff_is_clean():
    ruff = Path(sys.executable).with_name("ruff")
    out = subprocess.run([str(ruff), "check", "studio", "tests", "bench", "packaging"], capture_output=True,
                         text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


def test_core_is_grouped_by_concept():
    """Issue 21: studio/core holds a few shared modules and one package per concept, never a flat pile again."""
    core = ROOT / "studio" / "core"
    top = sorted(p.name for p in core.iterdir() if p.name != "__pycache__" and not p.name.startswith("."))
    packages = [p for p in top if (core / p / "__init__.py").is_file()]
    assert len(top) <= 15, top
    assert {"project", "images", "training", "evaluation", "export", "health", "resolve"} <= set(packages)
