"""FileStamps: a write, a new file or a removed one since the last mark is a change; nothing else is."""

from __future__ import annotations

import os
from pathlib import Path

from sightings.core.file_stamps import FileStamps


def test_changes_are_writes_appearances_and_removals(tmp_path: Path) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text("1")
    stamps = FileStamps(a, b)
    assert not stamps.changed()
    b.write_text("new")  # appeared
    assert stamps.changed() and not stamps.changed()  # reported once
    st = a.stat()
    os.utime(a, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))  # rewritten (a later modification time)
    assert stamps.changed()
    b.unlink()  # went
    assert stamps.changed()
    a.write_text("2")
    stamps.mark()  # one's own write, taken as seen
    assert not stamps.changed()


def test_two_atomic_writes_within_one_clock_tick_both_count(tmp_path: Path) -> None:
    from sightings.core.atomic import atomic_write_bytes

    path = tmp_path / "calibration.json"
    atomic_write_bytes(path, b"{}")
    stamps = FileStamps(path)
    for body in (b'{"a": 1}', b'{"a": 2}'):  # same size, back to back: a new inode each time
        atomic_write_bytes(path, body)
        assert stamps.changed()
