import os

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

import subprocess  # noqa: E402
import sys  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture
def dead_pid() -> int:
    """The id of a process that has ended and been reaped, as a killed run's has."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid
