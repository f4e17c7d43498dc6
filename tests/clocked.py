"""`python -m tests.clocked MODULE [ARG …]`: run a module (`celery`, `gunicorn`) as
`python -m MODULE` would, on the test suite's clock (tests/clock.py): a process the
tests start keeps the same "now" as the tests."""

import runpy
import sys

from tests.clock import travel

if __name__ == "__main__":
    travel()
    module = sys.argv[1]
    sys.argv = sys.argv[1:]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
