"""Track rows on disk: the Parquet table that ``sightings track`` and the batch ``track`` job write.

Columns (one row per tracked box): frame (1-based, as in the MOT file), index (0-based presentation index), t_s,
track_id, label, score, x1, y1, x2, y2 (pixels), interpolated (filled in by gap interpolation, not detected).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["write_tracks_parquet"]


def write_tracks_parquet(path: Path, columns: dict[str, list[Any]]) -> Path:
    """Write track rows as Parquet through a temporary file and an atomic rename."""
    from sightings.core.errors import BackendUnavailableError

    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise BackendUnavailableError(
            "writing Parquet needs pyarrow", where=path, hint="pip install 'sightings[vision]'"
        ) from exc
    schema = pa.schema(
        [
            ("frame", pa.int64()),
            ("index", pa.int64()),
            ("t_s", pa.float64()),
            ("track_id", pa.int64()),
            ("label", pa.string()),
            ("score", pa.float32()),
            ("x1", pa.float32()),
            ("y1", pa.float32()),
            ("x2", pa.float32()),
            ("y2", pa.float32()),
            ("interpolated", pa.bool_()),
        ]
    )
    table = pa.Table.from_pydict(columns, schema=schema)
    tmp = path.with_name(f".{path.name}.partial")
    try:
        pq.write_table(table, tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
