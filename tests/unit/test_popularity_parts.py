"""Popularity parts: input tables and their bad-input handling, horizon rule, channels as-of, split, features."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from sightings.core.errors import InputError, NotFoundError
from sightings.solutions.popularity.channels import ChannelIndex, ChannelInfo
from sightings.solutions.popularity.features import Aggregation, feature_names, read_content_run
from sightings.solutions.popularity.schema import age_bucket
from sightings.solutions.popularity.snapshots import CleaningCounts, Snapshot, load_snapshots, load_videos
from sightings.solutions.popularity.splits import time_group_split
from sightings.solutions.popularity.targets import HorizonRule, horizon_target, value_at
from sightings.solutions.popularity.train import conformal_halfwidth

T0 = datetime(2026, 3, 1, tzinfo=UTC)
HEADER = "platform_id,video_id,snapshot_at,views,likes,comments\n"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_snapshots_sorted_deduplicated_and_counted(tmp_path: Path) -> None:
    csv = _write(
        tmp_path / "s.csv",
        HEADER
        + "yt,a,2026-03-03T00:00:00Z,300,3,1\n"
        + "yt,a,2026-03-01T00:00:00Z,100,1,0\n"  # out of order
        + "yt,a,2026-03-01T00:00:00Z,100,1,0\n"  # exact duplicate
        + "yt,a,2026-03-01T00:00:00Z,999,1,0\n"  # duplicate time, other counts
        + "yt,a,2026-03-02T00:00:00+03:00,250,,0\n"  # offset; likes missing
        + "yt,a,2026-03-04T00:00:00,280,4,1\n",  # no offset = UTC; views went down (deleted)
    )
    counts = CleaningCounts()
    series = load_snapshots(csv, counts)[("yt", "a")]
    assert [s.at for s in series] == sorted(s.at for s in series)
    assert series[0].views == 100 and series[1].at == datetime(2026, 3, 1, 21, tzinfo=UTC)
    assert math.isnan(series[1].likes)
    assert counts.snapshot_rows_read == 6
    assert counts.duplicate_rows_dropped == 2 and counts.conflicting_duplicates == 1
    assert counts.out_of_order_rows == 2
    assert counts.decreasing_pairs == 1  # views 300 → 280


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("yt,a,2026-03-01,many,1,0\n", "row 2, column 'views': not a number: 'many'"),
        ("yt,a,yesterday,1,1,0\n", "row 2, column 'snapshot_at': not an ISO-8601 time"),
        ("yt,a,2026-03-01,-5,1,0\n", "row 2, column 'views': -5 is below 0"),
        ("yt,a,2026-03-01,1.5,1,0\n", "row 2, column 'views': a count must be a whole number"),
        ("yt,a,2026-03-01,1,1,0\nyt,b,2026-03-01,1,1,0,7\n", "row 3: 7 fields, header has 6"),
        ("yt,a,2026-03-01,1,1\n", "row 2: fewer fields"),
        (",a,2026-03-01,1,1,0\n", "row 2: platform_id and video_id must not be empty"),
    ],
)
def test_bad_snapshot_csv_names_row_and_column(tmp_path: Path, body: str, message: str) -> None:
    csv = _write(tmp_path / "s.csv", HEADER + body)
    with pytest.raises(InputError) as err:
        load_snapshots(csv, CleaningCounts())
    assert message in str(err.value) and str(csv) in str(err.value)
    assert "\n" not in str(err.value)


def test_bad_table_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="lacks column\\(s\\) 'comments'"):
        load_snapshots(_write(tmp_path / "s.csv", "platform_id,video_id,snapshot_at,views,likes\n"), CleaningCounts())
    with pytest.raises(InputError, match="empty snapshots file"):
        load_snapshots(_write(tmp_path / "e.csv", ""), CleaningCounts())
    bad = tmp_path / "b.csv"
    bad.write_bytes(HEADER.encode() + b"yt,\xff\xfe,2026-03-01,1,1,0\n")
    with pytest.raises(InputError, match="not UTF-8"):
        load_snapshots(bad, CleaningCounts())
    with pytest.raises(InputError, match=r"must be a \.csv or \.parquet"):
        load_snapshots(_write(tmp_path / "s.json", "{}"), CleaningCounts())
    with pytest.raises(NotFoundError):
        load_snapshots(tmp_path / "missing.csv", CleaningCounts())
    with pytest.raises(InputError, match="videos table lacks column\\(s\\) 'published_at'"):
        load_videos(_write(tmp_path / "v.csv", "platform_id,video_id\nyt,a\n"), CleaningCounts())


def test_parquet_snapshots(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "platform_id": ["yt", "yt"],
            "video_id": ["a", "a"],
            "snapshot_at": [T0 + timedelta(days=1), T0],
            "views": [20, 10],
            "likes": [2, None],
            "comments": [0, 0],
        }
    )
    pq.write_table(table, tmp_path / "s.parquet")
    counts = CleaningCounts()
    series = load_snapshots(tmp_path / "s.parquet", counts)[("yt", "a")]
    assert [s.views for s in series] == [10, 20] and counts.out_of_order_rows == 1


def _series(points: list[tuple[float, float]]) -> list[Snapshot]:
    return [Snapshot(T0 + timedelta(hours=h), v, 0.0, 0.0) for h, v in points]


def test_value_at_rule() -> None:
    rule = HorizonRule(tolerance_h=36, snap_h=6)
    times = [T0, T0 + timedelta(hours=24), T0 + timedelta(hours=48)]
    values = [0.0, 100.0, 300.0]
    assert value_at(times, values, T0 + timedelta(hours=24), rule) == (100.0, "exact")
    assert value_at(times, values, T0 + timedelta(hours=36), rule) == (200.0, "interpolated")
    assert value_at(times, values, T0 + timedelta(hours=52), rule) == (300.0, "nearest")
    assert math.isnan(value_at(times, values, T0 + timedelta(hours=60), rule)[0])
    wide = [T0, T0 + timedelta(hours=100)]
    assert math.isnan(value_at(wide, [0.0, 1.0], T0 + timedelta(hours=50), rule)[0])  # neither side within 36 h


def test_horizon_target_log1p_and_clipping() -> None:
    rule = HorizonRule()
    series = _series([(0, 100), (24 * 7, 1100), (24 * 14, 900)])
    assert horizon_target(series, "views", 7, rule).value == pytest.approx(math.log1p(1000))
    later = horizon_target(series, "views", 14, rule)  # 900 - 100: lower than at 7 d, still growth from t1
    assert later.value == pytest.approx(math.log1p(800)) and not later.clipped
    down = horizon_target(_series([(0, 500), (24 * 7, 400)]), "views", 7, rule)
    assert down.value == 0.0 and down.clipped
    assert math.isnan(horizon_target(series, "views", 21, rule).value)


def test_channel_lookup_never_uses_later_rows() -> None:
    index = ChannelIndex(
        [
            ChannelInfo("c", 100, 5, T0 - timedelta(days=365), T0 - timedelta(days=10)),
            ChannelInfo("c", 999_999, 50, None, T0 + timedelta(days=10)),
        ]
    )
    now = index.lookup("c", T0)
    assert now.found and now.subscribers == 100 and now.future_rows_skipped == 1
    assert now.created_at == T0 - timedelta(days=365)
    later = index.lookup("c", T0 + timedelta(days=11))
    assert later.subscribers == 999_999
    assert not index.lookup("other", T0).found and not index.lookup(None, T0).found
    static = ChannelIndex([ChannelInfo("s", 7)]).lookup("s", T0)
    assert static.subscribers == 7


def test_time_group_split_keeps_channels_whole_and_in_time_order() -> None:
    rng = np.random.default_rng(0)
    groups = np.array([f"ch{int(g)}" for g in rng.integers(0, 30, 300)], dtype=object)
    start = {g: rng.uniform(0, 100) for g in set(groups)}
    times = np.array([f"{start[g] + rng.uniform(0, 5):08.3f}" for g in groups], dtype=object)
    split = time_group_split(times, groups)
    parts = [set(split.groups[s]) for s in ("train", "valid", "test")]
    assert not (parts[0] & parts[1]) and not (parts[0] & parts[2]) and not (parts[1] & parts[2])
    assert sum(len(split.rows(s)) for s in ("train", "valid", "test")) == 300
    assert 0.55 < split.train.size / 300 < 0.85
    first = {g: min(t for t, gg in zip(times, groups, strict=True) if gg == g) for g in set(groups)}
    assert max(first[g] for g in parts[0]) <= min(first[g] for g in parts[2])
    with pytest.raises(InputError, match="sum to 1"):
        time_group_split(times, groups, (0.5, 0.5, 0.5))


def test_conformal_halfwidth() -> None:
    residuals = np.arange(1, 11, dtype=float)  # |r| = 1..10
    assert conformal_halfwidth(residuals, 0.8) == 9.0  # ceil(11 * 0.8) = 9th smallest
    assert conformal_halfwidth(residuals, 0.99) == 10.0
    assert math.isnan(conformal_halfwidth(np.empty(0), 0.8))


def test_age_buckets() -> None:
    assert [age_bucket(h) for h in (0, 23.9, 24, 47, 48, 71.9, 72, 500)] == [
        "0-24h", "0-24h", "24-48h", "24-48h", "48-72h", "48-72h", ">72h", ">72h",
    ]  # fmt: skip


def test_aggregations() -> None:
    curve = Aggregation("m", "k", "curve")
    assert curve.columns() == ["content__m__k__mean", "content__m__k__std", "content__m__k__p10", "content__m__k__p90"]
    out = curve.reduce(np.arange(11, dtype=np.float32))
    assert out == pytest.approx([5.0, np.std(np.arange(11)), 1.0, 9.0])
    assert all(math.isnan(v) for v in curve.reduce(np.empty(0)))
    assert Aggregation("m", "k", "count").reduce(np.zeros(4)) == [4.0]
    assert Aggregation("m", "k", "scalar").reduce(np.float32(2.5)) == [2.5]
    assert Aggregation("m", "k", "vector", ("a", "b")).reduce(np.array([1, 2])) == [1.0, 2.0]


def test_content_run_reading(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    np.savez(run / "video_pacing.npz", cuts_per_minute=np.float32(12), motion_energy=np.array([0.1, 0.3], np.float32))
    modules = {
        "video_pacing": {"status": "ok", "version": "1", "schema_version": "1", "file": "video_pacing.npz"},
        "loudness": {"status": "ok", "version": "2", "schema_version": "2", "file": "loudness.npz"},
        "tempo": {"status": "skipped", "reason": "no audio track"},
    }
    manifest = {"manifest_version": "1", "platform_id": "yt", "video_id": "a", "run_id": "r1", "modules": modules,
                "source": {"duration_s": 30.0, "source_fps": 25.0}}  # fmt: skip
    (run / "manifest.json").write_text(json.dumps(manifest))
    content = read_content_run(run)
    assert content.values["content__video_pacing__cuts_per_minute"] == 12.0
    assert content.values["content__video_pacing__motion_energy__mean"] == pytest.approx(0.2)
    assert content.values["content__video_pacing__ok"] == 1.0
    assert content.values["content__loudness__ok"] == 0.0
    assert math.isnan(content.values["content__loudness__integrated_lufs"])
    assert any("loudness: schema version '2'" in p for p in content.problems)
    assert "tempo: skipped" in content.problems
    assert set(content.values) <= set(feature_names())
    manifest["manifest_version"] = "9"
    (run / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(InputError, match="manifest version '9'"):
        read_content_run(run)
    with pytest.raises(NotFoundError):
        read_content_run(tmp_path / "nope")
