"""Print "passed failed skipped" for an Odoo test run, read from its log.

Odoo 19 ends a --test-enable run with "X failed, Y error(s) of Z tests when loading
database". Skipped tests are counted in Z but logged one by one; they are not passed.
A run that reports no totals, exits non-zero, logs an ERROR/CRITICAL line outside the
test results, or logs any warning counts as one more failure: a broken install must not
look green.
"""
import re
import sys

TOTALS = re.compile(r'(\d+) failed, (\d+) error\(s\) of (\d+) tests when loading database')
SKIPPED = re.compile(r' INFO \S+ \S+: skipped ')
PROBLEM = re.compile(r'^\S+ \S+ \d+ (ERROR|CRITICAL) ')
# The install and the tests must not log warnings either (a module description that does
# not parse, a missing access rule, a deprecated API...).
WARNING = re.compile(r'^\S+ \S+ \d+ WARNING ')


def main(log_path, exit_code):
    with open(log_path, encoding='utf-8', errors='replace') as log:
        lines = log.readlines()
    totals = [TOTALS.search(line) for line in lines]
    totals = [match for match in totals if match]
    skipped = sum(1 for line in lines if SKIPPED.search(line))
    if not totals:
        print(0, 1, skipped)
        return
    failures, errors, run = (int(value) for value in totals[-1].groups())
    failed = failures + errors
    passed = run - failed - skipped
    problems = [line for line in lines if PROBLEM.match(line) or WARNING.match(line)]
    # Every failing test logs its own ERROR lines; other ERRORs mean something else broke.
    if (exit_code != 0 or problems) and failed == 0:
        failed = 1
    print(passed, failed, skipped)


if __name__ == '__main__':
    main(sys.argv[1], int(sys.argv[2]))
