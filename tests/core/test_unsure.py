"""The "not sure" threshold rule (studio.core.evaluation.unsure), on hand-made validation outcomes."""

from __future__ import annotations

import pytest

from studio.core.evaluation.unsure import check_threshold, measure, threshold_from
from studio.core.project.store import ProjectError


def test_threshold_drops_the_band_where_wrong_answers_outnumber_right_ones() -> None:
    confidences = [0.20, 0.30, 0.35, 0.50, 0.70, 0.80, 0.90, 0.95]
    correct = [False, False, True, False, True, True, True, True]
    # Keeping >= 0.70 scores 5; keeping everything scores 5 - 3 = 2; keeping >= 0.35 scores 5 + 1 - 1 = 5:
    # a tie goes to the lower threshold.
    assert threshold_from(confidences, correct) == 0.35
    m = measure(0.35, confidences, correct, "validation")
    assert m.kept == pytest.approx(6 / 8) and m.kept_accuracy == pytest.approx(5 / 6)


def test_no_mistakes_or_no_data_means_never_unsure() -> None:
    assert threshold_from([0.4, 0.9], [True, True]) == 0.0
    assert threshold_from([], []) == 0.0
    # Mistakes only at the top: refusing everything below them gains nothing.
    assert threshold_from([0.3, 0.4, 0.99], [True, True, False]) == 0.0


def test_all_wrong_refuses_everything_and_rounds_down_to_a_percent() -> None:
    assert threshold_from([0.456, 0.789], [False, False]) == 1.0
    assert threshold_from([0.1, 0.4567, 0.9], [False, True, True]) == 0.45


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_user_threshold_outside_0_1_is_refused(bad: float) -> None:
    with pytest.raises(ProjectError, match="between 0 and 1"):
        check_threshold(bad)
