"""MOT Challenge text files: ground truth, tracker output and detections, one box per line.

    frame, id, bb_left, bb_top, bb_width, bb_height, conf, class, visibility[, unused]

Frames are 1-based; boxes are pixels (left, top, width, height). Tracker output and detection files put
``-1`` in the last three columns (``frame,id,x,y,w,h,score,-1,-1,-1``); MOT16+ ground truth has 9 columns
where ``conf`` is the "consider" flag (0 = ignore this box), ``class`` the class id and ``visibility`` a
fraction in [0, 1]. The 2D MOT 2015 layout (TUD, PETS09, …) puts world coordinates x, y, z in columns 8–10
instead: when those columns are not an integer class and a visibility in [0, 1], they are read as world
coordinates and ``class_id``/``visibility`` become -1 (unknown).

:func:`read_mot` accepts 6 to 10 columns, separated by commas and/or whitespace; missing columns default to
``conf = 1``, ``class = -1``, ``visibility = -1``. :func:`write_mot` writes 10 columns atomically.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from sightings.core.atomic import atomic_write_text
from sightings.core.errors import InputError, NotFoundError

__all__ = ["MotData", "read_mot", "write_mot"]

logger = logging.getLogger(__name__)

_SPLIT = re.compile(r"\s*,\s*|\s+")
_COLUMNS = ("frame", "id", "x", "y", "width", "height", "conf", "class", "visibility", "unused")
_MIN_COLUMNS = 6
_MAX_COLUMNS = 10

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def _frozen(values: npt.ArrayLike, dtype: type[np.generic]) -> npt.NDArray[np.generic]:
    """A read-only copy of ``values`` as ``dtype``."""
    arr = np.array(values, dtype=dtype)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, slots=True, eq=False)
class MotData:
    """Rows of a MOT file as a struct of arrays: row ``i`` is one box (``frame[i]``, ``id[i]``, ``x[i]`` …).

    ``x``/``y`` are the top-left corner and ``w``/``h`` the size, in pixels; ``score`` is the tracker's
    confidence or, in ground truth, the "consider" flag (0 = ignore). ``class_id`` and ``visibility`` are -1
    when unknown. ``source`` names where the rows came from (for error messages). Arrays are read-only.
    """

    frame: IntArray
    id: IntArray
    x: FloatArray
    y: FloatArray
    w: FloatArray
    h: FloatArray
    score: FloatArray
    class_id: IntArray
    visibility: FloatArray
    source: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        where = self.source or "MotData"
        ints = ("frame", "id", "class_id")
        for name in ("frame", "id", "x", "y", "w", "h", "score", "class_id", "visibility"):
            raw = getattr(self, name)
            if np.ndim(raw) != 1:
                raise InputError(f"{name} must be a 1-D array, got shape {np.shape(raw)}", where=where)
            arr = np.asarray(raw)
            if name in ints and arr.size and not np.array_equal(arr, np.round(arr.astype(np.float64))):
                raise InputError(f"{name} must hold integers", where=where)
            object.__setattr__(self, name, _frozen(arr, np.int64 if name in ints else np.float64))
        n = self.frame.shape[0]
        for name in ("id", "x", "y", "w", "h", "score", "class_id", "visibility"):
            if getattr(self, name).shape[0] != n:
                raise InputError(f"{name} has {getattr(self, name).shape[0]} rows, frame has {n}", where=where)
        for name in ("x", "y", "w", "h", "score", "visibility"):
            if not np.isfinite(getattr(self, name)).all():
                raise InputError(f"{name} must be finite", where=where)
        if n and self.frame.min() < 1:
            raise InputError(f"frame must be >= 1 (MOT frames are 1-based), got {self.frame.min()}", where=where)
        if n and (self.w.min() < 0 or self.h.min() < 0):
            raise InputError("box width and height must be >= 0", where=where)

    # ---- construction -------------------------------------------------------------------------------------
    @classmethod
    def empty(cls, source: str | None = None) -> MotData:
        """No rows."""
        i: list[int] = []
        f: list[float] = []
        return cls(i, i, f, f, f, f, f, i, f, source=source)  # type: ignore[arg-type]  # converted in __post_init__

    @classmethod
    def from_rows(cls, rows: Iterable[Sequence[float]], source: str | None = None) -> MotData:
        """Build from rows of 6 to 9 numbers ``frame, id, x, y, w, h[, score[, class[, visibility]]]``."""
        table = []
        for i, row in enumerate(rows):
            values = [float(v) for v in row]
            if not _MIN_COLUMNS <= len(values) <= _MAX_COLUMNS - 1:
                raise InputError(f"row {i}: expected 6 to 9 values, got {len(values)}", where=source or "rows")
            values += [1.0, -1.0, -1.0][len(values) - _MIN_COLUMNS :]
            table.append(values)
        if not table:
            return cls.empty(source)
        a = np.asarray(table, dtype=np.float64)
        c = [a[:, k] for k in range(9)]
        return cls(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], source=source)  # type: ignore[arg-type]

    # ---- views --------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.frame.shape[0])

    @property
    def is_empty(self) -> bool:
        """True for a file with no rows (valid: e.g. a tracker that found nothing)."""
        return len(self) == 0

    @property
    def xywh(self) -> FloatArray:
        """Boxes as an ``(N, 4)`` array of left, top, width, height (pixels)."""
        return np.stack([self.x, self.y, self.w, self.h], axis=1) if len(self) else np.zeros((0, 4))

    @property
    def xyxy(self) -> FloatArray:
        """Boxes as an ``(N, 4)`` array of x1, y1, x2, y2 (pixels)."""
        b = self.xywh
        return np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], axis=1)

    def frames(self) -> IntArray:
        """The distinct frame numbers, sorted."""
        return np.unique(self.frame)

    def select(self, mask: npt.NDArray[np.bool_]) -> MotData:
        """The rows where ``mask`` is true (same source)."""
        return MotData(
            self.frame[mask],
            self.id[mask],
            self.x[mask],
            self.y[mask],
            self.w[mask],
            self.h[mask],
            self.score[mask],
            self.class_id[mask],
            self.visibility[mask],
            source=self.source,
        )

    def duplicate_ids(self) -> list[tuple[int, int]]:
        """``(frame, id)`` pairs that occur more than once (a track may have one box per frame)."""
        if not len(self):
            return []
        pairs = np.stack([self.frame, self.id], axis=1)
        uniq, counts = np.unique(pairs, axis=0, return_counts=True)
        return [(int(f), int(i)) for f, i in uniq[counts > 1]]


# ---- reading ----------------------------------------------------------------------------------------------
def _is_integral(v: float) -> bool:
    return float(v).is_integer()


def _parse_line(line: str, where: str) -> list[float]:
    text = line.strip().rstrip(",")
    parts = _SPLIT.split(text)
    if not _MIN_COLUMNS <= len(parts) <= _MAX_COLUMNS:
        raise InputError(
            f"expected 6 to 10 columns (frame,id,x,y,w,h[,conf,class,visibility,unused]), got {len(parts)}",
            where=where,
        )
    values: list[float] = []
    for k, part in enumerate(parts):
        try:
            v = float(part)
        except ValueError:
            raise InputError(f"column {k + 1} ({_COLUMNS[k]}) is not a number: {part!r}", where=where) from None
        if not np.isfinite(v):
            raise InputError(f"column {k + 1} ({_COLUMNS[k]}) is not finite: {part!r}", where=where)
        values.append(v)
    frame, ident, _x, _y, w, h = values[:6]
    if not _is_integral(frame):
        raise InputError(f"frame must be an integer, got {parts[0]!r}", where=where)
    if frame < 1:
        raise InputError(f"frame must be >= 1 (MOT frames are 1-based), got {int(frame)}", where=where)
    if not _is_integral(ident):
        raise InputError(f"id must be an integer, got {parts[1]!r}", where=where)
    if w < 0:
        raise InputError(f"negative width {parts[4]}", where=where)
    if h < 0:
        raise InputError(f"negative height {parts[5]}", where=where)
    return values


def read_mot(path: str | os.PathLike[str]) -> MotData:
    """Read a MOT Challenge file (ground truth, tracker output or detections).

    Raises :class:`NotFoundError` for a missing file and :class:`InputError` naming ``path:line`` for a bad
    line (wrong column count, a value that is not a number, a negative width or height, frame < 1). Blank
    lines and lines starting with ``#`` are skipped; a file with no rows gives an empty :class:`MotData`
    (check :attr:`MotData.is_empty`).
    """
    p = Path(path)
    if not p.exists():
        raise NotFoundError("no such MOT file", where=p)
    if p.is_dir():
        raise InputError("is a folder, expected a MOT text file", where=p)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputError(f"not a UTF-8 text file ({err.reason} at byte {err.start})", where=p) from None

    rows: list[list[float]] = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        values = _parse_line(line, f"{p}:{line_no}")
        rows.append(values + [1.0, -1.0, -1.0, -1.0][len(values) - _MIN_COLUMNS :])
    if not rows:
        logger.info("%s: no rows", p)
        return MotData.empty(source=str(p))

    a = np.asarray(rows, dtype=np.float64)
    cls, vis = a[:, 7], a[:, 8]
    class_like = bool(np.all(cls == np.round(cls)))
    vis_like = bool(np.all((vis == -1) | ((vis >= 0) & (vis <= 1))))
    if not (class_like and vis_like):
        # 2D MOT 2015 layout: columns 8-10 are world coordinates, not class/visibility.
        logger.debug("%s: columns 8-10 hold world coordinates (MOT 2015 layout); class/visibility unknown", p)
        cls = np.full(len(a), -1.0)
        vis = np.full(len(a), -1.0)
    return MotData(a[:, 0], a[:, 1], a[:, 2], a[:, 3], a[:, 4], a[:, 5], a[:, 6], cls, vis, source=str(p))  # type: ignore[arg-type]


# ---- writing ----------------------------------------------------------------------------------------------
def _fmt(v: float) -> str:
    """Shortest text that reads back as the same float, without exponent or a trailing ``.0``."""
    return np.format_float_positional(float(v), trim="-")


def write_mot(path: str | os.PathLike[str], rows: MotData | Iterable[Sequence[float]]) -> Path:
    """Write rows as ``frame,id,x,y,w,h,score,class,visibility,-1`` lines, atomically.

    ``rows`` is a :class:`MotData` or rows of 6 to 9 numbers (``frame, id, x, y, w, h[, score[, class[,
    visibility]]]``). Tracker output, whose class and visibility are unknown, comes out in the MOT Challenge
    result format ``frame,id,x,y,w,h,score,-1,-1,-1``. Returns the path written.
    """
    data = rows if isinstance(rows, MotData) else MotData.from_rows(rows, source=str(path))
    lines = [
        ",".join(
            [
                str(int(data.frame[i])),
                str(int(data.id[i])),
                _fmt(data.x[i]),
                _fmt(data.y[i]),
                _fmt(data.w[i]),
                _fmt(data.h[i]),
                _fmt(data.score[i]),
                str(int(data.class_id[i])),
                _fmt(data.visibility[i]),
                "-1",
            ]
        )
        for i in range(len(data))
    ]
    return atomic_write_text(path, "".join(f"{line}\n" for line in lines))
