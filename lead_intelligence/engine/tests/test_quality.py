import numpy as np
import pytest
from engine.model.quality import calibration_error, permutation_importance, pls_probability, roc_auc


def naive_bayes_by_hand(y, teams, values, leads):
    """crm's naive Bayes written out lead by lead: per team and global frequencies, plus 0.1 per value seen."""
    def table(rows):
        counts = {}
        for row in rows:
            for field, value in values[row].items():
                entry = counts.setdefault(field, {}).setdefault(value, [0.1, 0.1])
                entry[0 if y[row] else 1] += 1
        return counts

    by_team = {team: [row for row in range(len(y)) if teams[row] == team] for team in set(teams)}
    team_tables = {team: table(rows) for team, rows in by_team.items()}
    result = []
    for team, lead_values in leads:
        if team and team in team_tables:
            tables, rows = [team_tables[team]], by_team[team]
            won, lost = sum(y[row] for row in rows) + 0.1, sum(1 - y[row] for row in rows) + 0.1
        else:
            tables = list(team_tables.values())
            won = sum(sum(y[row] for row in rows) + 0.1 for rows in by_team.values())
            lost = sum(sum(1 - y[row] for row in rows) + 0.1 for rows in by_team.values())
        s_won, s_lost = won, lost
        for field, value in lead_values.items():
            counts = [t[field][value] for t in tables if value in t.get(field, {})]
            if not counts:
                continue
            won_total = sum(sum(entry[0] for entry in t.get(field, {}).values()) for t in tables)
            lost_total = sum(sum(entry[1] for entry in t.get(field, {}).values()) for t in tables)
            s_won *= sum(c[0] for c in counts) / won_total
            s_lost *= sum(c[1] for c in counts) / lost_total
        result.append(min(max(round(100 * s_won / (s_won + s_lost), 2), 0.01), 99.99) / 100)
    return np.array(result)


def test_pls_probability_is_crms_naive_bayes():
    rng = np.random.default_rng(3)
    n, m = 400, 60
    country = rng.integers(-1, 5, n + m)  # -1: not set
    source = rng.integers(0, 3, n + m)
    team = rng.choice([0, 7, 9], n + m)
    y = (rng.random(n) < 0.2 + 0.15 * (country[:n] == 1) + 0.1 * (source[:n] == 2)).astype(int)
    values = [{f: v for f, v in (("country", country[i]), ("source", source[i])) if v >= 0} for i in range(n + m)]
    valid_team = team[n:].copy()
    valid_team[:5] = 4  # a team without training leads: every team's frequencies
    expected = naive_bayes_by_hand(list(y), list(team[:n]), values[:n],
                                   list(zip(valid_team.tolist(), values[n:], strict=True)))
    got = pls_probability(y, team[:n], valid_team, [(country[:n], country[n:]), (source[:n], source[n:])])
    np.testing.assert_allclose(got, expected, atol=1e-9)
    # the frequencies tell the better country apart: PLS ranks it higher
    assert got[country[n:] == 1].mean() > got[country[n:] == 3].mean()


def test_rare_tags_do_not_count_and_frequent_ones_do():
    y = np.array([1] * 40 + [0] * 60)
    team = np.zeros(100, dtype=np.int64)
    # tag 5 on the 40 won and 20 lost leads (60 >= 50): it counts; tag 6 on 10 won leads: too rare
    train_tags = (np.array(list(range(60)) + list(range(10))), np.array([5] * 60 + [6] * 10))
    valid_tags = (np.array([0, 1]), np.array([5, 6]))
    got = pls_probability(y, team, np.zeros(3, dtype=np.int64), [], tags=(train_tags, valid_tags))
    prior = 40.1 / (40.1 + 60.1)
    assert got[2] == pytest.approx(round(100 * prior, 2) / 100)
    assert got[1] == got[2]  # tag 6 is ignored
    odds = (40.1 / 60.1) * ((40.1 / 40.1) / (20.1 / 20.1))
    assert got[0] == pytest.approx(round(100 * odds / (1 + odds), 2) / 100)


def test_roc_auc_needs_both_outcomes():
    assert roc_auc([0, 1, 1], [0.1, 0.8, 0.4]) == 1.0
    assert np.isnan(roc_auc([1, 1], [0.1, 0.2]))


def test_permutation_importance_finds_the_feature_that_decides():
    from engine import model as engine_model

    rng = np.random.default_rng(5)
    n = 3000
    columns = {"decisive": rng.normal(size=n), "noise": rng.normal(size=n)}
    y = (columns["decisive"] + 0.3 * rng.normal(size=n) > 0).astype(int)
    config = engine_model.TrainingConfig(
        [engine_model.number("decisive"), engine_model.number("noise")], algorithms=("logreg",))
    result = engine_model.train(config, columns, y, np.arange(n))
    X = result.model.encoder.transform(engine_model.subset(columns, config.features, result.valid_index))
    drops = permutation_importance(result.model, X, y[result.valid_index])
    assert drops[0] > 0.3
    assert abs(drops[1]) < 0.02
    np.testing.assert_array_equal(drops, permutation_importance(result.model, X, y[result.valid_index]))


def test_calibration_error_weighs_the_bins_by_their_leads():

    assert calibration_error([(1, 0.1, 0.1, 50), (2, 0.5, 0.3, 50)]) == pytest.approx(0.1)
    assert calibration_error([(1, 0.2, 0.1, 90), (2, 0.5, 0.5, 10)]) == pytest.approx(0.09)
