"""The score trend of leads: improving, steady or declining over a window.

Pure numpy, no Odoo import: the pass reads each lead's score at the start of the
window from its score history and hands the columns here.
"""

import numpy as np

TRENDS = ("declining", "steady", "improving")
TREND_MIN_POINTS = 5  # a smaller change over the window is noise: the trend is steady


def score_trends(baseline, current, min_points=TREND_MIN_POINTS):
    """The trend of each lead, from its score at the start of the window to its score now.

    :param baseline: (n,) int, the score at the start of the window (or the first score
        within it for a lead scored since), -1 for none: a lead without one is steady
    :param current: (n,) int, the score now
    :param min_points: the smallest change, in points, that makes a trend
    :return: (n,) int, each lead's trend as a position in ``TRENDS``
    """
    baseline = np.asarray(baseline, dtype=np.int64)
    current = np.asarray(current, dtype=np.int64)
    if baseline.shape != current.shape:
        raise ValueError(f"baseline {baseline.shape} does not fit current {current.shape}")
    delta = np.where(baseline >= 0, current - baseline, 0)
    return np.where(delta >= min_points, 2, np.where(delta <= -min_points, 0, 1))
