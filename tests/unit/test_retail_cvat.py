"""CVAT loop: tracks → MOT 1.1 zip / CVAT for video 1.1 XML → back as ground truth, the same boxes; bad files."""

from __future__ import annotations

import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sightings.core.errors import InputError, NotFoundError
from sightings.evaluate.mot_io import MotData, read_mot, write_mot
from sightings.solutions.retail.cvat import (
    export_cvat_xml,
    export_mot_zip,
    import_ground_truth,
    tracks_from_parquet,
)


def _tracks() -> MotData:
    # stride 5: frames 1, 6, 11, …; track 7 seen at frames 1–16 then again at 31–36 (missed at 21 and 26)
    rows: list[tuple[float, ...]] = [(f, 3, 10 + f, 20, 30, 60, 0.9) for f in range(1, 50, 5)]
    rows += [(f, 7, 200, 40 + f / 2, 25.5, 50.25, 0.7) for f in (1, 6, 11, 16, 31, 36)]
    return MotData.from_rows(sorted(rows))


def _boxes(data: MotData) -> set[tuple[float, ...]]:
    return {
        (float(data.frame[i]), *(round(float(v), 2) for v in (data.x[i], data.y[i], data.w[i], data.h[i])))
        for i in range(len(data))
    }


def test_mot_zip_round_trip(tmp_path: Path) -> None:
    data = _tracks()
    out = export_mot_zip(data, tmp_path / "mot.zip")
    with zipfile.ZipFile(out) as zf:
        assert sorted(zf.namelist()) == ["gt/gt.txt", "gt/labels.txt"]
        assert zf.read("gt/labels.txt") == b"person\n"
        assert zf.read("gt/gt.txt").decode().splitlines()[0] == "1,3,11,20,30,60,1,1,1"
    back = import_ground_truth(out)
    assert _boxes(back) == _boxes(data)
    assert sorted(set(back.id.tolist())) == [3, 7]
    gt = write_mot(tmp_path / "gt.txt", back)
    assert _boxes(read_mot(gt)) == _boxes(data)


def test_cvat_xml_round_trip_with_outside_boxes(tmp_path: Path) -> None:
    data = _tracks()
    out = export_cvat_xml(data, tmp_path / "ann.xml", width=320, height=240, frames=60)
    root = ET.parse(out).getroot()
    assert root.findtext("version") == "1.1" and root.findtext("meta/task/size") == "60"
    assert root.findtext("meta/task/original_size/width") == "320"
    second = root.findall("track")[1]
    outside = [int(b.get("frame", -1)) for b in second.findall("box") if b.get("outside") == "1"]
    assert outside == [20, 40]  # 0-based: not seen at the next sampled frame (21 → 20), and after the end
    back = import_ground_truth(out)
    assert _boxes(back) == _boxes(data)
    ids = {int(back.id[i]): int(data.id[i]) for i in range(len(back))}
    assert sorted(ids) == [1, 2]  # CVAT numbers tracks; grouping and order are kept
    per_track = [sorted(int(f) for f in back.frame[back.id == k]) for k in (1, 2)]
    assert per_track == [list(range(1, 50, 5)), [1, 6, 11, 16, 31, 36]]


def test_cvat_interpolated_boxes_and_keyframes_only(tmp_path: Path) -> None:
    xml = """<annotations><version>1.1</version><track id="0" label="person">
      <box frame="0" keyframe="1" outside="0" occluded="0" xtl="1" ytl="2" xbr="11" ybr="22"/>
      <box frame="1" keyframe="0" outside="0" occluded="0" xtl="2" ytl="2" xbr="12" ybr="22"/>
      <box frame="2" keyframe="1" outside="1" occluded="0" xtl="2" ytl="2" xbr="12" ybr="22"/></track></annotations>"""
    path = tmp_path / "a.xml"
    path.write_text(xml, encoding="utf-8")
    assert len(import_ground_truth(path)) == 2
    assert len(import_ground_truth(path, keyframes_only=True)) == 1
    assert np.allclose(import_ground_truth(path).w, [10, 10])


def test_bad_annotation_files(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        import_ground_truth(tmp_path / "none.zip")
    (tmp_path / "x.txt").write_text("hello", encoding="utf-8")
    with pytest.raises(InputError, match=r"expected a MOT 1\.1 zip or a CVAT"):
        import_ground_truth(tmp_path / "x.txt")
    (tmp_path / "img.xml").write_text("<annotations><image id='0'/></annotations>", encoding="utf-8")
    with pytest.raises(InputError, match="CVAT for images"):
        import_ground_truth(tmp_path / "img.xml")
    (tmp_path / "broken.xml").write_text("<annotations><track", encoding="utf-8")
    with pytest.raises(InputError, match="not well-formed"):
        import_ground_truth(tmp_path / "broken.xml")
    with zipfile.ZipFile(tmp_path / "empty.zip", "w") as zf:
        zf.writestr("readme.txt", "x")
    with pytest.raises(InputError, match=r"no gt/gt\.txt"):
        import_ground_truth(tmp_path / "empty.zip")


def test_tracks_from_parquet(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    from sightings.vision.track_output import write_tracks_parquet

    cols: dict[str, list[Any]] = {
        "frame": [1, 6],
        "index": [0, 5],
        "t_s": [0.0, 1.0],
        "track_id": [4, 4],
        "label": ["person"] * 2,
        "score": [0.9, 0.8],
        "x1": [10.0, 12.0],
        "y1": [5.0, 5.0],
        "x2": [40.0, 42.0],
        "y2": [85.0, 85.0],
        "interpolated": [False, False],
    }
    path = write_tracks_parquet(tmp_path / "tracks.parquet", cols)
    data = tracks_from_parquet(path)
    assert data.frame.tolist() == [1, 6] and data.w.tolist() == [30.0, 30.0] and data.id.tolist() == [4, 4]
    (tmp_path / "bad.parquet").write_bytes(b"nope")
    with pytest.raises(InputError, match="not a readable Parquet"):
        tracks_from_parquet(tmp_path / "bad.parquet")
