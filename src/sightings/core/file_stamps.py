"""Whether files something was loaded from have been written since: to follow other processes' writes cheaply.

A file's stamp is its inode, modification time and size. File times tick coarsely (a few ms), but the project
writes files atomically (a temporary file renamed over the old one), so each write is a new inode.

API workers, bots and CLI commands share one data folder. A service that loaded a calibration when it started
would answer with it until restarted, though another process has fitted a new one. :class:`FileStamps` keeps the
stamps of a few files; :meth:`FileStamps.changed` (one ``stat`` per file) says when to load again.
:func:`file_stamp` is one file's stamp, for a caller that picks the file itself.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["FileStamps", "file_stamp"]


def file_stamp(path: Path) -> tuple[int, int, int] | None:
    """(inode, modification time in ns, size) of ``path``; None when it cannot be read (missing, no access)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


class FileStamps:
    """The (inode, modification time, size) of each of ``paths`` (None for a missing file) as last marked."""

    def __init__(self, *paths: str | os.PathLike[str]) -> None:
        self.paths = tuple(Path(p) for p in paths)
        self._seen = self._now()

    def _now(self) -> tuple[tuple[int, int, int] | None, ...]:
        return tuple(file_stamp(path) for path in self.paths)

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
