"""Live curves (issue 28, stalls): the view's ranges are the widget's, set once per change, so a new epoch of
a planned run moves no axis and asks for one paint of each plot, not pyqtgraph's auto-range second paint."""

from __future__ import annotations

import pytest

from studio.gui.parts.curves import CurvesWidget, nice_ceiling


def _epoch(loss: float, val_loss: float, accuracy: float = 0.5) -> dict:
    return {"loss": loss, "val_loss": val_loss, "accuracy": accuracy, "val_accuracy": accuracy}


@pytest.fixture
def curves(qtbot) -> CurvesWidget:  # noqa: ANN001
    widget = CurvesWidget()
    qtbot.addWidget(widget)
    widget.resize(900, 300)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def _shown_x(curves: CurvesWidget) -> tuple[float, float]:
    return tuple(curves._plots["loss"].viewRange()[0])  # what pyqtgraph really shows


def test_nice_ceiling() -> None:
    assert [nice_ceiling(v) for v in (0.0, 0.07, 0.93, 1.0, 1.01, 2.31, 7.2, 8.5, 130)] == \
        [1.0, 0.08, 1.0, 1.0, 1.2, 2.5, 8.0, 10.0, 150.0]


def test_a_planned_run_spans_its_epochs_from_the_start_and_a_new_epoch_moves_no_axis(curves: CurvesWidget,
                                                                                         qtbot) -> None:  # noqa: ANN001
    curves.add_run("r1", "cnn", {}, epochs=10)
    assert curves.view_ranges()["x"] == (0.5, 10.5)
    curves.append_epoch("r1", _epoch(2.3, 2.1))
    qtbot.waitUntil(curves.is_drawn, timeout=5000)
    assert curves.view_ranges() == {"x": (0.5, 10.5), "loss": (0.0, 2.5)}
    assert _shown_x(curves) == pytest.approx((0.5, 10.5))
    assert tuple(curves._plots["loss"].viewRange()[1]) == pytest.approx((-0.05, 2.55))  # 2 % padding

    changes: list[str] = []
    for key, plot in curves._plots.items():
        plot.getViewBox().sigRangeChanged.connect(lambda *_a, key=key: changes.append(key))
    for loss in (1.4, 0.9, 0.6):
        curves.append_epoch("r1", _epoch(loss, loss + 0.1))
        qtbot.waitUntil(curves.is_drawn, timeout=5000)
    assert changes == []  # no axis re-laid out, no second paint for a new range
    assert curves.view_ranges()["loss"] == (0.0, 2.5)
    assert curves.values("r1", "loss") == [2.3, 1.4, 0.9, 0.6]

    # A new epoch is kept at once and drawn in later turns of the event loop, one plot per turn.
    curves.append_epoch("r1", _epoch(0.5, 0.7, accuracy=0.9))
    assert curves.values("r1", "val_accuracy")[-1] == 0.9 and not curves.is_drawn()
    assert curves._flush_one_plot() and not curves.is_drawn()  # the loss plot; the accuracy plot waits
    assert list(curves._runs["r1"].items["loss"].getData()[1]) == [2.3, 1.4, 0.9, 0.6, 0.5]
    assert len(curves._runs["r1"].items["val_accuracy"].getData()[1]) == 4
    qtbot.waitUntil(curves.is_drawn, timeout=5000)
    for metric in ("loss", "val_loss", "accuracy", "val_accuracy"):
        xs, ys = curves._runs["r1"].items[metric].getData()
        assert list(xs) == [1, 2, 3, 4, 5] and list(ys) == curves.values("r1", metric)


def test_a_rising_loss_grows_the_range_and_a_hidden_run_leaves_it(curves: CurvesWidget, qtbot) -> None:  # noqa: ANN001
    curves.add_run("small", "dense", {"loss": [0.4, 0.3], "val_loss": [0.5, 0.45],
                                      "accuracy": [0.8, 0.9], "val_accuracy": [0.7, 0.8]})
    assert curves.view_ranges() == {"x": (0.5, 2.5), "loss": (0.0, 0.5)}
    curves.add_run("big", "cnn", {}, epochs=4)
    curves.append_epoch("big", _epoch(3.1, 2.9))
    assert curves.view_ranges() == {"x": (0.5, 4.5), "loss": (0.0, 4.0)}
    curves.append_epoch("big", _epoch(1.0, 4.2))  # overfitting: validation loss above the range
    assert curves.view_ranges()["loss"] == (0.0, 5.0)

    curves.set_run_visible("big", False)
    qtbot.waitUntil(curves.is_drawn, timeout=5000)
    assert curves.view_ranges() == {"x": (0.5, 2.5), "loss": (0.0, 0.5)}
    assert _shown_x(curves) == pytest.approx((0.5, 2.5))
    curves.remove_run("small")
    # Only a hidden run left: its ranges, not an empty plot's.
    assert curves.view_ranges() == {"x": (0.5, 4.5), "loss": (0.0, 5.0)}


def test_a_non_finite_loss_is_drawn_without_breaking_the_range(curves: CurvesWidget) -> None:
    curves.add_run("r1", "cnn", {}, epochs=3)
    curves.append_epoch("r1", _epoch(float("nan"), float("inf")))
    curves.append_epoch("r1", _epoch(0.7, 0.8))
    assert curves.view_ranges() == {"x": (0.5, 3.5), "loss": (0.0, 0.8)}
