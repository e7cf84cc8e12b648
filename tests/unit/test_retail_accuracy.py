"""Retail accuracy against corrected tracks (sightings.solutions.retail.accuracy): deviation, the comparison."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from sightings.core.errors import InputError
from sightings.evaluate.mot_io import MotData
from sightings.solutions.retail.accuracy import (
    METRICS,
    compare_tracks,
    deviation,
    mean_abs_deviation,
    name_by_truth,
    points_from_mot,
)
from sightings.solutions.retail.config import config_from_mapping
from sightings.solutions.retail.inputs import VideoFile
from sightings.solutions.retail.purchases import Receipt
from sightings.solutions.retail.trajectories import TrackPoint

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
VIDEO = VideoFile(Path("s1_cam1_20260301-090000Z.mp4"), "s1", "cam1", START)
CONFIG = config_from_mapping(
    {
        "cameras": {
            "cam1": {"zones": [{"name": "desk", "kind": "counter", "points": [[0, 0], [320, 0], [320, 70], [0, 70]]}]}
        },
        "roles": {"min_seller_s": 10, "min_customer_s": 3},
        "interactions": {"distance_px": 150, "min_duration_s": 5, "gap_tolerance_s": 2},
        "purchases": {"window_before_s": 10, "window_after_s": 10},
    },
    where="test",
)


def _scene(*, split_customer: bool) -> list[tuple[int, TrackPoint]]:
    """A seller at the counter for 20 s; a customer beside them for 2–16 s (one track, or two when split at 9 s)."""
    points = []
    for i in range(20):
        t = float(i)
        points.append((1, TrackPoint(t, 140, 10, 160, 60, i)))
        if 2 <= i < 16:
            customer = 3 if split_customer and i >= 9 else 2
            points.append((customer, TrackPoint(t, 150, 70, 170, 120, i)))
    return points


def test_deviation_and_its_mean() -> None:
    assert deviation(12, 10) == pytest.approx(20.0) and deviation(0, 0) == 0.0
    assert deviation(1, 0) is None and deviation(None, 3) is None
    assert mean_abs_deviation({"customers": 12, "interactions": 8}, {"customers": 10, "interactions": 10}) == 20.0
    assert mean_abs_deviation({}, {}) is None


def test_the_same_tracks_deviate_nowhere_and_a_split_customer_is_counted_twice() -> None:
    receipts = [Receipt(START + timedelta(seconds=14), 300.0, "till", "r1")]
    truth = _scene(split_customer=False)
    same = compare_tracks(truth, truth, video=VIDEO, duration_s=20, config=CONFIG, receipts=receipts)
    assert same.reference["customers"] == 1 and same.reference["interactions"] == 1
    assert same.mean_abs_deviation == 0.0 and set(same.deviation_pct) == set(METRICS)
    assert same.sellers == (("cam1/20260301T090000Z/track-1",),) * 2 and same.methods == ("zones", "zones")

    split = compare_tracks(
        _scene(split_customer=True), truth, video=VIDEO, duration_s=20, config=CONFIG, receipts=receipts
    )
    assert split.measured["customers"] == 2 and split.deviation_pct["customers"] == pytest.approx(100.0)
    assert split.mean_abs_deviation is not None and split.mean_abs_deviation > 0
    out = split.as_dict()
    assert out["metrics"]["customers"] == {"ground_truth": 1.0, "pipeline": 2.0, "deviation_pct": 100.0}


def test_boxes_from_a_mot_file_get_their_frames_times() -> None:
    data = MotData.from_rows([(1, 7, 10, 20, 30, 40, 1.0), (11, 7, 12, 20, 30, 40, 1.0)], source="gt")
    (a, pa), (b, pb) = points_from_mot(data, fps=5.0)
    assert (a, b) == (7, 7) and (pa.t_s, pb.t_s) == (0.0, 2.0) and (pb.x2, pb.y2) == (42.0, 60.0)
    with pytest.raises(InputError, match="frame rate"):
        points_from_mot(data, fps=0)
    with pytest.raises(InputError, match="no boxes"):
        compare_tracks(_scene(split_customer=False), [], video=VIDEO, duration_s=20, config=CONFIG)
    assert np.isfinite(pa.score)


def test_the_schedule_names_the_sellers_on_both_sides_as_in_the_run() -> None:
    from sightings.solutions.retail.schedule import Shift

    shifts = [Shift("anna", "Anna", START - timedelta(hours=1), START + timedelta(hours=8))]
    truth = _scene(split_customer=False)
    report = compare_tracks(truth, truth, video=VIDEO, duration_s=20, config=CONFIG, shifts=shifts)
    assert report.sellers == (("anna",), ("anna",)) and report.methods == ("schedule", "schedule")


def test_true_identities_put_a_split_customer_back_together() -> None:
    """A customer split in two tracks is tracking's error: with the ground truth's identities on the same boxes the
    deviation is 0, while the full comparison counts two customers."""
    truth = _scene(split_customer=False)
    split = compare_tracks(_scene(split_customer=True), truth, video=VIDEO, duration_s=20, config=CONFIG)
    assert split.measured["customers"] == 2
    assert split.true_identities is not None and split.true_identities["customers"] == 1
    assert split.true_identities_deviation == 0.0
    assert split.mean_abs_deviation is not None and split.mean_abs_deviation > 0
    out = split.as_dict()["with_true_identities"]
    assert out["mean_abs_deviation_pct"] == 0.0 and out["metrics"]["customers"] == 1


def test_a_missed_customer_stays_missed_with_true_identities() -> None:
    """Boxes missing for the customer stay missing with true identities: the same deviation, none of it identity."""
    truth = _scene(split_customer=False)
    missed = [(tid, p) for tid, p in truth if not (tid == 2 and p.frame >= 6)]  # the customer seen for 4 s only
    report = compare_tracks(missed, truth, video=VIDEO, duration_s=20, config=CONFIG)
    assert report.mean_abs_deviation is not None and report.mean_abs_deviation > 0
    assert report.true_identities_deviation == pytest.approx(report.mean_abs_deviation)


def test_name_by_truth_pairs_boxes_by_overlap_one_per_person() -> None:
    truth = [(7, TrackPoint(0.0, 0, 0, 10, 20, 0)), (8, TrackPoint(0.0, 50, 0, 60, 20, 0))]
    pipeline = [
        (1, TrackPoint(0.0, 51, 0, 61, 20, 0)),  # person 8, under another id
        (2, TrackPoint(0.0, 1, 0, 11, 20, 0)),  # person 7
        (3, TrackPoint(0.0, 0, 4, 10, 24, 0)),  # person 7 again, overlapping less than the id-2 box: dropped
        (4, TrackPoint(0.0, 200, 0, 210, 20, 0)),  # nobody there: dropped
        (5, TrackPoint(0.2, 0, 0, 10, 20, 2)),  # a frame the ground truth does not have: dropped
    ]
    named = name_by_truth(pipeline, truth)
    assert sorted((person, p.x1) for person, p in named) == [(7, 1.0), (8, 51.0)]
    assert name_by_truth(pipeline, truth, min_iou=0.95) == []
    with pytest.raises(InputError, match="no boxes"):
        compare_tracks(pipeline, [], video=VIDEO, duration_s=20, config=CONFIG)
    far = compare_tracks(
        [(1, TrackPoint(0.0, 300, 300, 310, 320, 0))], truth, video=VIDEO, duration_s=20, config=CONFIG
    )
    assert far.true_identities is None and far.true_identities_deviation is None
    assert far.as_dict()["with_true_identities"] is None
