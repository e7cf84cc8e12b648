"""Time-buffered IoU association (tracks survive 1 fps sampling) and offline gap interpolation."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from factories import make_video
from sightings.core.errors import ConfigError
from sightings.core.types import Box, Detection, Frame, MediaKind, MediaRef
from sightings.testing.fakes import FakeDetector

pytest.importorskip("trackers")

from sightings.vision.pipeline import TrackRow, track_video
from sightings.vision.track.association import TimeBufferedIoU
from sightings.vision.track.botsort import BotSortTracker
from sightings.vision.track.bytetrack import ByteTrackTracker
from sightings.vision.track.ocsort import OcSortTracker
from sightings.vision.track.postprocess import interpolate_gaps, smooth_tracks

REF = MediaRef("walkers", MediaKind.VIDEO, fps=25.0)
IMG = np.zeros((8, 8, 3), np.uint8)


def _walkers(t_s: float) -> list[Detection]:
    """Two people 30 px wide walking 60 px/s in opposite directions, 200 px apart vertically."""
    a = 20 + 60 * t_s
    b = 600 - 60 * t_s
    return [
        Detection(0, Box(a, 50, a + 30, 130), "person", 0.9),
        Detection(0, Box(b, 250, b + 30, 330), "person", 0.9),
    ]


def _run(tracker: object, seconds: float, step_s: float) -> list[list[int]]:
    ids = []
    for k in range(int(seconds / step_s) + 1):
        t = k * step_s
        frame = Frame(REF, round(t * 25), t, IMG)
        out = tracker.update(frame, _walkers(t))  # type: ignore[attr-defined]
        ids.append([td.track_id for td in sorted(out, key=lambda td: td.detection.box.y1)])
    return ids


def test_buffer_ratio_grows_with_the_gap_and_is_capped() -> None:
    metric = TimeBufferedIoU(0.3, 2.0, 3.0)
    assert metric.ratio == pytest.approx(0.3)
    metric.gap_s = 1.0
    assert metric.ratio == pytest.approx(2.3)
    metric.gap_s = 10.0
    assert metric.ratio == pytest.approx(3.0)
    a = np.array([[0.0, 0.0, 30.0, 80.0]])
    b = np.array([[60.0, 0.0, 90.0, 80.0]])  # one second of walking later: no overlap at all
    metric.gap_s = 0.0
    assert metric.compute(a, b)[0, 0] == 0.0
    metric.gap_s = 1.0
    assert metric.compute(a, b)[0, 0] > 0.1


@pytest.mark.parametrize("cls", [ByteTrackTracker, BotSortTracker, OcSortTracker])
def test_tracks_survive_one_frame_per_second_only_with_the_time_buffer(cls: type) -> None:
    buffered = _run(cls(), seconds=6.0, step_s=1.0)
    assert all(row == buffered[0] for row in buffered), buffered
    plain = _run(cls(association="iou"), seconds=6.0, step_s=1.0)
    assert len({i for row in plain for i in row}) > 2, "plain IoU cannot bridge 60 px gaps (the reason for the buffer)"


def test_full_rate_ids_are_unchanged_by_the_buffer() -> None:
    assert all(row == [1, 2] for row in _run(ByteTrackTracker(), seconds=2.0, step_s=0.04))


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"association": "giou"}, r"unknown association 'giou'; known: time-biou, iou"),
        ({"buffer_ratio": -1.0}, r"tracker.buffer_ratio: must be a number >= 0"),
        ({"buffer_ratio_per_s": float("nan")}, r"tracker.buffer_ratio_per_s"),
    ],
)
def test_bad_association_options_are_config_errors(options: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        ByteTrackTracker(**options)  # type: ignore[arg-type]


def _row(frame: int, t: float, tid: int, x: float, score: float = 0.9) -> TrackRow:
    return TrackRow(frame, t, tid, "person", score, x, 0.0, x + 10, 20.0)


def test_interpolation_fills_short_gaps_only_within_a_track() -> None:
    frames = [(i, i / 10) for i in range(0, 40)]
    rows = [_row(0, 0.0, 1, 0.0), _row(4, 0.4, 1, 40.0, 0.6), _row(30, 3.0, 1, 300.0), _row(2, 0.2, 2, 500.0)]
    out = interpolate_gaps(rows, frames, max_gap_s=1.0)
    filled = [r for r in out if r.interpolated]
    assert [(r.frame, r.track_id) for r in filled] == [(1, 1), (2, 1), (3, 1)]  # 0.4 s gap filled, 2.6 s gap not
    assert [r.x1 for r in filled] == pytest.approx([10.0, 20.0, 30.0])
    assert all(r.score == 0.6 for r in filled)
    assert [(r.frame, r.track_id) for r in out] == sorted((r.frame, r.track_id) for r in out)
    assert interpolate_gaps(rows, frames, max_gap_s=0.0) == sorted(rows, key=lambda r: (r.frame, r.track_id))


def test_interpolation_fills_only_analysed_frames() -> None:
    frames = [(i, i / 25) for i in range(0, 100, 25)]  # 1 fps sampling of a 25 fps video
    rows = [_row(0, 0.0, 1, 0.0), _row(50, 2.0, 1, 100.0)]
    out = interpolate_gaps(rows, frames, max_gap_s=2.0)
    assert [r.frame for r in out] == [0, 25, 50]
    assert out[1].x1 == pytest.approx(50.0)


def test_interpolation_rejects_a_bad_gap() -> None:
    with pytest.raises(ConfigError, match="interpolate_gap_s"):
        interpolate_gaps([], [], max_gap_s=-1.0)


def test_pipeline_interpolates_a_missed_detection(tmp_path: Path) -> None:
    video = make_video(tmp_path / "v.mp4", seconds=1.0, gop=10)
    script = {i: [(10 + i, 10, 40 + i, 60, "person", 0.9)] for i in range(25) if i not in (10, 11, 12)}
    plain = track_video(video, detector=FakeDetector(script), tracker="bytetrack")
    filled = track_video(video, detector=FakeDetector(script), tracker="bytetrack", interpolate_gap_s=0.5)
    assert len(plain.rows) == 22 and len(filled.rows) == 25
    assert len(filled.tracks) == 1 and len(filled.tracks[0]) == 25
    gap = [r for r in filled.rows if r.interpolated]
    assert [r.frame for r in gap] == [10, 11, 12]
    assert gap[0].x1 == pytest.approx(20.0)
    cols = filled.to_columns()
    assert sum(cols["interpolated"]) == 3
    assert dataclasses.asdict(gap[0])["label"] == "person"


def test_smoothing_averages_each_track_over_its_time_window() -> None:
    # track 1 jitters ±2 px around a steady walk; track 2 is far away and must not leak into track 1
    xs = [0.0, 12.0, 18.0, 32.0, 38.0, 50.0]
    rows = [_row(i, i / 10, 1, x) for i, x in enumerate(xs)] + [_row(i, i / 10, 2, 500.0 + i) for i in range(6)]
    out = smooth_tracks(rows, half_window_s=0.1)
    one = [r for r in out if r.track_id == 1]
    assert [r.x1 for r in one] == pytest.approx([6.0, 10.0, 62 / 3, 88 / 3, 40.0, 44.0])  # edges: 2-frame means
    assert all(r.x2 - r.x1 == pytest.approx(10.0) for r in one)  # box sizes kept (all were 10 wide)
    assert [r.x1 for r in out if r.track_id == 2] == pytest.approx([500.5, 501.0, 502.0, 503.0, 504.0, 504.5])
    assert [(r.frame, r.track_id, r.score) for r in out] == sorted((r.frame, r.track_id, r.score) for r in rows)


def test_smoothing_leaves_sparse_samples_and_zero_window_alone() -> None:
    rows = [_row(0, 0.0, 1, 0.0), _row(25, 1.0, 1, 60.0), _row(50, 2.0, 1, 90.0)]  # 1 fps: no neighbour within 0.2 s
    assert smooth_tracks(rows, half_window_s=0.2) == rows
    assert smooth_tracks(rows, half_window_s=0.0) == rows
    with pytest.raises(ConfigError, match="smooth_s"):
        smooth_tracks(rows, half_window_s=float("nan"))


def test_pipeline_smooths_jittery_boxes(tmp_path: Path) -> None:
    video = make_video(tmp_path / "v.mp4", seconds=1.0, gop=10)
    jitter = [3.0 if i % 2 else -3.0 for i in range(25)]
    script = {i: [(10 + i + jitter[i], 10, 40 + i + jitter[i], 60, "person", 0.9)] for i in range(25)}
    raw = track_video(video, detector=FakeDetector(script), tracker="bytetrack")
    smooth = track_video(video, detector=FakeDetector(script), tracker="bytetrack", smooth_s=0.08)  # ±2 frames
    steps_raw = np.diff([r.x1 for r in raw.rows])
    steps = np.diff([r.x1 for r in smooth.rows])
    assert len(smooth.rows) == 25 and len(smooth.tracks) == 1
    assert np.abs(steps_raw).max() == pytest.approx(7.0)
    assert np.abs(steps[2:-2]).max() < 2.5  # the walk (1 px a frame) shows through, the jitter mostly gone
    with pytest.raises(ConfigError, match="smooth_s"):
        track_video(video, detector=FakeDetector(script), tracker="bytetrack", smooth_s=-1.0)
