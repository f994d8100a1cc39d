import numpy as np
import pytest
from engine import trend


def labels(codes):
    return [trend.TRENDS[code] for code in codes.tolist()]


def test_trend_follows_the_change_over_the_window():
    baseline = np.array([40, 80, 50, 50, 50])
    current = np.array([60, 55, 53, 46, 45])
    assert labels(trend.score_trends(baseline, current, min_points=5)) == [
        "improving", "declining", "steady", "steady", "declining"]


def test_lead_without_a_baseline_is_steady():
    assert labels(trend.score_trends([-1, -1], [0, 100])) == ["steady", "steady"]


def test_threshold_is_inclusive():
    assert labels(trend.score_trends([10, 10], [20, 0], min_points=10)) == ["improving", "declining"]


def test_misaligned_columns_are_refused():
    with pytest.raises(ValueError, match="does not fit"):
        trend.score_trends([1, 2], [1])
