"""The job the window would start is the job the CLI resolves with no flags (one resolver, studio.core.resolve).

For every architecture x augmentation on/off x {a digits-like gray project, a colour photo project}: the Train
page's run (its argv, parsed back by the real CLI parser and resolved by the CLI's own code) equals
`edge-studio train P --arch A [--augment]`; the Export page's default for a run of that architecture equals
`edge-studio export P RUN`. Then one real pretrained export from the Export page with its defaults writes the
same quantization and size as `edge-studio export` (the bug: float32, 16 MB, where the CLI wrote float16; the
pretrained default is uint8 since issue 24).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from studio.cli import build_parser
from studio.cli import main as cli_main
from studio.commands import train_cmds, web_cmds
from studio.commands.protocol import train_argv
from studio.core.export.targets import TARGETS, target_class
from studio.core.images.importer import import_paths
from studio.core.project.demo import create_demo_project
from studio.core.project.store import Project
from studio.core.resolve.export import resolve_export
from studio.core.resolve.recommend import recommend
from studio.core.training import architectures
from studio.gui.pages.export_page import ExportPage
from studio.gui.parts.train_settings import TrainSettings
from studio.gui.session import Session
from tests.core.helpers import write_image

ROOT = Path(__file__).resolve().parents[2]


def _photo_project(path: Path) -> Project:
    """Three classes of colour images (random colour noise), 14 each: a colour photo project."""
    project = Project.create(path)
    for k, name in enumerate(("red", "green", "blue")):
        files = [str(write_image(path.parent / "src" / name / f"{i}", seed=100 * k + i, size=40)) for i in range(14)]
        import_paths(project, files, label=name)
    return project


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("resolved")
    digits, _ = create_demo_project(root / "digits", limit=60)
    digits.close()
    _photo_project(root / "photos").close()
    return {"digits": root / "digits", "photos": root / "photos"}


def _cli_config(project: Project, argv: list[str]):  # noqa: ANN202
    args = build_parser().parse_args(argv)
    return train_cmds.train_config(project, args)[0]


@pytest.mark.parametrize("kind", ["digits", "photos"])
def test_train_page_job_is_the_cli_job_without_flags(qtbot, projects: dict[str, Path], kind: str,
                                                     tmp_path: Path) -> None:
    dest = tmp_path / kind
    shutil.copytree(projects[kind], dest)
    with Project.open(dest) as project:
        form = TrainSettings()
        qtbot.addWidget(form)
        form.load(project, recommend(project))
        checked = 0
        for arch in architectures.names():
            for augment in (False, True):
                form.set_arch(arch)
                form.with_aug.setChecked(augment)
                job = form.job()
                gui = _cli_config(project, train_argv(project.root, job))
                cli = _cli_config(project, ["train", str(project.root), "--arch", arch,
                                            *(["--augment"] if augment else [])])
                assert gui == cli, (arch, augment)
                # What the form shows is what runs.
                assert (form.epochs.value(), form.patience.value(), form.image_size.value()) == (
                    cli.epochs, cli.early_stopping_patience, cli.preprocess.image_size), (arch, augment)
                checked += 1
        assert checked == 2 * len(architectures.names())
        # The decisions differ where they should: pretrained brings its own budget, size and colour.
        pre = _cli_config(project, ["train", str(project.root), "--arch", "pretrained"])
        cnn = _cli_config(project, ["train", str(project.root), "--arch", "cnn"])
        assert pre.epochs > cnn.epochs and pre.preprocess.color == "rgb"
        assert cnn.preprocess.color == ("gray" if kind == "digits" else "rgb")
        form.set_arch("cnn")
        form.with_aug.setChecked(False)
        form.set_arch("pretrained")  # picked by hand: its own budget, not the box's value
        assert form.epochs.value() == pre.epochs


@pytest.mark.parametrize("kind", ["digits", "photos"])
def test_export_page_default_is_the_cli_default(qtbot, projects: dict[str, Path], kind: str, tmp_path: Path) -> None:
    dest = tmp_path / kind
    shutil.copytree(projects[kind], dest)
    project = Project.open(dest)
    runs = {}
    for arch in architectures.names():  # run rows only: resolving an export needs the run's architecture
        run = project.create_run(arch, {"arch": arch})
        project.update_run(run.id, status="finished")
        runs[arch] = run.id
    session = Session()
    session.set_project(project)
    page = ExportPage(session)
    qtbot.addWidget(page)
    try:
        for fmt in TARGETS:
            page.set_format(fmt)
            for arch, run_id in runs.items():
                page.run_picker.select_run(run_id)
                args = build_parser().parse_args(page.export_args())
                gui = resolve_export(project, run_id, web_cmds.export_choices(args))
                cli_args = build_parser().parse_args(["export", str(dest), run_id, "--out", "x", "--format", fmt])
                cli = resolve_export(project, run_id, web_cmds.export_choices(cli_args))
                assert gui.options.quantization == cli.options.quantization, (fmt, arch)
                assert gui.options.unsure_threshold == cli.options.unsure_threshold is None
                expected = architectures.get(arch).quantization_for(target_class(fmt).quantizations,
                                                                    target_class(fmt).default_quantization)
                assert cli.quantization == expected
        page.set_format("tfjs")
        page.run_picker.select_run(runs["pretrained"])
        assert page.quantization() == architectures.get("pretrained").export_quantization[0]
    finally:
        page.shutdown()
        project.close()


@pytest.mark.slow
def test_pretrained_export_from_the_page_writes_what_the_cli_writes(qtbot, projects: dict[str, Path],
                                                                    tmp_path: Path) -> None:
    dest = tmp_path / "digits"
    shutil.copytree(projects["digits"], dest)
    subprocess.run([sys.executable, "-m", "studio", "train", str(dest), "--arch", "pretrained", "--epochs", "2",
                    "--image-size", "32", "--json"], cwd=ROOT, capture_output=True, check=True, timeout=600)
    project = Project.open(dest)
    session = Session()
    session.set_project(project)
    page = ExportPage(session)
    qtbot.addWidget(page)
    try:
        page.out_edit.setText(str(tmp_path / "from-page"))
        page._out_edited = True
        page.export()
        qtbot.waitUntil(lambda: not page.is_exporting(), timeout=300_000)
        assert page.last_export is not None, page.result_text.text()
        from_page = page.last_export
    finally:
        page.shutdown()
        project.close()
    assert cli_main(["export", str(dest), "--out", str(tmp_path / "from-cli"), "--json"]) == 0
    meta_page = json.loads((tmp_path / "from-page" / "metadata.json").read_text())
    meta_cli = json.loads((tmp_path / "from-cli" / "metadata.json").read_text())
    assert from_page["quantization"] == architectures.get("pretrained").export_quantization[0]  # uint8 (issue 24)
    assert meta_page["model"] == meta_cli["model"]  # format, quantization, input size, files
    # The same weights, bit for bit in size and layout. The op names inside model.json may carry a different
    # numeric suffix (TF numbers its name scopes per process, and cli_main runs here after other tests), so the
    # manifest is compared by shape and dtype, not by name.
    page_dir, cli_dir = tmp_path / "from-page" / "model", tmp_path / "from-cli" / "model"
    assert sorted(f.name for f in page_dir.iterdir()) == sorted(f.name for f in cli_dir.iterdir())
    for shard in page_dir.glob("*.bin"):
        assert shard.stat().st_size == (cli_dir / shard.name).stat().st_size

    def layout(folder: Path) -> list[tuple]:
        manifest = json.loads((folder / "model.json").read_text())["weightsManifest"]
        return [(tuple(w["shape"]), w["dtype"], w.get("quantization", {}).get("dtype"))
                for group in manifest for w in group["weights"]]
    assert layout(page_dir) == layout(cli_dir)
