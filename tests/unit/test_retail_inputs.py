"""Retail inputs: file names and sidecars, receipts CSV, config and zones — good and bad input."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from sightings.core.errors import ConfigError, InputError, NotFoundError
from sightings.solutions.retail.config import config_from_mapping, load_retail_config
from sightings.solutions.retail.inputs import parse_video_name, read_video_file, scan_folder
from sightings.solutions.retail.purchases import read_receipts
from sightings.solutions.retail.zones import CameraZones, Zone, draw_zones, point_in_polygon


def test_name_with_offset_and_utc() -> None:
    v = parse_video_name(Path("shop12_cam-3_20260301-093000+0300.mp4"))
    assert (v.store, v.camera) == ("shop12", "cam-3")
    assert v.started_at == datetime(2026, 3, 1, 6, 30, tzinfo=UTC)
    assert v.started_at.utcoffset() == timedelta(hours=3)
    assert v.run_id == "shop12/cam-3/20260301T063000Z"
    assert parse_video_name(Path("s_c_20260301-063000Z.mp4")).started_at == datetime(2026, 3, 1, 6, 30, tzinfo=UTC)
    assert parse_video_name(Path("s_c_20260301-063000-0530.mp4")).started_at.utcoffset() == -timedelta(
        hours=5, minutes=30
    )


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("shop_cam_20260301-093000.mp4", "no time zone"),
        ("shop_cam_20260301-093000+3.mp4", r"bad time zone '\+3'"),
        ("shop_cam_20260301-093000MSK.mp4", "bad time zone 'MSK'"),
        ("shop_cam_20260301-093000+1500.mp4", "out of range"),
        ("shop_cam_20260301-093000+0360.mp4", "has 60 minutes"),
        ("shop_cam_20261301-093000Z.mp4", "bad date/time"),
        ("recording.mp4", "does not match"),
    ],
)
def test_bad_names_name_the_file(name: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        parse_video_name(Path(name))
    assert name in str(info.value)
    assert "\n" not in str(info.value)


def test_sidecar_wins_and_needs_a_time_zone(tmp_path: Path) -> None:
    video = tmp_path / "ch01.mp4"
    video.write_bytes(b"x")
    sidecar = tmp_path / "ch01.mp4.json"
    sidecar.write_text(json.dumps({"store": "s1", "camera": "c1", "started_at": "2026-03-01T09:00:00+03:00"}))
    v = read_video_file(video)
    assert (v.store, v.camera, v.started_at.hour, v.started_at.utcoffset()) == ("s1", "c1", 9, timedelta(hours=3))
    sidecar.write_text(json.dumps({"store": "s1", "camera": "c1", "started_at": "2026-03-01T09:00:00"}))
    with pytest.raises(InputError, match="no time zone") as info:
        read_video_file(video)
    assert "ch01.mp4.json" in str(info.value)
    sidecar.write_text("{not json")
    with pytest.raises(InputError, match="unreadable sidecar"):
        read_video_file(video)


def test_scan_skips_zero_length_and_filters(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "s1_c2_20260301-100000+0300.mp4").write_bytes(b"data")
    (tmp_path / "s1_c1_20260301-090000+0300.mp4").write_bytes(b"data")
    (tmp_path / "s1_c1_20260302-090000+0300.mp4").write_bytes(b"data")
    (tmp_path / "s2_c1_20260301-090000+0300.mp4").write_bytes(b"data")
    (tmp_path / "s1_c3_20260301-090000+0300.mp4").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("ignored")
    scan = scan_folder(tmp_path, store="s1", day=date(2026, 3, 1))
    assert [(v.camera, v.started_at.hour) for v in scan.videos] == [("c1", 9), ("c2", 10)]
    assert [(s.path.name, s.reason) for s in scan.skipped] == [("s1_c3_20260301-090000+0300.mp4", "zero-length file")]
    (tmp_path / "s1_c1_20260301-110000.mp4").write_bytes(b"data")
    with pytest.raises(InputError, match=re.escape("s1_c1_20260301-110000.mp4: no time zone")):
        scan_folder(tmp_path, store="s1")
    with pytest.raises(NotFoundError):
        scan_folder(tmp_path / "missing")


def test_receipts_good_file(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        "time,amount,register,receipt_id\n"
        "2026-03-01T09:31:18+03:00,1000,till-1,A1\n"
        '2026-03-01T06:00:00Z,"12,50",till-2,\n'
    )
    rows = read_receipts(path)
    assert [(r.ts, r.amount, r.register, r.receipt_id) for r in rows] == [
        (datetime(2026, 3, 1, 6, 0, tzinfo=UTC), 12.5, "till-2", "line-3"),
        (datetime(2026, 3, 1, 9, 31, 18, tzinfo=timezone(timedelta(hours=3))), 1000.0, "till-1", "A1"),
    ]


def test_receipts_bad_rows_are_listed_by_number(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        "time,amount,register\n"
        "2026-03-01T09:00:00+03:00,10,t1\n"
        "2026-03-01T09:00:00,10,t1\n"
        "2026-03-01T09:00:00+03:00,abc,t1\n"
        "2026-03-01T09:00:00+03:00,10,t1\n"
        "yesterday,10,t1\n"
        "2026-03-01T09:00:00+03:00,-5,t1\n"
        "2026-03-01T09:00:00+03:00,5,\n"
    )
    with pytest.raises(InputError) as info:
        read_receipts(path)
    text = str(info.value)
    assert text.startswith(f"{path}: 5 bad rows: row 3: time")
    for fragment in (
        "row 3:",
        "no time zone",
        "row 4: amount 'abc'",
        "row 6: time 'yesterday'",
        "row 7:",
        "row 8: empty",
    ):
        assert fragment in text
    assert "row 2" not in text and "row 5" not in text
    path.write_text("when,amount,register\n")
    with pytest.raises(InputError, match=r"missing columns \['time'\]"):
        read_receipts(path)
    with pytest.raises(NotFoundError):
        read_receipts(tmp_path / "none.csv")


def test_config_errors_name_the_field(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=re.escape("interactions.distance_px")):
        config_from_mapping({"interactions": {"distance_px": -1}}, where="retail.yaml")
    with pytest.raises(ConfigError, match="colour"):
        config_from_mapping({"colour": "red"}, where="retail.yaml")
    with pytest.raises(ConfigError, match=re.escape("cameras.c1.zones.0.points")):
        config_from_mapping(
            {"cameras": {"c1": {"zones": [{"name": "x", "kind": "floor", "points": [[0, 0]]}]}}}, where="x"
        )
    with pytest.raises(ConfigError, match=re.escape("cameras.c1.zones.0.kind")):
        config_from_mapping(
            {"cameras": {"c1": {"zones": [{"name": "x", "kind": "kitchen", "points": [[0, 0], [1, 0], [1, 1]]}]}}},
            where="x",
        )
    with pytest.raises(ConfigError, match=re.escape("retail.yaml: warehouse.kind: unknown warehouse 'clickhose'")):
        config_from_mapping({"warehouse": {"kind": "clickhose"}}, where="retail.yaml")
    cfg_path = tmp_path / "retail.yaml"
    cfg_path.write_text("stride: 25\nroles: {counter_share: 0.3}\n")
    cfg = load_retail_config(cfg_path)
    assert cfg.sampling == (None, 25) and cfg.roles.counter_share == 0.3
    assert load_retail_config(None).sampling == (1.0, None)
    with pytest.raises(NotFoundError):
        load_retail_config(tmp_path / "missing.yaml")


def test_point_in_polygon_and_zone_order() -> None:
    square = [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)]
    assert point_in_polygon(5, 5, square) and not point_in_polygon(11, 5, square)
    triangle = [(0.0, 0.0), (10.0, 0.0), (0.0, 10.0)]
    assert point_in_polygon(2, 2, triangle) and not point_in_polygon(8, 8, triangle)
    zones = CameraZones(
        zones=[
            Zone(name="all", kind="floor", points=[(0, 0), (100, 0), (100, 100), (0, 100)]),
            Zone(name="desk", kind="counter", points=[(0, 0), (50, 0), (50, 30), (0, 30)]),
        ]
    )
    assert zones.kind_at(10, 10) == "counter"  # counter wins over floor
    assert zones.kind_at(80, 80) == "floor" and zones.kind_at(200, 200) == ""
    assert zones.kind_of_box(0, -50, 20, 20) == "counter"  # by the foot point (10, 20)
    image = np.zeros((100, 120, 3), dtype=np.uint8)
    drawn = draw_zones(image, zones)
    assert drawn.shape == image.shape and drawn.any() and not image.any()
    # overlapping zones listed inner first (the floor last): the desk still shows its own red tint over the floor
    drawn = draw_zones(image, CameraZones(zones=list(reversed(zones.zones))))
    desk_px, floor_px = drawn[28, 45].astype(int), drawn[80, 80].astype(int)  # below the labels
    assert desk_px[0] > desk_px[1] and floor_px[1] > 0 and abs(floor_px[0] - floor_px[1]) < 20  # red-ish vs yellow
    assert not np.array_equal(desk_px, floor_px)
