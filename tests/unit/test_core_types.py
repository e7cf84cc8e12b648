from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from sightings.core.errors import InputError
from sightings.core.types import (
    Box,
    Detection,
    Event,
    Frame,
    Identity,
    Match,
    MediaKind,
    MediaRef,
    Place,
    Sighting,
    Track,
)


def test_media_ref_validates_and_coerces_kind() -> None:
    ref = MediaRef("v.mp4", "video", fps=25.0, frame_count=100, width=320, height=240, duration_s=4.0)  # type: ignore[arg-type]
    assert ref.kind is MediaKind.VIDEO
    with pytest.raises(InputError, match=r"MediaRef.fps: must be > 0"):
        MediaRef("v.mp4", MediaKind.VIDEO, fps=0)
    with pytest.raises(InputError, match=r"MediaRef\.uri"):
        MediaRef("", MediaKind.IMAGE)
    with pytest.raises(ValueError, match="'audio'"):
        MediaRef("x", "audio")  # type: ignore[arg-type]


def test_types_are_frozen_and_slotted() -> None:
    box = Box(0, 0, 1, 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        box.x1 = 3  # type: ignore[misc]
    assert not hasattr(box, "__dict__")


def test_frame_checks_image_shape_and_dtype() -> None:
    ref = MediaRef("v.mp4", MediaKind.VIDEO)
    frame = Frame(ref, 3, 0.12, np.zeros((4, 6, 3), np.uint8))
    assert (frame.width, frame.height) == (6, 4)
    with pytest.raises(InputError, match=r"Frame\.image"):
        Frame(ref, 0, 0.0, np.zeros((4, 6), np.uint8))
    with pytest.raises(InputError, match=r"Frame\.image"):
        Frame(ref, 0, 0.0, np.zeros((4, 6, 3), np.float32))  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"Frame\.t_s"):
        Frame(ref, 0, float("nan"), np.zeros((4, 6, 3), np.uint8))


def test_box_geometry() -> None:
    a = Box(0, 0, 10, 10)
    b = Box.from_xywh(5, 5, 10, 10)
    assert b.xyxy == (5, 5, 15, 15)
    assert a.iou(b) == pytest.approx(25 / 175)
    assert a.iou(Box(20, 20, 30, 30)) == 0.0
    assert Box(0, 0, 0, 0).iou(Box(0, 0, 0, 0)) == 0.0
    assert a.center == (5, 5)
    assert Box(-5, -5, 500, 50).clip(100, 40).xyxy == (0, 0, 100, 40)
    with pytest.raises(InputError, match="x1<=x2"):
        Box(10, 0, 5, 5)
    with pytest.raises(InputError, match="finite"):
        Box(0, 0, float("inf"), 1)


def test_detection_and_track() -> None:
    d0 = Detection(0, Box(0, 0, 1, 1), "person", 0.9)
    d1 = Detection(2, Box(0, 0, 1, 1), "person", 0.8)
    track = Track(7, [d0, d1])  # type: ignore[arg-type]
    assert isinstance(track.detections, tuple)
    assert (track.first_frame, track.last_frame, len(track)) == (0, 2, 2)
    with pytest.raises(InputError, match="increasing frame order"):
        Track(1, (d1, d0))
    with pytest.raises(InputError, match="score"):
        Detection(0, Box(0, 0, 1, 1), "cat", 1.5)
    with pytest.raises(InputError, match="label"):
        Detection(0, Box(0, 0, 1, 1), "", 0.5)


def test_place_sighting_identity() -> None:
    assert Place(zone="till-1").zone == "till-1"
    assert Place(55.75, 37.62).lat == 55.75
    with pytest.raises(InputError, match="lat and lon go together"):
        Place(lat=1.0)
    with pytest.raises(InputError, match=r"Place\.lon"):
        Place(0.0, 200.0)
    with pytest.raises(InputError, match="needs lat/lon or a zone"):
        Place()
    t = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    s = Sighting("s1", None, np.ones(4, np.float32), t, Place(zone="z"), "cam-1", 0.5)
    assert s.embedding is not None
    with pytest.raises(InputError, match="timezone-aware"):
        Sighting("s1", None, None, datetime(2026, 1, 2), None, "cam-1")
    with pytest.raises(InputError, match="finite"):
        Sighting("s1", None, np.array([np.nan], np.float32), t, None, "cam-1")
    assert Identity("i1", "Leo", ["s1"]).sightings == ("s1",)  # type: ignore[arg-type]


def test_match_and_event() -> None:
    m = Match("q", None, 0.4, 0.1)
    assert m.is_unknown
    with pytest.raises(InputError, match="probability"):
        Match("q", "c", 0.4, 1.1)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    e = Event("interaction", t0, t0 + timedelta(seconds=90), ["seller:1", "track:4"])  # type: ignore[arg-type]
    assert e.duration_s == 90 and e.actors == ("seller:1", "track:4")
    with pytest.raises(InputError, match="t_end"):
        Event("x", t0, t0 - timedelta(seconds=1))


def test_as_utc_reads_naive_times_as_utc_and_converts_aware_ones() -> None:
    from datetime import UTC, datetime, timedelta, timezone

    from sightings.core.types import as_utc

    assert as_utc(datetime(2026, 3, 1, 9, 0)) == datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    moscow = datetime(2026, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=3)))
    assert as_utc(moscow) == datetime(2026, 3, 1, 9, 0, tzinfo=UTC) and as_utc(moscow).tzinfo is UTC
