""""Why?" in the window: the Evaluate page (mistakes first, any matrix cell), the large preview and the Review
view show the heatmap over the image, computed off the UI thread fast enough to follow a selection."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import pytest

from studio.core.images.importer import import_paths
from studio.core.project.store import Project
from studio.core.specs import PreprocessSpec, TrainConfig
from studio.gui.pages.evaluate_page import EvaluatePage
from studio.gui.session import Session
from tests.core.why_data import HEIGHT, WIDTH, write_mark_images

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def mark_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from studio.core.training.run import train

    root = tmp_path_factory.mktemp("why-gui")
    write_mark_images(root / "images", 60, seed=4)
    with Project.create(root / "project") as project:
        import_paths(project, [root / "images"])
        run = train(project, TrainConfig(arch="cnn", preprocess=PreprocessSpec(image_size=32, color="rgb"),
                                         epochs=15, batch_size=32, seed=0))
        assert run.status == "finished", run.error
    return root / "project"


@pytest.fixture
def session(mark_project: Path) -> Session:
    session = Session()
    project = Project.open(mark_project)
    session.set_project(project)
    yield session
    project.close()


def _wait_shown(qtbot, panel, action) -> object:  # noqa: ANN001
    from pytestqt.exceptions import TimeoutError as SignalTimeout

    from studio.gui.jobs.workers import active_workers

    try:
        with qtbot.waitSignal(panel.shown, timeout=120_000) as blocker:
            action()
    except SignalTimeout as exc:  # say what the panel and the thread pool were doing (a rare 120 s wait in CI)
        jobs = [getattr(w, "_fn", None) for w in active_workers()]
        raise AssertionError(f"no heatmap shown: caption {panel.caption.text()!r}, job busy {panel.job.busy()}, "
                             f"jobs {jobs}") from exc
    return blocker.args[0]


def test_evaluate_page_shows_why_and_follows_the_selection(qtbot, session: Session, artifacts_dir: Path) -> None:  # noqa: ANN001
    page = EvaluatePage(session)
    qtbot.addWidget(page)
    page.resize(1024, 640)
    page.show()
    qtbot.waitUntil(lambda: page.report is not None, timeout=120_000)
    if page.why.result is None and not page.why.job.busy():  # no mistakes: a diagonal cell instead
        page.show_cell(0, 0)
        page.cell_list.setCurrentRow(0)
    qtbot.waitUntil(lambda: page.why.result is not None, timeout=120_000)
    first = page.why.result
    if page.report.get("misclassified"):  # mistakes first: the most confident one
        assert first.request.tag == int(page.report["misclassified"][0]["image_id"])
    assert first.heat.shape == (HEIGHT, WIDTH)  # the image's own size
    assert "Grad-CAM" in page.why.method.text()
    page.grab().save(str(artifacts_dir / "evaluate_why_1024x640.png"))

    # Any cell: a diagonal one lists the correctly classified images, and each can show why.
    matrix = page.report["confusion_matrix"]
    best = max(range(len(matrix)), key=lambda i: matrix[i][i])
    page.show_cell(best, best)
    assert page.cell_list.count() == matrix[best][best] > 3
    times = []
    for row in range(1, min(8, page.cell_list.count())):
        started = time.monotonic()
        result = _wait_shown(qtbot, page.why, lambda r=row: page.cell_list.setCurrentRow(r))
        times.append(time.monotonic() - started)
        assert result.request.tag == int(page.cell_list.item(row).data(256))
    median = statistics.median(times)
    print(f"\nWhy? latency following the selection (model cached): median {median * 1000:.0f} ms, "
          f"max {max(times) * 1000:.0f} ms over {len(times)} images")
    assert median < 1.5

    # Moving fast: only the last selection is shown.
    for row in range(page.cell_list.count()):
        page.cell_list.setCurrentRow(row)
    last = int(page.cell_list.item(page.cell_list.count() - 1).data(256))
    qtbot.waitUntil(lambda: page.why.result.request.tag == last and not page.why.job.busy(), timeout=60_000)

    # The strength slider changes the overlay (0: the picture alone).
    size = page.why.picture.size()
    page.why.opacity.setValue(0)
    plain = page.why.composed(size).toImage()
    page.why.opacity.setValue(100)
    assert page.why.composed(size).toImage() != plain
    page.resize(1366, 768)
    page.grab().save(str(artifacts_dir / "evaluate_why_1366x768.png"))


def test_preview_dialog_why(qtbot, session: Session, artifacts_dir: Path) -> None:  # noqa: ANN001
    from studio.gui.widgets.preview_dialog import ImagePreviewDialog

    project = session.project
    records = project.images(split="test")[:3]
    dialog = ImagePreviewDialog(project, records, 0)
    qtbot.addWidget(dialog)
    dialog.show()
    result = _wait_shown(qtbot, dialog.why, lambda: dialog.why_button.setChecked(True))
    assert result.request.tag == records[0].id and dialog.why.isVisible() and not dialog.picture.isVisible()
    result = _wait_shown(qtbot, dialog.why, lambda: dialog.step(1))  # stays on while stepping
    assert result.request.tag == records[1].id
    dialog.grab().save(str(artifacts_dir / "preview_why.png"))


def test_review_view_shows_why_for_a_likely_mislabel(qtbot, session: Session) -> None:  # noqa: ANN001
    from studio.core.health.check import default_source, fingerprint
    from studio.core.health.report import HealthReport, MislabelEntry
    from studio.gui.parts.review_view import ReviewView

    project = session.project
    image = project.images(split="train")[0]
    other = next(n for n in project.class_names() if n != image.label)
    report = HealthReport(fingerprint(project, default_source()), "efficientnet_lite0-160", 150, 150, 1.0, 0.9,
                          mislabels=(MislabelEntry(image.id, "train", image.label, other, 0.9, 0.02,
                                                   "labelled x, looks like y"),))
    view = ReviewView(session)
    qtbot.addWidget(view)
    view.resize(1024, 640)
    view.show()
    view.set_report(report)
    view.list.setCurrentRow(0)
    result = _wait_shown(qtbot, view.why, lambda: view.why_button.setChecked(True))
    assert result.request.tag == image.id and view.why.isVisible()


def test_an_empty_map_is_said_in_words(qtbot) -> None:  # noqa: ANN001
    """The map is of one class against the others, so a chosen class can have no evidence anywhere: the caption
    says so instead of showing a picture with no colour and no word."""
    import numpy as np

    from studio.gui.jobs.why_job import WhyRequest, WhyResult
    from studio.gui.parts.why_panel import WhyPanel

    panel = WhyPanel()
    qtbot.addWidget(panel)
    request = WhyRequest(Path("p"), "run", Path("a.png"), "blue")
    panel._wanted = request  # what show() records before it asks the worker
    rgb = np.full((24, 32, 3), 120, np.uint8)

    def result(heat: np.ndarray) -> WhyResult:
        return WhyResult(request, rgb, heat, ["red", "blue"], np.array([0.9, 0.1]), 0, 1, "cam", "class map",
                         0.01, 0.0)

    panel._on_ready(result(np.zeros((24, 32), np.float32)))
    assert "Nothing in this picture speaks for <b>blue</b>" in panel.caption.text()
    heat = np.zeros((24, 32), np.float32)
    heat[3, 4] = 1.0
    panel._on_ready(result(heat))
    assert "Showing the evidence for <b>blue</b>" in panel.caption.text() and "Nothing" not in panel.caption.text()
