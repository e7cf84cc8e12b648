"""Read a batch list (``videos.csv`` or ``videos.json``) into :class:`~sightings.core.protocols.BatchItem` rows.

CSV: a header row, then one video per row. Columns ``platform_id`` and ``video_id`` are required, plus one of
``path``, ``url`` or ``source`` (a local path, relative to the list's folder, or a URL); every other column is
kept as metadata. JSON: a list of objects with the same keys (or ``{"videos": [...]}``).

Every problem is an :class:`InputError` naming ``file:line`` (CSV) or ``file: item N`` (JSON); a duplicate
``(platform_id, video_id)`` names both places. Ids become folder names, so they must be plain names.
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from sightings.core.errors import InputError, NotFoundError
from sightings.core.protocols import BatchItem

__all__ = ["SOURCE_COLUMNS", "BatchList", "read_batch_list"]

SOURCE_COLUMNS = ("path", "url", "source")
ID_COLUMNS = ("platform_id", "video_id")
_ID = re.compile(r"^\w[\w.@+=-]{0,127}$")
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


class BatchList:
    """The rows of a list file, in file order, with where each came from (``file:line``)."""

    __slots__ = ("items", "path", "places")

    def __init__(self, path: Path, items: list[BatchItem], places: list[str]) -> None:
        self.path = path
        self.items = items
        self.places = places

    def __len__(self) -> int:
        return len(self.items)


def _check_id(value: Any, column: str, where: str) -> str:
    text = "" if value is None else str(value).strip()
    if not text:
        raise InputError(f"empty {column}", where=where)
    if not _ID.match(text) or text.strip(".") == "":
        raise InputError(
            f"{column} {text!r} must be a plain name (letters, digits, . _ - @ + =; at most 128 characters)",
            where=where,
        )
    return text


def _source(row: Mapping[str, Any], base: Path, where: str) -> str:
    given = [(c, str(row[c]).strip()) for c in SOURCE_COLUMNS if row.get(c) not in (None, "")]
    given = [(c, v) for c, v in given if v]
    if not given:
        raise InputError(f"no video: fill one of the columns {', '.join(SOURCE_COLUMNS)}", where=where)
    if len(given) > 1:
        raise InputError(f"give one of {', '.join(c for c, _ in given)}, not several", where=where)
    value = given[0][1]
    if _URL.match(value):
        return value
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else (base / path))


def _item(row: Mapping[str, Any], base: Path, where: str) -> BatchItem:
    platform_id = _check_id(row.get("platform_id"), "platform_id", where)
    video_id = _check_id(row.get("video_id"), "video_id", where)
    source = _source(row, base, where)
    metadata = {
        str(k): "" if v is None else str(v)
        for k, v in row.items()
        if k not in (*SOURCE_COLUMNS, *ID_COLUMNS) and k is not None
    }
    return BatchItem(source=source, platform_id=platform_id, video_id=video_id, metadata=metadata)


def _check_header(columns: Iterable[str], where: str) -> None:
    cols = set(columns)
    missing = [c for c in ID_COLUMNS if c not in cols]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)} in the header", where=where)
    if not cols & set(SOURCE_COLUMNS):
        raise InputError(f"the header needs one of the columns {', '.join(SOURCE_COLUMNS)}", where=where)


def _read_csv(path: Path, text: str) -> tuple[list[BatchItem], list[str]]:
    reader = csv.reader(text.splitlines(keepends=True), strict=True)
    items: list[BatchItem] = []
    places: list[str] = []
    header: list[str] | None = None
    try:
        for row in reader:
            where = f"{path}:{reader.line_num}"
            if not row or all(not cell.strip() for cell in row):
                continue
            if header is None:
                header = [c.strip() for c in row]
                if len(set(header)) != len(header):
                    raise InputError("repeated column name in the header", where=where)
                _check_header(header, where)
                continue
            if len(row) != len(header):
                raise InputError(f"expected {len(header)} fields, got {len(row)}", where=where)
            items.append(_item(dict(zip(header, row, strict=True)), path.absolute().parent, where))
            places.append(where)
    except csv.Error as exc:
        raise InputError(f"bad CSV: {exc}", where=f"{path}:{reader.line_num}") from None
    if header is None:
        raise InputError("empty list (no header row)", where=path)
    return items, places


def _read_json(path: Path, text: str) -> tuple[list[BatchItem], list[str]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"bad JSON: {exc.msg}", where=f"{path}:{exc.lineno}") from None
    if isinstance(data, dict) and isinstance(data.get("videos"), list):
        data = data["videos"]
    if not isinstance(data, list):
        raise InputError('expected a list of videos (or {"videos": [...]})', where=path)
    items: list[BatchItem] = []
    places: list[str] = []
    for i, entry in enumerate(data, 1):
        where = f"{path}: item {i}"
        if not isinstance(entry, dict):
            raise InputError("each video must be an object", where=where)
        row = dict(entry)
        if isinstance(row.get("metadata"), dict):
            row = {**{k: v for k, v in row.items() if k != "metadata"}, **row["metadata"]}
        items.append(_item(row, path.absolute().parent, where))
        places.append(where)
    return items, places


def read_batch_list(path: str | os.PathLike[str]) -> BatchList:
    """Read and check a ``.csv`` or ``.json`` list; duplicates of ``(platform_id, video_id)`` are errors."""
    list_path = Path(path)
    if not list_path.exists():
        raise NotFoundError("list file not found", where=list_path)
    if not list_path.is_file():
        raise InputError("the list is not a file", where=list_path)
    suffix = list_path.suffix.lower()
    if suffix not in (".csv", ".json"):
        raise InputError("the list must be a .csv or .json file", where=list_path)
    try:
        text = list_path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", where=list_path) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", where=list_path) from None
    reader = _read_csv if suffix == ".csv" else _read_json
    items, places = reader(list_path, text)
    if not items:
        raise InputError("the list holds no videos", where=list_path)
    seen: dict[tuple[str, str], str] = {}
    for item, where in zip(items, places, strict=True):
        key = (item.platform_id, item.video_id)
        if key in seen:
            raise InputError(f"duplicate video {key[0]}/{key[1]} (first at {seen[key]})", where=where)
        seen[key] = where
    return BatchList(list_path, items, places)
