"""The retail analysis time grid (``resample_s``): tracks sampled every step, analysed on sub-steps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sightings.solutions.retail.config import config_from_mapping
from sightings.solutions.retail.inputs import VideoFile
from sightings.solutions.retail.pipeline import analyse_points, warehouse_rows
from sightings.solutions.retail.purchases import Receipt
from sightings.solutions.retail.trajectories import TrackPoint, resample_points

START = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
VIDEO = VideoFile(Path("s1_cam1_20260301-100000Z.mp4"), "s1", "cam1", START)
CHECKOUT = {
    "cam1": {"zones": [{"name": "till", "kind": "checkout", "points": [[100, 0], [140, 0], [140, 480], [100, 480]]}]}
}


def _point(t: float, x: float, y: float = 100.0) -> TrackPoint:
    """A box whose foot point is (x, y)."""
    return TrackPoint(float(t), x - 10, y - 50, x + 10, y, frame=int(t * 10))


def test_grid_at_or_above_the_step_changes_nothing() -> None:
    pts = [(1, _point(0, 0)), (1, _point(1, 10))]
    assert resample_points(pts, step_s=1.0, grid_s=0) == (pts, 1.0)
    assert resample_points(pts, step_s=1.0, grid_s=1.0) == (pts, 1.0)
    assert resample_points(pts, step_s=0.1, grid_s=0.25) == (pts, 0.1)  # round(0.4) = 0 sub-steps: as it is


def test_boxes_move_in_a_straight_line_to_the_next_analysed_frame() -> None:
    pts = [(7, _point(0, 0)), (7, _point(1, 40)), (7, _point(2, 40))]
    dense, sub = resample_points(pts, step_s=1.0, grid_s=0.25)
    assert sub == 0.25
    assert [p.t_s for _, p in dense] == [k * 0.25 for k in range(12)]
    assert [p.foot[0] for _, p in dense][:5] == [0.0, 10.0, 20.0, 30.0, 40.0]
    assert [p.foot[0] for _, p in dense][8:] == [40.0] * 4  # the last frame holds its box for its step
    assert {tid for tid, _ in dense} == {7}
    # time seen is unchanged: 3 frames x 1 s = 12 sub-steps x 0.25 s
    assert len(dense) * sub == pytest.approx(len(pts) * 1.0)


def test_no_straight_line_over_a_missed_frame_or_a_recording_gap() -> None:
    missed = [(1, _point(0, 0)), (1, _point(3, 90))]  # seen again 3 steps later: not the next analysed frame
    dense, _ = resample_points(missed, step_s=1.0, grid_s=0.5)
    assert [(p.t_s, p.foot[0]) for _, p in dense] == [(0.0, 0.0), (0.5, 0.0), (3.0, 90.0), (3.5, 90.0)]
    next_frame = [(1, _point(0, 0)), (1, _point(1, 90))]
    dense, _ = resample_points(next_frame, step_s=1.0, grid_s=0.5, gaps=[(0.0, 1.0)])  # the camera was off between
    assert [p.foot[0] for _, p in dense] == [0.0, 0.0, 90.0, 90.0]


def test_tracks_share_the_grid_so_pairs_line_up() -> None:
    pts = [(1, _point(t, 0)) for t in (0.0, 2.0)] + [(2, _point(t, 50)) for t in (2.0, 4.0)]
    dense, sub = resample_points(pts, step_s=2.0, grid_s=0.5)
    times = {tid: {p.t_s for t_id, p in dense if t_id == tid} for tid in (1, 2)}
    assert sub == 0.5 and times[1] & times[2] == {2.0, 2.5, 3.0, 3.5}


def test_a_customer_crossing_the_checkout_between_frames_is_joined_to_the_receipt() -> None:
    # every 2 s: the customer walks 80 -> 160 px across the 100-140 px checkout between two analysed frames
    pts = [(1, _point(t, 80 + 40 * t)) for t in (0.0, 2.0, 4.0)]  # x = 80, 160, 240
    receipts = [Receipt(START + timedelta(seconds=1.0), 25.0, "till-1", "r1")]
    window = {"window_before_s": 0.5, "window_after_s": 0.5}
    cfg = {"cameras": CHECKOUT, "roles": {"min_customer_s": 1}, "purchases": window}

    def joined(resample_s: float) -> list[int | None]:
        config = config_from_mapping({**cfg, "resample_s": resample_s}, where="test")
        a = analyse_points(pts, video=VIDEO, duration_s=6.0, step_s=2.0, config=config, receipts=receipts)
        return [j.customer_track for j in a.joined]

    assert joined(0) == [None]  # neither analysed frame has the customer at the checkout
    assert joined(0.25) == [1]  # on the grid the customer is at the checkout at 0.5-1.5 s


def test_the_warehouse_keeps_the_tracked_points_not_the_grid() -> None:
    pts = [(1, _point(t, 80 + 40 * t)) for t in (0.0, 2.0, 4.0)]
    config = config_from_mapping({"cameras": CHECKOUT, "roles": {"min_customer_s": 1}}, where="test")
    assert config.resample_s == 0.25  # the default
    a = analyse_points(pts, video=VIDEO, duration_s=6.0, step_s=2.0, config=config)
    assert a.step_s == 2.0 and len(a.trajectories[1].points) == 3
    rows = warehouse_rows(a, config_hash="h", analysis_fps=0.5)
    assert len(rows["tracks"]) == 3


@pytest.mark.parametrize("resample_s", [0, 0.25])
def test_episodes_around_a_recording_gap_are_the_same_on_the_grid(resample_s: float) -> None:
    # seller and customer side by side at 0-4 s, the camera off, again at 70-74 s: two 5-s episodes either way
    times = [0.0, 1.0, 2.0, 3.0, 4.0, 70.0, 71.0, 72.0, 73.0, 74.0]
    pts = [(1, _point(t, 300, 50)) for t in times] + [(2, _point(t, 350, 60)) for t in times]
    config = config_from_mapping(
        {
            "resample_s": resample_s,
            "roles": {"min_seller_s": 5, "min_customer_s": 2},
            "interactions": {"distance_px": 150, "min_duration_s": 3, "gap_tolerance_s": 120},
        },
        where="test",
    )
    a = analyse_points(pts, video=VIDEO, duration_s=75.0, step_s=1.0, config=config, gaps=[(4.0, 70.0)])
    assert [(s.episode.start_s, s.episode.end_s) for s in a.episodes] == [(0.0, 5.0), (70.0, 75.0)]
