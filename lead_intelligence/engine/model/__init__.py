"""Predictive lead scoring: encode, train, validate on time folds, calibrate, explain, store as JSON.

Pure numpy / scikit-learn, no Odoo import. One module per stage:

* :mod:`.encoding`: feature descriptions (:func:`category`, :func:`ordinal`,
  :func:`number`, :func:`multi`) and the :class:`Encoder` fitted on the
  training rows;
* :mod:`.training`: :func:`train` chooses a candidate on rolling time folds,
  refits it on every closed lead and calibrates it, as its :class:`TrainingConfig` says;
* :mod:`.calibration`: Platt's slope or an isotonic map, chosen by cross-fitting, and the
  intercept that matches today's win rate;
* :mod:`.metrics`: the validation figures (:func:`evaluate`);
* :mod:`.predictor`: :class:`ScoringModel`, its predictions, explanations and
  JSON document (:meth:`ScoringModel.to_json`);
* :mod:`.loading`: :func:`load_model`, the strict reader of that document.

Callers use the names below, from this package.
"""

from .encoding import Encoder, category, multi, number, ordinal, subset
from .loading import ModelFormatError, load_model
from .metrics import evaluate
from .predictor import ALGORITHMS, SCHEMA, VERSION, ScoringModel
from .training import (
    CANDIDATE_SETTINGS, Outcomes, TrainingConfig, TrainingResult, candidates, export_hgb, recency_weights,
    rolling_folds, time_split, train,
)

__all__ = [
    "ALGORITHMS",
    "CANDIDATE_SETTINGS",
    "SCHEMA",
    "VERSION",
    "Encoder",
    "ModelFormatError",
    "Outcomes",
    "ScoringModel",
    "TrainingConfig",
    "TrainingResult",
    "candidates",
    "category",
    "evaluate",
    "export_hgb",
    "load_model",
    "multi",
    "number",
    "ordinal",
    "recency_weights",
    "rolling_folds",
    "subset",
    "time_split",
    "train",
]
