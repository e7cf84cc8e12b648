"""Atomic outputs: whole or nothing; create-if-absent has exactly one winner in a race."""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path

import pytest

from sightings.core.atomic import atomic_create_bytes, atomic_write_bytes


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_write_replaces_whole_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "a.json"
    atomic_write_bytes(target, b"one")
    atomic_write_bytes(target, b"two")
    assert target.read_bytes() == b"two" and _leftovers(target.parent) == []


def test_create_writes_once_and_keeps_the_first(tmp_path: Path) -> None:
    target = tmp_path / "b.json"
    assert atomic_create_bytes(target, b"first") is True
    assert atomic_create_bytes(target, b"second") is False
    assert target.read_bytes() == b"first" and _leftovers(tmp_path) == []


def test_create_race_has_one_winner(tmp_path: Path) -> None:
    target = tmp_path / "race.json"
    start = threading.Barrier(8)
    won: list[int] = []

    def contender(i: int) -> None:
        start.wait()
        if atomic_create_bytes(target, f"writer {i}".encode() * 1000):
            won.append(i)

    threads = [threading.Thread(target=contender, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1
    assert target.read_bytes() == f"writer {won[0]}".encode() * 1000  # whole, and the winner's
    assert _leftovers(tmp_path) == []


def test_create_without_hard_links_falls_back_to_rename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_links(src: str, dst: str) -> None:
        raise OSError(errno.EPERM, "hard links not supported", dst)

    monkeypatch.setattr(os, "link", no_links)
    target = tmp_path / "c.json"
    assert atomic_create_bytes(target, b"x") is True
    assert atomic_create_bytes(target, b"y") is False
    assert target.read_bytes() == b"x" and _leftovers(tmp_path) == []


def test_create_failure_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(src: str, dst: str) -> None:
        raise OSError(errno.EIO, "disk error", dst)

    monkeypatch.setattr(os, "link", broken)
    target = tmp_path / "d.json"
    with pytest.raises(OSError, match="disk error"):
        atomic_create_bytes(target, b"x")
    assert not target.exists() and _leftovers(tmp_path) == []
