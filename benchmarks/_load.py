"""Keep the other core busy while a benchmark times something (another process spinning)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator


@contextlib.contextmanager
def other_core_busy() -> Iterator[None]:
    """One spinning Python process for the duration of the block, then stopped."""
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    time.sleep(0.3)  # let it start spinning
    try:
        yield
    finally:
        spinner.kill()
        spinner.wait()
