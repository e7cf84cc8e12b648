"""The tracks of two fixed scenes, per TRACKING_VERSION: a code change that alters tracks must bump the version.

``sightings.vision.track.TRACKING_VERSION`` is part of the track and retail jobs' config and of ``retail run``'s
resume key. A change in the trackers, the linker, gap filling or smoothing that gives other tracks for the same
settings must bump it, or finished videos keep the old code's tracks beside new ones (the retail benchmark read an
old linker's tracks for hours on 2026-11-30 that way). This test fails on such a change until the version is bumped
and the new digests are recorded below (docs/development.md, "Tracking version").

Scenes (no video: frames are made in memory, so nothing depends on a codec):
- ``walk``: 10 fps, 30 s, two people in their own colours; one is missed for 1.5 s (a first-stage link), then stands
  hidden for 8 s (a second-stage "stopped" link), the other crosses their path;
- ``churn``: one frame every 2.5 s, people born and lost at random (the sparse-stride case).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from factories import churn_scene

pytest.importorskip("trackers")

from sightings.core.types import Box, Detection, Frame, MediaKind, MediaRef
from sightings.vision.pipeline import OfflineTracking
from sightings.vision.track import TRACKING_VERSION
from sightings.vision.track.linking import AppearanceCollector, LinkOptions

GOLDEN: dict[int, dict[str, str]] = {
    1: {"walk": "64fafad45bbc6220", "churn": "a973b884ad13b4d6"},
    2: {"walk": "64fafad45bbc6220", "churn": "a6d036fd4c02d963"},
    3: {"walk": "64fafad45bbc6220", "churn": "3209111e4881b3a6"},
    4: {"walk": "64fafad45bbc6220", "churn": "3209111e4881b3a6"},
}
"""sha256 (16 hex) of each scene's finished rows, per tracking version."""


def _walk() -> list[tuple[Frame, list[Detection]]]:
    ref = MediaRef("walk", MediaKind.VIDEO, fps=10.0)
    scene = []
    for f in range(300):
        t = f / 10
        image = np.full((240, 320, 3), 90, np.uint8)
        dets = []
        ax = 20 + 8 * min(t, 12.0) + 8 * max(0.0, t - 20.0)  # walks, stands from 12 s to 20 s, walks on
        if not (5.0 <= t < 6.5 or 12.0 <= t < 20.0):  # missed, then hidden while standing
            image[60:140, int(ax) : int(ax) + 30] = (200, 40, 40)
            dets.append(Detection(f, Box(ax, 60, ax + 30, 140), "person", 0.8))
        bx = 300 - 9 * t
        if 0 <= bx <= 290:
            image[70:150, int(bx) : int(bx) + 30] = (40, 60, 200)
            dets.append(Detection(f, Box(bx, 70, bx + 30, 150), "person", 0.7))
        scene.append((Frame(ref, f, t, image), dets))
    return scene


def _digest(scene: list[tuple[Frame, list[Detection]]]) -> tuple[str, int, int]:
    """The default chain as track_video runs it after detection: BoT-SORT, colour descriptors, the backward pass,
    link, fill, smooth (:class:`~sightings.vision.pipeline.OfflineTracking`, which track_video uses)."""
    session = OfflineTracking("botsort", link=LinkOptions(), collector=AppearanceCollector(keep_all=True))
    for frame, dets in scene:
        session.update(frame, dets)
    done = session.finish(15.0, smooth_s=0.2)
    key = [(r.frame, r.track_id, *(round(v, 1) for v in (r.x1, r.y1, r.x2, r.y2)), r.interpolated) for r in done]
    return hashlib.sha256(repr(key).encode()).hexdigest()[:16], len(done), len({r.track_id for r in done})


@pytest.mark.parametrize("name", ["walk", "churn"])
def test_tracks_match_the_tracking_version(name: str) -> None:
    digest, n_rows, n_tracks = _digest(_walk() if name == "walk" else churn_scene())
    assert n_rows > 100 and n_tracks >= 2  # the scene really tracked something
    if name == "walk":
        assert n_tracks == 2, "both links made: one track per person"
    expected = GOLDEN.get(TRACKING_VERSION, {}).get(name)
    assert digest == expected, (
        f"the {name!r} scene's tracks changed ({digest}, {n_rows} rows, {n_tracks} tracks) with tracking version "
        f"{TRACKING_VERSION}: bump TRACKING_VERSION in sightings/vision/track/__init__.py and record the digests in "
        "GOLDEN (docs/development.md, 'Tracking version')"
    )
