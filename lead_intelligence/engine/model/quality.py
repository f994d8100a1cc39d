"""Quality of a trained model against Odoo's own predictive lead scoring (PLS), on the same leads.

:func:`pls_probability` rebuilds Odoo's naive Bayes frequencies on the training
leads and scores the validation leads with them, vectorised. Odoo's stored
``automated_probability`` cannot stand in for it: a closed lead's is its outcome
(100 won, 0 lost), and an open lead's was computed from frequencies that
include the very leads it is measured on. The rules followed are crm's:

* each (team, field, value) seen on a closed lead counts its won and lost leads,
  plus 0.1 each (no zero frequency); a lead without team counts under team 0;
* a value that is not set is not counted (the email and phone quality count
  "not set" as a value: the caller gives it a code);
* a tag counts only where its won and lost counts of the team reach 50;
* a lead of a team that has frequencies is scored on its team's, any other on
  the sum of every team's; the prior is the team's won and lost leads (each
  plus 0.1);
* probability = won score / (won score + lost score), each score the prior
  times, per known value, its won (lost) count over its field's won (lost) total,
  rounded to a hundredth of a percent within [0.01, 99.99] %.

A validation lead is scored as a new lead in the first stage: the stage a
closed lead reached tells its outcome, and the first stage's frequencies are
every lead of the team, a factor of one.
"""

import numpy as np

SMOOTHING = 0.1  # added to every count of a value seen, as crm does
MIN_TAG_COUNT = 50  # a tag counts only where its won and lost counts (smoothed) reach this


def _tables(table_of_row, n_tables, codes, y, n_values):
    """Smoothed (won, lost) counts per (table, value), (n_tables, n_values) each, and where a value was seen."""
    index = table_of_row * n_values + codes
    size = n_tables * n_values
    won = np.bincount(index, weights=y, minlength=size).reshape(n_tables, n_values)
    total = np.bincount(index, minlength=size).reshape(n_tables, n_values).astype(np.float64)
    seen = total > 0
    return won + SMOOTHING * seen, total - won + SMOOTHING * seen, seen


def pls_probability(y, train_team, valid_team, fields, tags=None):
    """Odoo's PLS probability (0-1) of the validation leads, from frequencies of the training leads.

    :param y: (n_train,) 1 won, 0 lost
    :param train_team: (n_train,) int, the training leads' team ids, 0 for none
    :param valid_team: (n_valid,) int, the validation leads' team ids, 0 for none
    :param fields: list of (train codes (n_train,), valid codes (n_valid,)) int arrays, one per
        field, a value's code >= 0, -1 where the field is not set
    :param tags: optional ((rows, tag ids) of the training leads, (rows, tag ids) of the
        validation leads), each pair of int arrays, one entry per tag of a lead
    :return: (n_valid,) float64
    """
    y = np.asarray(y, dtype=np.float64)
    train_team = np.asarray(train_team, dtype=np.int64)
    valid_team = np.asarray(valid_team, dtype=np.int64)
    teams = np.unique(train_team)
    n_teams = len(teams)
    # table 0 is every team's sum; table 1 + i the team teams[i]; team 0 (none) is never a table of its own
    train_table = np.searchsorted(teams, train_team)
    position = np.clip(np.searchsorted(teams, valid_team), 0, max(n_teams - 1, 0))
    has_table = (valid_team != 0) & (n_teams > 0) & (teams[position] == valid_team if n_teams else False)
    valid_table = np.where(has_table, 1 + position, 0)

    def with_sum(team_counts):
        return np.vstack([team_counts.sum(axis=0, keepdims=True), team_counts])

    prior_won, prior_lost, _seen = _tables(train_table, n_teams, np.zeros(len(y), dtype=np.int64), y, 1)
    prior_won, prior_lost = with_sum(prior_won)[:, 0], with_sum(prior_lost)[:, 0]
    log_odds = np.log(prior_won[valid_table]) - np.log(prior_lost[valid_table])
    for train_codes, valid_codes in fields:
        train_codes = np.asarray(train_codes, dtype=np.int64)
        valid_codes = np.asarray(valid_codes, dtype=np.int64)
        n_values = int(max(train_codes.max(initial=-1), valid_codes.max(initial=-1))) + 1
        if not n_values:
            continue
        counted = train_codes >= 0
        won, lost, seen = _tables(train_table[counted], n_teams, train_codes[counted], y[counted], n_values)
        log_odds += _factors(with_sum(won), with_sum(lost), with_sum(seen), valid_table, valid_codes)
    if tags is not None:
        (train_rows, train_tags), (valid_rows, valid_tags) = tags
        train_rows, valid_rows = np.asarray(train_rows, dtype=np.int64), np.asarray(valid_rows, dtype=np.int64)
        values, codes = np.unique(np.concatenate([train_tags, valid_tags]).astype(np.int64), return_inverse=True)
        train_codes, valid_codes = codes[:len(train_rows)], codes[len(train_rows):]
        won, lost, seen = _tables(train_table[train_rows], n_teams, train_codes, y[train_rows], len(values))
        kept = seen & (won + lost >= MIN_TAG_COUNT)
        won, lost = won * kept, lost * kept
        factors = _factors(with_sum(won), with_sum(lost), with_sum(kept), valid_table[valid_rows], valid_codes)
        log_odds += np.bincount(valid_rows, weights=factors, minlength=len(valid_team))
    probability = 1.0 / (1.0 + np.exp(-np.clip(log_odds, -500, 500)))
    return np.clip(np.round(100.0 * probability, 2), 0.01, 99.99) / 100.0


def _factors(won, lost, seen, table, codes):
    """Log-odds factor of each (table, code): log(won / won total) - log(lost / lost total), 0 where unknown."""
    won_total, lost_total = won.sum(axis=1), lost.sum(axis=1)
    known = codes >= 0
    safe = np.where(known, codes, 0)
    known &= seen[table, safe] > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = (np.log(won[table, safe]) - np.log(won_total[table])
                  - np.log(lost[table, safe]) + np.log(lost_total[table]))
    return np.where(known & np.isfinite(factor), factor, 0.0)


def roc_auc(y, probability):
    """ROC AUC of ``probability`` for the outcomes ``y``, NaN without both outcomes."""
    from sklearn.metrics import roc_auc_score

    y = np.asarray(y, dtype=np.int64)
    return float(roc_auc_score(y, probability)) if len(np.unique(y)) == 2 else float("nan")


def permutation_importance(model, X, y, random_state=0, max_rows=50000):
    """How much each feature of ``model`` matters on the rows ``X`` (encoded, (n, p)): the drop of ROC AUC
    when the feature's columns are shuffled together across the rows (its information is lost, its
    distribution kept).

    :param model: a :class:`.ScoringModel`
    :param y: (n,) 1 won, 0 lost
    :param random_state: the seed of the shuffles (and of the sample of ``max_rows`` rows, if more)
    :return: (n_features,) float64, the AUC drop of each feature of ``model.encoder.spec``, in its
        order; 0 for a feature without columns; NaN for all without both outcomes
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    n_features = len(model.encoder.spec)
    if len(np.unique(y)) < 2:
        return np.full(n_features, np.nan)
    rng = np.random.default_rng(random_state)
    if len(y) > max_rows:
        rows = np.sort(rng.choice(len(y), max_rows, replace=False))
        X, y = X[rows], y[rows]
    base = roc_auc(y, model.predict_proba_encoded(X))
    drops = np.zeros(n_features)
    for index in range(n_features):
        columns = np.flatnonzero(model.encoder.groups == index)
        if not len(columns):
            continue
        shuffled = X.copy()
        shuffled[:, columns] = X[rng.permutation(len(y))][:, columns]
        drops[index] = base - roc_auc(y, model.predict_proba_encoded(shuffled))
    return drops


def calibration_error(calibration):
    """Mean absolute gap between predicted and observed win rate over the bins of ``calibration``, weighted
    by their leads (expected calibration error).

    :param calibration: rows (bin, mean predicted, observed rate, count), as :func:`.metrics.calibration`
    """
    counts = np.array([row[3] for row in calibration], dtype=np.float64)
    if not counts.sum():
        return float("nan")
    gaps = np.abs(np.array([row[1] - row[2] for row in calibration], dtype=np.float64))
    return float((gaps * counts).sum() / counts.sum())
