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

__all__ = [
    "atomic_create_bytes",
    "atomic_dir",
    "atomic_write_bytes",
    "atomic_write_text",
    "check_output_folder",
    "check_output_parent",
    "make_output_dir",
    "output_error",
]


def _read_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()
"""The process's umask, read once at import (reading it means setting it, which is not thread-safe later)."""


def output_error(exc: OSError, target: Path) -> InputError:
    """An OS error writing ``target`` as one line naming it (a folder in the path that is a file, no permission,
    a full disk, ...): bad output paths are the user's input."""
    if isinstance(exc, NotADirectoryError | FileExistsError) and not target.is_dir():
        reason = "cannot write here: a part of the path is a file, not a folder"
    elif isinstance(exc, IsADirectoryError) or (isinstance(exc, FileExistsError) and target.is_dir()):
        reason = "cannot write here: it is a folder"
    elif isinstance(exc, PermissionError):
        reason = "cannot write here: permission denied"
    else:
        reason = f"cannot write here: {exc.strerror or exc}"
    return InputError(reason, where=target)


def check_output_parent(path: str | os.PathLike[str]) -> None:
    """Before long work: refuse ``path`` when a part of the path above it is a file, the :class:`InputError`
    writing there later would give (nothing is created; other causes are left to the write itself)."""
    target = Path(path)
    for parent in target.absolute().parents:  # nearest first
        if parent.exists():
            if not parent.is_dir():
                raise InputError("cannot write here: a part of the path is a file, not a folder", where=target)
            return


def check_output_folder(path: str | os.PathLike[str]) -> None:
    """Before long work: refuse an output *folder* ``path`` that exists as something else or lies under a file
    (:func:`check_output_parent`); nothing is created."""
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise InputError("output path exists and is not a folder", where=target)
    check_output_parent(target)


def make_output_dir(path: str | os.PathLike[str]) -> Path:
    """``path`` as a folder (made with its parents when missing); a path that cannot be one is an
    :class:`InputError` naming it (:func:`output_error`), not a traceback."""
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(exc, folder) from None
    return folder


@contextlib.contextmanager
def _complete_temporary(target: Path, data: bytes) -> Iterator[Path]:
    """A temporary file beside ``target`` holding all of ``data`` (flushed to disk), removed on the way out unless
    it was renamed. It gets the permissions a plain ``open`` would give (0666 less the umask), not ``mkstemp``'s
    0600, so other users and services can read results as they could before."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise output_error(exc, target) from None
    os.fchmod(fd, 0o666 & ~_UMASK)
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
        try:
            tmp.replace(target)
        except OSError as exc:
            raise output_error(exc, target) from None
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
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    except OSError as exc:
        raise output_error(exc, target) from None
    tmp.chmod(0o777 & ~_UMASK)  # as a plain mkdir would make it, not mkdtemp's 0700
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
