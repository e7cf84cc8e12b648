"""The ground-truth loop: export tracks for correction in CVAT, import the corrected tracks back as MOT ground truth.

    sightings retail export-cvat RUN_ID|tracks.parquet --format mot|cvat-xml --out F
    sightings retail import-gt F --out gt.txt

Formats (what CVAT's "Upload annotations" / "Export dataset" use):

- **MOT 1.1** — a zip with ``gt/gt.txt`` (``frame,id,x,y,w,h,not_ignored,class_id,visibility``; frames 1-based,
  class ids 1-based lines of ``gt/labels.txt``) and ``gt/labels.txt``.
- **CVAT for video 1.1** — XML: ``<annotations><version>1.1</version><meta>…</meta><track id label>`` with
  ``<box frame xtl ytl xbr ybr outside occluded keyframe/>`` (frames 0-based). Every exported box is a keyframe;
  where a track is not seen at the next sampled frame an ``outside="1"`` box ends it there, so CVAT interpolates
  only between sampled frames where the person really was. On import every box with ``outside="0"`` is kept
  (CVAT exports interpolated boxes for every frame; keyframes-only with ``keyframes_only``).

Tracks come from a warehouse run (``tracks`` table, kept 3 days) or a ``tracks.parquet`` written by
``sightings track`` / ``retail`` (columns ``frame`` (1-based), ``track_id``, ``x1``, ``y1``, ``x2``, ``y2``,
optional ``score``). Ground truth is written with :func:`sightings.evaluate.mot_io.write_mot`, ready for
``sightings eval track``.
"""

from __future__ import annotations

import io
import itertools
import statistics
import xml.etree.ElementTree as ET  # the usual alias
import zipfile
from collections import defaultdict
from pathlib import Path

from sightings.core.atomic import atomic_write_bytes
from sightings.core.errors import InputError, NotFoundError
from sightings.core.protocols import Warehouse
from sightings.evaluate.mot_io import MotData

__all__ = [
    "export_cvat_xml",
    "export_mot_zip",
    "import_ground_truth",
    "read_tracks_file",
    "tracks_from_parquet",
    "tracks_from_warehouse",
]


def _fmt(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".")


def tracks_from_parquet(path: Path) -> MotData:
    """Boxes of a tracks.parquet as MotData (frames 1-based)."""
    if not path.exists():
        raise NotFoundError("tracks file not found", where=path)
    try:
        import pyarrow.parquet as pq

        cols = pq.read_table(path).to_pydict()
    except ImportError:
        raise
    except Exception as exc:
        raise InputError(f"not a readable Parquet file ({' '.join(str(exc).split())[:120]})", where=path) from None
    missing = [c for c in ("frame", "track_id", "x1", "y1", "x2", "y2") if c not in cols]
    if missing:
        raise InputError(f"missing columns {missing}", where=path)
    scores = cols.get("score") or [1.0] * len(cols["frame"])
    rows = [
        (f, t, x1, y1, x2 - x1, y2 - y1, s)
        for f, t, x1, y1, x2, y2, s in zip(
            cols["frame"], cols["track_id"], cols["x1"], cols["y1"], cols["x2"], cols["y2"], scores, strict=True
        )
    ]
    return MotData.from_rows(rows, source=str(path))


def tracks_from_warehouse(warehouse: Warehouse, run_id: str) -> MotData:
    """The raw track points of ``run_id`` (frames 0-based in the table → 1-based here)."""
    from sightings.analytics.warehouse_base import sql_literal
    from sightings.solutions.retail.reports import database_of

    db = database_of(warehouse)
    rows = warehouse.query(
        f"SELECT frame, track_id, x1, y1, x2, y2, score FROM {db}.tracks WHERE run_id = {sql_literal(run_id)} "
        "ORDER BY frame, track_id"
    )
    if not rows:
        raise NotFoundError("no track points for this run (unknown run id, or older than the 3-day TTL)", where=run_id)
    return MotData.from_rows(
        [
            (r["frame"] + 1, r["track_id"], r["x1"], r["y1"], r["x2"] - r["x1"], r["y2"] - r["y1"], r["score"])
            for r in rows
        ],
        source=run_id,
    )


def export_mot_zip(data: MotData, out: Path, *, label: str = "person") -> Path:
    """MOT 1.1 zip (``gt/gt.txt`` + ``gt/labels.txt``), written atomically."""
    order = sorted(range(len(data)), key=lambda i: (int(data.frame[i]), int(data.id[i])))
    lines = [
        f"{int(data.frame[i])},{int(data.id[i])},{_fmt(data.x[i])},{_fmt(data.y[i])},"
        f"{_fmt(data.w[i])},{_fmt(data.h[i])},1,1,1"
        for i in order
    ]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("gt/gt.txt", "".join(f"{line}\n" for line in lines))
        zf.writestr("gt/labels.txt", f"{label}\n")
    return atomic_write_bytes(out, buffer.getvalue())


def export_cvat_xml(
    data: MotData,
    out: Path,
    *,
    label: str = "person",
    width: int | None = None,
    height: int | None = None,
    frames: int | None = None,
) -> Path:
    """CVAT for video 1.1 XML (tracks of keyframe boxes, ``outside`` where a track is not seen), atomically."""
    per_track: dict[int, list[int]] = defaultdict(list)
    for i in range(len(data)):
        per_track[int(data.id[i])].append(i)
    sampled = sorted({int(f) - 1 for f in data.frame})
    diffs = [b - a for a, b in itertools.pairwise(sampled)]
    step = int(statistics.median(diffs)) if diffs else 1
    last_frame = (frames - 1) if frames else (sampled[-1] + step if sampled else 0)
    width = width or int(max((data.x + data.w).max(initial=1), 1))
    height = height or int(max((data.y + data.h).max(initial=1), 1))

    root = ET.Element("annotations")
    ET.SubElement(root, "version").text = "1.1"
    task = ET.SubElement(ET.SubElement(root, "meta"), "task")
    for key, value in (
        ("size", last_frame + 1),
        ("mode", "interpolation"),
        ("start_frame", 0),
        ("stop_frame", last_frame),
    ):
        ET.SubElement(task, key).text = str(value)
    lab = ET.SubElement(ET.SubElement(task, "labels"), "label")
    ET.SubElement(lab, "name").text = label
    ET.SubElement(lab, "type").text = "rectangle"
    ET.SubElement(lab, "attributes")
    size = ET.SubElement(task, "original_size")
    ET.SubElement(size, "width").text = str(width)
    ET.SubElement(size, "height").text = str(height)

    def box(track: ET.Element, frame: int, i: int, outside: bool) -> None:
        ET.SubElement(
            track,
            "box",
            frame=str(frame),
            keyframe="1",
            outside="1" if outside else "0",
            occluded="0",
            xtl=_fmt(data.x[i]),
            ytl=_fmt(data.y[i]),
            xbr=_fmt(data.x[i] + data.w[i]),
            ybr=_fmt(data.y[i] + data.h[i]),
            z_order="0",
        )

    for n, (_, idx) in enumerate(sorted(per_track.items())):  # CVAT numbers tracks 0, 1, … (tracker id order)
        track = ET.SubElement(root, "track", id=str(n), label=label, source="auto")
        idx.sort(key=lambda i: int(data.frame[i]))
        for k, i in enumerate(idx):
            frame = int(data.frame[i]) - 1
            box(track, frame, i, outside=False)
            nxt = int(data.frame[idx[k + 1]]) - 1 if k + 1 < len(idx) else None
            if (nxt is None or nxt > frame + step) and frame + step <= last_frame:
                box(track, frame + step, i, outside=True)
    ET.indent(root)
    return atomic_write_bytes(out, ET.tostring(root, encoding="utf-8", xml_declaration=True))


def _from_mot_zip(path: Path) -> MotData:
    try:
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if n.endswith("gt/gt.txt") or n == "gt.txt"]
            if not names:
                raise InputError("no gt/gt.txt in the zip (expected CVAT's MOT 1.1 layout)", where=path)
            text = zf.read(names[0]).decode("utf-8-sig")
    except zipfile.BadZipFile:
        raise InputError("not a zip file", where=path) from None
    rows = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split(",")]
        try:
            values = [float(p) for p in parts[:9]]
        except ValueError:
            raise InputError(f"line {line_no}: not numbers: {line[:60]!r}", where=f"{path}:gt/gt.txt") from None
        if len(values) < 6:
            raise InputError(f"line {line_no}: expected ≥ 6 values", where=f"{path}:gt/gt.txt")
        frame, tid, x, y, w, h = values[:6]
        consider = values[6] if len(values) > 6 else 1.0
        rows.append((frame, tid, x, y, w, h, consider, 1, 1))
    return MotData.from_rows(rows, source=str(path))


def _from_cvat_xml(path: Path, *, keyframes_only: bool) -> MotData:
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise InputError(f"not well-formed XML ({exc})", where=path) from None
    if root.tag != "annotations":
        raise InputError("not a CVAT annotations file (root element is not <annotations>)", where=path)
    tracks = root.findall("track")
    if not tracks and root.findall("image"):
        raise InputError("this is 'CVAT for images'; export 'CVAT for video 1.1' (tracks) instead", where=path)
    rows = []
    for n, track in enumerate(tracks):
        tid = int(track.get("id", n)) + 1  # MOT ids are positive
        for b in track.findall("box"):
            if b.get("outside") == "1" or (keyframes_only and b.get("keyframe") != "1"):
                continue
            try:
                frame = int(b.get("frame", ""))
                x1, y1, x2, y2 = (float(b.get(k, "")) for k in ("xtl", "ytl", "xbr", "ybr"))
            except ValueError:
                raise InputError(f"track {track.get('id')}: a box with bad attributes", where=path) from None
            rows.append((frame + 1, tid, x1, y1, x2 - x1, y2 - y1, 1, 1, 1))
    rows.sort(key=lambda r: (r[0], r[1]))
    return MotData.from_rows(rows, source=str(path))


def import_ground_truth(path: Path, *, keyframes_only: bool = False) -> MotData:
    """Corrected tracks from a CVAT export: a MOT 1.1 zip or a CVAT-for-video 1.1 XML (by content)."""
    if not path.exists():
        raise NotFoundError("annotation file not found", where=path)
    with path.open("rb") as fh:
        head = fh.read(64).lstrip()
    if head.startswith(b"PK"):
        return _from_mot_zip(path)
    if head.startswith(b"<"):
        return _from_cvat_xml(path, keyframes_only=keyframes_only)
    raise InputError("expected a MOT 1.1 zip or a CVAT for video 1.1 XML file", where=path)


def read_tracks_file(path: Path) -> MotData:
    """Tracks from a file: a ``tracks.parquet``, an exported / corrected MOT 1.1 zip or CVAT XML, or a MOT text file
    (``frame,id,x,y,w,h,...``, frames 1-based: what ``import-gt`` writes and MOT benchmarks ship)."""
    if path.suffix.lower() == ".parquet":
        return tracks_from_parquet(path)
    if path.suffix.lower() == ".txt":
        from sightings.evaluate.mot_io import read_mot

        data = read_mot(path)
        if data.is_empty:
            raise InputError("the MOT file has no boxes", where=path)
        return data
    return import_ground_truth(path)
