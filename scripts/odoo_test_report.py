"""Summarize the log of Odoo test runs.

Prints ``PASSED FAILED SKIPPED COMPLETE`` on stdout (COMPLETE is 1 when Odoo reported its test
results, 0 when it stopped before), and on stderr the failing tests with their tracebacks, the
skipped tests and the unexpected error lines.

Counted as failed:

* the tests Odoo reports failed or in error, from its result lines: at the end of
  ``odoo-bin --test-tags ... --stop-after-init`` (``odoo.tests.result``)
  ``<F> failed, <E> error(s) of <N> tests when loading database '<db>'``,
  and at the end of ``odoo.tests.shell.run_tests`` (``odoo.tests.shell``)
  ``Tests passed: <F> failed, <E> error(s) of <N> tests`` (or ``Tests failed:``,
  ``No tests executed:``);
* a test Odoo counts as passed but that logged an ERROR or CRITICAL line, and each such line
  logged outside any test: Odoo can log errors (a broken view, a crashing cron, a failed module
  load) without any test failing. Errors a failing test logs (its traceback, its browser
  console) and Odoo's own test summaries are not counted again;
* a run without a result line (Odoo crashed, or was killed), or with fewer tests than
  ``--min-tests``.

A test that ``scripts/test.sh`` ran once more alone after it failed (a ``RETRY <test id>`` line
of the ``lead_intelligence.retry`` logger, then the result line of that second run) counts as
passed when that second run passed its one test, and is listed as retried with its first
failure; otherwise it stays failed. The second run's tests are not counted again.

Skipped tests are the ``skipped <Class.method> : <reason>`` lines of the test loggers; Odoo
counts them among the tests run.
"""

import argparse
import collections
import re
import sys
from dataclasses import dataclass, field

# '%(asctime)s %(pid)s %(levelname)s %(dbname)s %(name)s: %(message)s', see odoo/netsvc.py
LOG_LINE = re.compile(
    r'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \d+ (?P<level>[A-Z]+) (?P<db>\S+) (?P<logger>[\w.]+): (?P<message>.*)$'
)
SUMMARY = re.compile(
    r'^(?:(?:Tests passed|Tests failed|No tests executed): )?'
    r'(?P<failed>\d+) failed, (?P<errors>\d+) error\(s\) of (?P<run>\d+) tests( when loading database|$)'
)
SUMMARY_LOGGERS = ('odoo.tests.result', 'odoo.tests.shell')
STARTING = re.compile(r'^Starting (?P<test>\S+) \.\.\.')
# 'FAIL: Class.method' or 'ERROR: Subtest Class.method (params)', see OdooTestResult.logError
TEST_ERROR = re.compile(r'^(?:FAIL|ERROR): (?:Subtest )?(?P<test>\S+)')
SKIPPED = re.compile(r'^skipped (?P<test>.+?) : (?P<reason>.*)$')
RETRY_LOGGER = 'lead_intelligence.retry'
# 'RETRY odoo.addons.crm.tests.test_crm_ui.TestUi.test_03_crm_tour_forecast: why'
RETRY = re.compile(r'^RETRY (?:\S+\.)?(?P<test>[^.\s:]+\.[^.\s:]+):')
# odoo.modules.loading lines that end a module's tests, and repeat what the counts already say.
END_OF_TESTS = re.compile(r'^(Module \w+ loaded in |Module \w+: \d+ failures, \d+ errors of \d+ tests$'
                          r'|At least one test failed when loading the modules)')
TRACEBACK_LINES = 30  # the end of a traceback, where the exception is


@dataclass
class ErrorBlock:
    header: str  # the log line
    test: str | None  # the test running when it was logged
    second_run: bool = False  # logged while a failed test was run again
    traceback: collections.deque = field(default_factory=lambda: collections.deque(maxlen=TRACEBACK_LINES))
    traceback_length: int = 0

    def add(self, line):
        self.traceback.append(line)
        self.traceback_length += 1

    def format(self, indent='    '):
        lines = [self.header]
        if self.traceback_length > len(self.traceback):
            lines.append(f'  [... {self.traceback_length - len(self.traceback)} lines ...]')
        lines.extend(self.traceback)
        return '\n'.join(indent + line for line in lines)


@dataclass
class Report:
    run: int = 0
    failed: int = 0
    errors: int = 0
    summaries: int = 0
    failed_tests: dict = field(default_factory=dict)  # test: its FAIL/ERROR blocks
    retried_tests: dict = field(default_factory=dict)  # test passed when run again: its first blocks
    skipped_tests: list = field(default_factory=list)  # (test, reason)
    error_blocks: list = field(default_factory=list)  # other ERROR/CRITICAL blocks

    def unexpected_blocks(self):
        return [block for block in self.error_blocks
                if block.test not in self.failed_tests and block.test not in self.retried_tests]

    def retried(self, test, failed, errors, run):
        """Account for the second run of ``test``, whose result line says ``failed``,
        ``errors`` of ``run``: passed, it no longer counts as failed."""
        blocks = self.failed_tests.get(test)
        if not blocks or failed or errors or run != 1:
            return
        if blocks[0].header.split(': ', 1)[-1].startswith('ERROR'):
            self.errors -= 1
        else:
            self.failed -= 1
        self.retried_tests[test] = self.failed_tests.pop(test)


def parse(lines):
    report = Report()
    current_test = None
    block = None  # the ErrorBlock continuation lines go to
    retrying = None  # the test run again, until the result line of its second run
    retry_blocks = None  # that test's blocks of its first run
    for line in lines:
        line = line.rstrip('\n')
        match = LOG_LINE.match(line)
        if not match:
            if block is not None:
                block.add(line)
            continue
        block = None
        level, logger, message = match['level'], match['logger'], match['message'].rstrip()
        is_error = level in ('ERROR', 'CRITICAL')
        if logger in SUMMARY_LOGGERS:
            if summary := SUMMARY.match(message):
                report.summaries += 1
                if retrying:
                    report.failed_tests[retrying] = retry_blocks
                    report.retried(retrying, int(summary['failed']), int(summary['errors']), int(summary['run']))
                    if retrying in report.retried_tests:
                        # errors its second run logged although it passed count as such
                        for logged in report.error_blocks:
                            if logged.test == retrying and logged.second_run:
                                logged.test = f'{retrying} (run again)'
                    retrying = None
                    continue
                report.failed += int(summary['failed'])
                report.errors += int(summary['errors'])
                report.run += int(summary['run'])
                continue
        elif logger == RETRY_LOGGER and (retry := RETRY.match(message)) and retry['test'] in report.failed_tests:
            # its blocks of the second run, if it fails again, are kept apart from the first's
            retrying, retry_blocks = retry['test'], report.failed_tests.pop(retry['test'])
            continue
        elif logger == 'odoo.modules.loading' and END_OF_TESTS.match(message):
            current_test = None
            continue
        elif logger == 'odoo.service.server' and message.startswith('Starting post tests'):
            current_test = None
        elif '.tests.' in logger:
            if (starting := STARTING.match(message)) and level == 'INFO':
                current_test = starting['test']
                continue
            if (skipped := SKIPPED.match(message)) and level == 'INFO':
                report.skipped_tests.append((skipped['test'], skipped['reason']))
                continue
            if (test_error := TEST_ERROR.match(message)) and is_error:
                block = ErrorBlock(line, test_error['test'])
                if retrying and block.test == retrying:
                    retry_blocks.append(block)  # failed again: listed with both failures
                else:
                    report.failed_tests.setdefault(block.test, []).append(block)
                continue
        if is_error:
            block = ErrorBlock(line, current_test, second_run=bool(retrying))
            report.error_blocks.append(block)
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('logfile')
    parser.add_argument('--min-tests', type=int, default=1, help='fewer tests run is a failure')
    args = parser.parse_args(argv)

    with open(args.logfile, encoding='utf-8', errors='replace') as log:
        report = parse(log)

    def say(text=''):
        print(text, file=sys.stderr)

    unexpected = report.unexpected_blocks()
    tests_logging_errors = {block.test for block in unexpected if block.test}
    lines_outside_tests = sum(1 for block in unexpected if not block.test)
    skipped = len(report.skipped_tests)
    passed = max(0, report.run - report.failed - report.errors - skipped - len(tests_logging_errors))
    failed = report.failed + report.errors + len(tests_logging_errors) + lines_outside_tests

    if not report.summaries:
        say('  no test results in the log: Odoo stopped before the end of the tests')
        failed += 1
    elif report.run < args.min_tests:
        say(f'  only {report.run} test(s) ran, expected at least {args.min_tests}')
        failed += 1
    for test, blocks in report.failed_tests.items():
        say(f'  FAILED  {test}')
        for block in blocks:
            say(block.format())
    for test, blocks in report.retried_tests.items():
        say(f'  RETRIED {test}: failed (below), then passed when run again alone')
        for block in blocks:
            say(block.format())
    for test in sorted(tests_logging_errors):
        say(f'  FAILED  {test}: passed, but logged errors (below)')
    for test, reason in report.skipped_tests:
        say(f'  SKIPPED {test}: {reason}')
    if unexpected:
        say(f'  {len(unexpected)} ERROR/CRITICAL log line(s) not from a failing test:')
        for block in unexpected:
            say(block.format())
    print(passed, failed, skipped, int(bool(report.summaries)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
