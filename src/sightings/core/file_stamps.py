"""Whether files something was loaded from have been written since: to follow other processes' writes cheaply.

API workers, bots and CLI commands share one data folder. A service that loaded a calibration when it started
would answer with it until restarted, though another process has fitted a new one. :class:`FileStamps` keeps the
modification times of a few files; :meth:`FileStamps.changed` (one ``stat`` per file) says when to load again.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["FileStamps"]


class FileStamps:
    """The modification times of ``paths`` (None for a missing file) as last marked."""

    def __init__(self, *paths: str | os.PathLike[str]) -> None:
        self.paths = tuple(Path(p) for p in paths)
        self._seen = self._now()

    def _now(self) -> tuple[int | None, ...]:
        stamps: list[int | None] = []
        for path in self.paths:
            try:
                stamps.append(path.stat().st_mtime_ns)
            except OSError:
                stamps.append(None)
        return tuple(stamps)

    def mark(self) -> None:
        """Take the files as they are now as seen (call it just before loading from them, or after writing them)."""
        self._seen = self._now()

    def changed(self) -> bool:
        """Whether any file was written, appeared or went since the last mark; marks what it found."""
        now = self._now()
        if now == self._seen:
            return False
        self._seen = now
        return True
