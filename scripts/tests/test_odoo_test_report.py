"""scripts/odoo_test_report.py: the counts it prints from Odoo's logs, a test run again included."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import odoo_test_report  # a script beside this folder, not a package

TEST = 'TestUi.test_03_crm_tour_forecast'
TEST_ID = f'odoo.addons.crm.tests.test_crm_ui.{TEST}'
UI_LOGGER = 'odoo.addons.crm.tests.test_crm_ui'


def line(level, logger, message):
    return f'2026-12-05 09:22:21,954 21733 {level} li_test_crm {logger}: {message}\n'


def first_run(failing=True):
    lines = [
        line('INFO', UI_LOGGER, 'Starting TestUi.test_01_crm_tour ...'),
        line('INFO', UI_LOGGER, f'Starting {TEST} ...'),
    ]
    if failing:
        lines += [
            line('ERROR', f'{UI_LOGGER}.{TEST}.browser', 'FAILED: [7/21] Tour crm_forecast'),
            line('ERROR', UI_LOGGER, f'FAIL: {TEST}'),
            'Traceback (most recent call last):\n',
            'AssertionError: The test code failed\n',
        ]
    failed = int(failing)
    lines.append(line('INFO' if not failed else 'ERROR', 'odoo.tests.shell',
                      f'Tests {"failed" if failed else "passed"}: {failed} failed, 0 error(s) of 141 tests'))
    return lines


def retry(passing=True, logging_error=False):
    lines = [
        line('WARNING', 'lead_intelligence.retry', f'RETRY {TEST_ID}: an upstream tour, run once more alone'),
        line('INFO', UI_LOGGER, f'Starting {TEST} ...'),
    ]
    if logging_error:
        lines.append(line('ERROR', 'odoo.http', 'Exception during request handling'))
    if not passing:
        lines += [line('ERROR', UI_LOGGER, f'FAIL: {TEST}'), 'AssertionError: again\n']
    failed = int(not passing)
    lines.append(line('INFO', 'odoo.tests.shell', f'Tests passed: {failed} failed, 0 error(s) of 1 tests'))
    return lines


def report(tmp_path, capsys, lines):
    log = tmp_path / 'odoo.log'
    log.write_text(''.join(lines), encoding='utf-8')
    odoo_test_report.main([str(log)])
    out, err = capsys.readouterr()
    passed, failed, skipped, complete = (int(word) for word in out.split())
    return (passed, failed, skipped, complete), err


def test_a_failure_without_retry_counts(tmp_path, capsys):
    counts, err = report(tmp_path, capsys, first_run())
    assert counts == (140, 1, 0, 1)
    assert f'FAILED  {TEST}' in err


def test_a_retry_that_passes_counts_the_test_passed_once(tmp_path, capsys):
    counts, err = report(tmp_path, capsys, first_run() + retry())
    assert counts == (141, 0, 0, 1)
    assert f'RETRIED {TEST}' in err
    assert 'FAILED' not in err.replace('FAILED: [7/21]', '')  # its first failure shown, not counted


def test_a_retry_that_fails_again_stays_failed(tmp_path, capsys):
    counts, err = report(tmp_path, capsys, first_run() + retry(passing=False))
    assert counts == (140, 1, 0, 1)
    assert f'FAILED  {TEST}' in err and 'RETRIED' not in err


def test_a_retry_that_passes_but_logs_an_error_fails(tmp_path, capsys):
    counts, _err = report(tmp_path, capsys, first_run() + retry(logging_error=True))
    assert counts[1] == 1


def test_a_retry_line_for_a_test_that_did_not_fail_forgives_nothing(tmp_path, capsys):
    # a run of its own, counted as any other
    counts, err = report(tmp_path, capsys, first_run(failing=False) + retry(passing=False))
    assert counts == (141, 1, 0, 1)
    assert 'RETRIED' not in err
