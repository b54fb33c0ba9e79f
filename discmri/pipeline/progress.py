"""Progress of a run on the terminal: sessions done, failed, and the time left."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .session import SessionResult

__all__ = ["Progress"]


class Progress:
    """A bar over sessions (tqdm) on a terminal, else one line per session."""

    def __init__(self, total: int, mode: str | bool) -> None:
        self.total, self.done, self.bar = total, 0, None
        if mode is True:
            mode = "bar" if sys.stderr.isatty() else "lines"
        self.mode = mode or None
        if self.mode == "bar":
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="session", desc="discmri run")

    def update(self, result: SessionResult) -> None:
        """Count a finished session (a line saying how it went, in line mode)."""
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)
        elif self.mode == "lines":
            name = f"sub-{result.participant}" + (f" ses-{result.session}" if result.session
                                                  else "")
            what = result.status
            if result.status in ("done", "partial", "resumed") and result.levels[1]:
                what += f", {result.levels[0]}/{result.levels[1]} levels"
            if "total" in result.timings and result.status != "resumed":
                what += f", {result.timings['total']:.1f} s"
            if result.error:
                what += f": {result.error}"
            elif result.status == "skipped":
                what += f": {'; '.join(result.skipped)}"
            print(f"[{self.done}/{self.total}] {name}: {what}", file=sys.stderr, flush=True)

    def close(self) -> None:
        """Close the bar."""
        if self.bar is not None:
            self.bar.close()
