"""The deployment tests' checks: each failed one is remembered with what was wrong, all are
reported at the end, and the exit status says whether any failed."""
import sys

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)


def finish():
    for f in failures:
        print("FAIL:", f)
    print(f"{'failed' if failures else 'passed'}: {len(failures)} failures")
    sys.exit(1 if failures else 0)
