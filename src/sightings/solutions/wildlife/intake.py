"""Batch intake: many uploaded files or one zip → (name, bytes) items, checked before any is predicted.

A zip is refused as a whole (nothing predicted, nothing stored) when it is not a zip, when a member name escapes
the archive (absolute path, ``..``, a drive letter), when it is encrypted, when it holds more than ``max_files``
images, or when its members would inflate past ``max_bytes`` or at a ratio over ``max_ratio`` (zip bomb) — the
sizes are checked from the directory first and again while reading, so a lying header cannot get past.
Folders, hidden files and ``__MACOSX`` entries are skipped. An empty batch is an error too.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from sightings.core.errors import InputError, TooLargeError

__all__ = ["BatchItem", "check_batch", "read_zip"]

MAX_RATIO = 200  # uncompressed / compressed per member; real photos are ~1, a bomb is ~1000


@dataclass(frozen=True, slots=True)
class BatchItem:
    """One image of a batch: its name (file name or zip member) and encoded bytes."""

    name: str
    data: bytes


def _safe_member(name: str, archive: str) -> str | None:
    """The member's name if it is a file to read, ``None`` to skip it; InputError for a path that escapes."""
    if "\\" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise InputError(f"zip member {name!r} has an absolute or Windows path", where=archive)
    parts = PurePosixPath(name).parts
    if ".." in parts:
        raise InputError(f"zip member {name!r} escapes the archive (path traversal)", where=archive)
    if name.endswith("/") or not parts:
        return None
    if any(p.startswith(".") for p in parts) or parts[0] == "__MACOSX":
        return None
    return name


def read_zip(data: bytes, *, where: str, max_files: int, max_bytes: int, max_ratio: int = MAX_RATIO) -> list[BatchItem]:
    """The files of a zip, all checked (see the module docs) before any is returned."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as err:
        raise InputError(f"not a readable zip file ({err})", where=where) from None
    with archive:
        members = []
        total = 0
        for info in archive.infolist():
            name = _safe_member(info.filename, where)
            if name is None or info.is_dir():
                continue
            if info.flag_bits & 0x1:
                raise InputError(f"zip member {name!r} is encrypted", where=where)
            total += info.file_size
            if total > max_bytes:
                raise TooLargeError(f"zip inflates to more than {max_bytes} bytes (zip bomb guard)", where=where)
            if info.file_size > max_ratio * max(info.compress_size, 1) and info.file_size > 1_000_000:
                raise TooLargeError(
                    f"zip member {name!r} inflates {info.file_size / max(info.compress_size, 1):.0f}× "
                    f"(over {max_ratio}×: zip bomb guard)",
                    where=where,
                )
            members.append(info)
        if len(members) > max_files:
            raise TooLargeError(f"{len(members)} files in the zip; at most {max_files} per batch", where=where)
        items = []
        read_total = 0
        for info in members:
            with archive.open(info) as fh:
                content = fh.read(info.file_size + 1)
            read_total += len(content)
            if len(content) > info.file_size or read_total > max_bytes:
                raise TooLargeError("zip member is larger than its header says (zip bomb guard)", where=where)
            items.append(BatchItem(info.filename, content))
    return items


def check_batch(items: Sequence[BatchItem], *, max_files: int, where: str = "batch") -> list[BatchItem]:
    """The batch as a list; InputError when empty, TooLargeError when over ``max_files``."""
    out = list(items)
    if not out:
        raise InputError("empty batch: send at least one image (files or a zip)", where=where)
    if len(out) > max_files:
        raise TooLargeError(f"{len(out)} images in one batch; at most {max_files}", where=where)
    return out
