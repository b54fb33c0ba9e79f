"""One run per output folder at a time: the lock, and the checks of the folder itself."""

from __future__ import annotations

import contextlib
import json
import os
import socket
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import OutputError

__all__ = ["LOCK_FILE", "RunLock", "check_out"]


LOCK_FILE = ".discmri-run.lock"


class RunLock:
    """A lock file in the output folder naming the run that holds it (pid and host)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK_FILE
        self.held = False

    def acquire(self) -> None:
        """Take the lock, or raise OutputError naming the live run that holds it."""
        me = {"pid": os.getpid(), "host": socket.gethostname(),
              "since": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = self._holder()
                if holder is not None and not self._stale(holder):
                    raise OutputError(
                        f"{self.path.parent}: another discmri run is writing there (pid "
                        f"{holder.get('pid')} on {holder.get('host')}, since "
                        f"{holder.get('since')}); wait for it, or remove {self.path} if that "
                        "run is gone") from None
                with contextlib.suppress(FileNotFoundError):
                    self.path.unlink()
                continue
            with os.fdopen(fd, "w") as fh:
                json.dump(me, fh)
            self.held = True
            return
        raise OutputError(f"{self.path}: could not take the run lock")

    def _holder(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None  # unreadable (half-written by a killed run): stale

    @staticmethod
    def _stale(holder: dict[str, Any]) -> bool:
        if holder.get("host") != socket.gethostname():
            return False  # cannot tell for another host: assume it is alive
        try:
            os.kill(int(holder.get("pid", -1)), 0)
        except ProcessLookupError:
            return True
        except (PermissionError, ValueError, OverflowError):
            return False
        return False

    def release(self) -> None:
        """Give the lock back (remove its file) if this run holds it."""
        if self.held:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            self.held = False


def check_out(root: Path, out: Path) -> None:
    """Refuse an output folder inside the dataset (but its derivatives/) or holding it."""
    root_r, out_r = root.resolve(), out.resolve()
    if out_r == root_r or root_r in out_r.parents:
        inside = out_r.relative_to(root_r).parts
        if not inside or inside[0] != "derivatives" or len(inside) < 2 or inside[1] == "labels":
            raise OutputError(f"output folder {out}: inside the dataset {root} (outside its "
                              "derivatives/ folder, or in its label maps); expected a folder "
                              f"elsewhere or under {root / 'derivatives'}/<name>")
    if out_r in root_r.parents:
        raise OutputError(f"output folder {out}: holds the dataset {root}; expected a folder "
                          "elsewhere")
