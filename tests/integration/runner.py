"""runner.py - run every tests/integration/test_*.py against one stack.

The stack is started once (tests make their own users, so they do not
interfere), each module's unittest cases run, and the run ends with the
line "N passed, M failed".  Exit status 0 only when nothing failed.
Arguments narrow the run: a module name (test_worker) or a dotted name
within one (test_worker.Evaluation, test_worker.Evaluation.test_x).
"""
import importlib
import os
import sys
import time
import traceback
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


class Result(unittest.TextTestResult):
    pass


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    wanted = sys.argv[1:]
    names = sorted(f[:-3] for f in os.listdir(here)
                   if f.startswith("test_") and f.endswith(".py"))
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    if wanted:
        # A module name, or module.Class[.test] for part of one.
        for w in wanted:
            if w.split(".")[0] not in names:
                continue
            if "." in w:
                suite.addTests(loader.loadTestsFromName(w))
            else:
                suite.addTests(loader.loadTestsFromModule(
                    importlib.import_module(w)))
    else:
        for n in names:
            suite.addTests(loader.loadTestsFromModule(
                importlib.import_module(n)))
    t0 = time.monotonic()
    stack = harness.Stack()
    try:
        stack.start()
    except Exception:
        traceback.print_exc()
        print("0 passed, 1 failed")
        return 1
    harness.STACK = stack
    try:
        runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2,
                                         resultclass=Result)
        result = runner.run(suite)
    finally:
        failed_any = True
        try:
            failed_any = not result.wasSuccessful()
        except NameError:
            pass
        if failed_any:
            stack.tail_logs()
        reports = stack.stop()
    # A test with failing subTests appears once per subTest: count tests.
    failed_ids = {t.id() for t, _ in result.failures + result.errors}
    failed = len(failed_ids) + len(result.unexpectedSuccesses)
    if reports:
        print("FAIL: sanitizer reports in the responder log:")
        for line in reports[:40]:
            print("    " + line)
        failed += 1
    passed = result.testsRun - failed - len(result.skipped)
    print("integration suite took %.1f s" % (time.monotonic() - t0))
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 and not result.skipped else 1


if __name__ == "__main__":
    sys.exit(main())
