"""enable_wal: new databases opened by several connections at once all end up in WAL, none fails as 'locked'."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from sightings.core.sqlite_wal import enable_wal


def _open_together(path: Path, n: int, errors: list[str]) -> None:
    barrier = threading.Barrier(n)

    def one() -> None:
        barrier.wait()
        db = sqlite3.connect(path, timeout=10.0)
        try:
            enable_wal(db)
        except sqlite3.Error as err:
            errors.append(str(err))
        finally:
            db.close()

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_concurrent_first_opens_all_switch_to_wal(tmp_path: Path) -> None:
    # a plain PRAGMA journal_mode=WAL failed 11 times in 800 such opens (4 at a time) with "database is locked"
    errors: list[str] = []
    for trial in range(60):
        _open_together(tmp_path / f"{trial}.sqlite", 4, errors)
    assert errors == []
    db = sqlite3.connect(tmp_path / "0.sqlite")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


class _Always:
    """A connection whose every statement fails with ``message``."""

    def __init__(self, message: str) -> None:
        self.message = message
        self.calls = 0

    def execute(self, _sql: str) -> None:
        self.calls += 1
        raise sqlite3.OperationalError(self.message)


def test_other_errors_are_not_retried() -> None:
    conn = _Always("disk I/O error")
    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        enable_wal(conn)
    assert conn.calls == 1


def test_a_lock_that_never_goes_raises_after_the_timeout() -> None:
    conn = _Always("database is locked")
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        enable_wal(conn, timeout_s=0.05)
    assert conn.calls > 1
