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


def test_outputs_get_the_permissions_of_a_plain_open_and_mkdir(tmp_path: Path) -> None:
    from sightings.core.atomic import _UMASK, atomic_dir

    written = atomic_write_bytes(tmp_path / "a.txt", b"x")
    assert written.stat().st_mode & 0o777 == 0o666 & ~_UMASK  # not mkstemp's 0600
    with atomic_dir(tmp_path / "run") as folder:
        (folder / "f").write_bytes(b"y")
    assert (tmp_path / "run").stat().st_mode & 0o777 == 0o777 & ~_UMASK  # not mkdtemp's 0700


@pytest.mark.parametrize("name", ["sub/out.txt", "sub"])
def test_a_bad_output_path_is_one_line_naming_it(tmp_path: Path, name: str) -> None:
    from sightings.core.atomic import atomic_dir, make_output_dir
    from sightings.core.errors import InputError

    (tmp_path / "file").write_bytes(b"a file, not a folder")
    target = tmp_path / "file" / name
    for write in (
        lambda: atomic_write_bytes(target, b"x"),
        lambda: make_output_dir(target),
        lambda: atomic_dir(target).__enter__(),
    ):
        with pytest.raises(InputError, match="a part of the path is a file, not a folder") as err:
            write()
        assert err.value.where == str(target) and err.value.exit_code == 2
    (tmp_path / "folder").mkdir()
    with pytest.raises(InputError, match="cannot write here: it is a folder"):
        atomic_write_bytes(tmp_path / "folder", b"x")
