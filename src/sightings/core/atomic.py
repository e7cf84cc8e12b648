"""Atomic outputs: a file or a folder appears whole, or not at all."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from sightings.core.errors import InputError

__all__ = ["atomic_create_bytes", "atomic_dir", "atomic_write_bytes", "atomic_write_text"]


@contextlib.contextmanager
def _complete_temporary(target: Path, data: bytes) -> Iterator[Path]:
    """A temporary file beside ``target`` holding all of ``data`` (flushed to disk), removed on the way out unless
    it was renamed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        yield tmp
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and an atomic rename."""
    target = Path(path)
    with _complete_temporary(target, data) as tmp:
        tmp.replace(target)
    return target


def atomic_create_bytes(path: str | os.PathLike[str], data: bytes) -> bool:
    """Write ``data`` to ``path`` only when no file is there: True when this call made it, False when one was
    already there (it is left as it is).

    The file appears whole or not at all, and when several processes race for the same path exactly one of them
    makes it: the complete temporary file is hard-linked to ``path``, which fails when ``path`` exists. On a file
    system without hard links the check and the rename are two steps (a race there may replace a file that has
    just appeared, never leave a partial one).
    """
    target = Path(path)
    if target.exists():
        return False
    with _complete_temporary(target, data) as tmp:
        try:
            os.link(tmp, target)
        except FileExistsError:
            return False
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS, errno.EMLINK):
                raise
            if target.exists():
                return False
            tmp.replace(target)
    return True


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Text version of :func:`atomic_write_bytes` (UTF-8)."""
    return atomic_write_bytes(path, text.encode("utf-8"))


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike[str], *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling folder; on success it is renamed to ``path``, on error removed.

    With ``overwrite`` an existing ``path`` is replaced only after the new content is complete.
    """
    target = Path(path)
    if target.exists() and not overwrite and (not target.is_dir() or any(target.iterdir())):
        raise InputError("output exists and is not an empty folder (use --overwrite)", where=target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if target.exists():
        old = target.with_name(f".{target.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        target.replace(old)
        tmp.replace(target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.replace(target)
