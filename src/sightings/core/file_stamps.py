"""Whether files something was loaded from have been written since: to follow other processes' writes cheaply.

A file's stamp is its inode, modification time and size. File times tick coarsely (a few ms), but the project
writes files atomically (a temporary file renamed over the old one), so each write is a new inode.

API workers, bots and CLI commands share one data folder. A service that loaded a calibration when it started
would answer with it until restarted, though another process has fitted a new one. :class:`FileStamps` keeps the
modification times of a few files; :meth:`FileStamps.changed` (one ``stat`` per file) says when to load again.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["FileStamps"]


class FileStamps:
    """The (inode, modification time, size) of each of ``paths`` (None for a missing file) as last marked."""

    def __init__(self, *paths: str | os.PathLike[str]) -> None:
        self.paths = tuple(Path(p) for p in paths)
        self._seen = self._now()

    def _now(self) -> tuple[tuple[int, int, int] | None, ...]:
        stamps: list[tuple[int, int, int] | None] = []
        for path in self.paths:
            try:
                st = path.stat()
            except OSError:
                stamps.append(None)
            else:
                stamps.append((st.st_ino, st.st_mtime_ns, st.st_size))
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
