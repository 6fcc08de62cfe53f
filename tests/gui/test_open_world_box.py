"""The Export page's "Not one of the classes" row over a real trained run: the suggestion while the project has no
"other things", adding a folder of them (child process), the share kept saved in the project and used by the
export, and the export's count of refused "other things" shown. Screenshot at 1024x640."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.open_world_data import letters
from studio.core.evaluation import unsure
from studio.core.project import others
from studio.gui.parts.open_world_box import SUGGESTION

from .helpers import export_page_on, trained_demo

pytestmark = pytest.mark.slow  # trains once, exports once


@pytest.fixture(scope="module")
def trained_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return trained_demo(tmp_path_factory.mktemp("open-world") / "demo", arch="cnn", epochs=3)


def test_other_things_and_the_share_kept(qtbot, trained_template: Path, tmp_path: Path, artifacts_dir: Path) -> None:
    with export_page_on(qtbot, trained_template, tmp_path / "demo", (1024, 640)) as (page, project):
        box = page.open_world
        assert box.others_label.text() == SUGGESTION and box.keep_spin.value() == 95

        letters(tmp_path / "not-digits", 12)
        box.add_folder(str(tmp_path / "not-digits"))
        qtbot.waitUntil(lambda: box.add_button.isEnabled(), timeout=120_000)
        assert others.count(project) == 12 and box.others_label.text().startswith("12 pictures of other things")
        assert project.class_names() == [str(d) for d in range(10)]  # never a class

        box.keep_spin.setValue(90)
        assert unsure.project_keep(project) == pytest.approx(0.9)
        page.out_edit.setText(str(tmp_path / "bundle"))
        page.export_button.click()
        qtbot.waitUntil(lambda: not page.is_exporting(), timeout=300_000)
        assert page.last_export is not None, page.result_text.text()
        measured = page.last_export["known_threshold"]
        assert measured["keep"] == pytest.approx(0.9) and measured["others"] == 12
        assert "The last export turns away" in box.others_label.text()
        assert page.grab().save(str(artifacts_dir / "export_open_world_1024x640.png"))
