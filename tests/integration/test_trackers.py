"""Trackers on scripted detections and a generated video: stable ids across strides, clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from factories import make_video
from sightings.core.errors import ConfigError, InputError, MediaError
from sightings.core.protocols import Tracker
from sightings.core.registry import TRACKERS, RegistryEntry
from sightings.core.types import Box, Detection, Frame, MediaKind, MediaRef
from sightings.testing.fakes import FakeDetector

pytest.importorskip("trackers")

from sightings.vision.pipeline import track_video
from sightings.vision.track.botsort import BotSortTracker, hsv_embedding
from sightings.vision.track.bytetrack import ByteTrackTracker
from sightings.vision.track.ocsort import OcSortTracker

TRACKER_CLASSES = {"bytetrack": ByteTrackTracker, "botsort": BotSortTracker, "ocsort": OcSortTracker}


@pytest.fixture(autouse=True)
def _registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register our trackers in case core/registry.py does not (yet)."""
    for name, cls in TRACKER_CLASSES.items():
        if name not in TRACKERS:
            entry = RegistryEntry(name, f"{cls.__module__}:{cls.__name__}", "", "vision")
            monkeypatch.setitem(TRACKERS._entries, name, entry)


def _square(i: int, width: int = 320, height: int = 240) -> tuple[float, float, float, float, str, float]:
    """The white square tests.factories.make_frame draws in frame i."""
    s = max(8, min(width, height) // 6)
    x0, y0 = (i * 5) % max(1, width - s), (i * 3) % max(1, height - s)
    return (x0, y0, x0 + s, y0 + s, "person", 0.9)


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("v") / "square.mp4", seconds=2.0, gop=10)


@pytest.mark.parametrize("name", sorted(TRACKER_CLASSES))
@pytest.mark.parametrize("stride", [1, 5])
def test_one_stable_id_for_the_moving_square(video: Path, name: str, stride: int) -> None:
    detector = FakeDetector({i: [_square(i)] for i in range(50)})
    result = track_video(video, detector=detector, tracker=name, stride=stride)
    assert result.frames == len(range(0, 50, stride))
    assert len(result.tracks) == 1, [len(t) for t in result.tracks]
    assert len(result.tracks[0]) == result.frames
    mot = result.to_mot()
    assert mot.frame.min() == 1 and set(mot.id.tolist()) == {result.tracks[0].id}


@pytest.mark.parametrize("cls", [ByteTrackTracker, BotSortTracker, OcSortTracker])
def test_track_survives_a_gap_shorter_than_the_buffer_in_seconds(cls: type) -> None:
    ref = MediaRef("synthetic", MediaKind.VIDEO, fps=25.0)
    trk: Tracker = cls(lost_track_buffer_s=2.0)
    ids = []
    # 1 analysis fps (every 25th frame); the object is missed at t = 2 s and found again at 3 s
    for k, t in enumerate([0, 1, 3, 4]):
        frame = Frame(ref, t * 25, float(t), np.zeros((240, 320, 3), np.uint8))
        box = Box(10 + 4 * t, 50, 50 + 4 * t, 130)
        out = trk.update(frame, [Detection(frame.index, box, "person", 0.9)])
        assert len(out) == 1, k
        ids.append(out[0].track_id)
    assert len(set(ids)) == 1


@pytest.mark.parametrize("cls", [ByteTrackTracker, BotSortTracker, OcSortTracker])
def test_one_missed_sparse_frame_keeps_the_track(cls: type) -> None:
    """One frame every 2.5 s (stride 25 of a 10 fps video), the person missed once (5 s without an update). The
    buffer covers at least two analysed steps, so one track throughout. With ``min_buffer_steps=0`` the 2-s buffer is
    shorter than one step: ``trackers`` prunes the track before each new frame, and every frame starts a new id."""
    ref = MediaRef("synthetic", MediaKind.VIDEO, fps=10.0)

    def ids(trk: Tracker) -> set[int]:
        seen = set()
        for t in (0.0, 2.5, 5.0, 10.0, 12.5):  # missed at 7.5 s
            frame = Frame(ref, round(t * 10), t, np.zeros((240, 320, 3), np.uint8))
            box = Box(100 + 2 * t, 50, 140 + 2 * t, 130)
            out = trk.update(frame, [Detection(frame.index, box, "person", 0.9)])
            seen.update(o.track_id for o in out)
        return seen

    assert len(ids(cls())) == 1
    assert len(ids(cls(min_buffer_steps=0))) == 5  # one per frame: 5 frames with the person
    with pytest.raises(ConfigError, match="min_buffer_steps"):
        cls(min_buffer_steps=-1)


def test_labels_are_tracked_apart() -> None:
    ref = MediaRef("synthetic", MediaKind.VIDEO, fps=25.0)
    trk = ByteTrackTracker()
    for i in range(3):
        frame = Frame(ref, i, i / 25, np.zeros((64, 64, 3), np.uint8))
        dets = [Detection(i, Box(5, 5, 30, 30), "person", 0.9), Detection(i, Box(5, 5, 30, 30), "cat", 0.9)]
        out = trk.update(frame, dets)
        assert sorted(t.detection.label for t in out) == ["cat", "person"]
        assert len({t.track_id for t in out}) == 2


def test_appearance_gate_keeps_crossing_colours_apart() -> None:
    img = np.zeros((100, 200, 3), np.uint8)
    img[:, :100] = (200, 30, 30)
    img[:, 100:] = (30, 30, 200)
    red, blue = hsv_embedding(img, (10, 10, 60, 90)), hsv_embedding(img, (120, 10, 170, 90))
    assert float(red @ red) == pytest.approx(1.0, abs=1e-5)
    assert float(red @ blue) < 0.3


def test_a_foreground_mask_keeps_the_background_out_of_the_histogram() -> None:
    """A red person on green grass: over the foreground pixels the box's histogram is the person's alone; with too
    few foreground pixels (under MIN_FOREGROUND_SHARE) every pixel counts again."""
    from sightings.vision.track.botsort import MIN_FOREGROUND_SHARE

    grass = np.zeros((100, 100, 3), np.uint8)
    grass[:] = (40, 160, 40)
    scene = grass.copy()
    scene[10:90, 40:60] = (200, 30, 30)  # the person: 20 px of the box's 60-px-wide middle

    def differs(x1: int, y1: int, x2: int, y2: int) -> np.ndarray:
        return (np.abs(scene[y1:y2, x1:x2].astype(int) - grass[y1:y2, x1:x2]) > 30).any(axis=2)

    box = (20, 0, 80, 100)
    person = hsv_embedding(scene[10:90, 40:60].copy(), (0, 0, 20, 80))
    whole, masked = hsv_embedding(scene, box), hsv_embedding(scene, box, foreground=differs)
    assert float(masked @ person) == pytest.approx(1.0, abs=1e-5)
    assert float(whole @ person) < 0.9  # the grass dilutes it
    tiny = scene.copy()
    tiny[10:90, 40:60] = grass[10:90, 40:60]
    tiny[50, 50] = (200, 30, 30)  # one pixel: far under the share, so all pixels count

    def differs_tiny(x1: int, y1: int, x2: int, y2: int) -> np.ndarray:
        return (np.abs(tiny[y1:y2, x1:x2].astype(int) - grass[y1:y2, x1:x2]) > 30).any(axis=2)

    assert MIN_FOREGROUND_SHARE == 0.2
    assert np.allclose(hsv_embedding(tiny, box, foreground=differs_tiny), hsv_embedding(tiny, box))


def test_the_gate_reads_foreground_colours_only_at_sparse_steps() -> None:
    """BoT-SORT's gate histograms: over the pixels that differ from the learnt background once analysed frames are
    2 s or more apart (appearance_foreground_step_s), over the whole box when they are denser or the option is 0."""
    ref = MediaRef("cam", MediaKind.VIDEO, fps=10.0)

    def scene(x: int) -> np.ndarray:
        image = np.zeros((120, 200, 3), np.uint8)
        image[:, :, 1] = 150  # green floor
        image[20:100, x : x + 20] = (220, 30, 30)
        return image

    box = np.array([[140.0, 20.0, 200.0, 100.0]])  # the person at 160..180 with floor either side

    def last_embedding(tracker: BotSortTracker, step_s: float) -> np.ndarray:
        tracker.reset()
        out = {}
        for k in range(5):
            out = tracker.colour_embeddings(Frame(ref, k, k * step_s, scene(10 + 30 * k if k < 4 else 160)), box)
        return next(iter(out.values()))

    image = scene(160)
    whole = hsv_embedding(image, box[0], achromatic=True)
    red = hsv_embedding(image[20:100, 160:180].copy(), (0, 0, 20, 80), achromatic=True)
    sparse = last_embedding(BotSortTracker(), 2.5)
    assert float(sparse @ red) == pytest.approx(1.0, abs=1e-5) and float(whole @ red) < 0.9
    assert np.array_equal(last_embedding(BotSortTracker(), 1.0), whole)  # 1 fps: whole boxes, as the gate was tuned
    assert np.array_equal(last_embedding(BotSortTracker(appearance_foreground_step_s=0.0), 2.5), whole)
    with pytest.raises(ConfigError, match="appearance_foreground_step_s"):
        BotSortTracker(appearance_foreground_step_s=-1)


def test_achromatic_bin_keeps_a_white_shirt_stable_across_colour_casts() -> None:
    """A white shirt with a faint blue cast in one frame and a faint yellow one in the next (compression, white
    balance): its hue jumps from blue to yellow although it is white. One hue bin for the least-saturated pixels
    keeps the embedding, so the BoT-SORT gate (cosine ≥ 0.85) does not split the track; hue-binned it falls apart."""
    bluish = np.zeros((100, 60, 3), np.uint8)
    bluish[:] = (232, 234, 242)
    yellowish = np.zeros((100, 60, 3), np.uint8)
    yellowish[:] = (242, 240, 230)
    box = (0, 0, 60, 100)
    assert float(hsv_embedding(bluish, box) @ hsv_embedding(yellowish, box)) < 0.5
    same = float(hsv_embedding(bluish, box, achromatic=True) @ hsv_embedding(yellowish, box, achromatic=True))
    assert same == pytest.approx(1.0, abs=1e-5)
    # saturated colours are embedded as before
    red = np.zeros((100, 60, 3), np.uint8)
    red[:] = (200, 30, 30)
    assert np.array_equal(hsv_embedding(red, box), hsv_embedding(red, box, achromatic=True))
    tracker = BotSortTracker()
    assert tracker.appearance_achromatic
    assert tracker.appearance_threshold == 0.85


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"lost_track_buffer_s": -1}, "lost_track_buffer_s"),
        ({"minimum_iou_threshold": 1.5}, "minimum_iou_threshold"),
        ({"frame_rate": 0}, "frame_rate"),
        ({"minimum_consecutive_frames": 0}, "minimum_consecutive_frames"),
    ],
)
def test_bad_options_are_config_errors(options: dict[str, float], field: str) -> None:
    for cls in (ByteTrackTracker, OcSortTracker):
        with pytest.raises(ConfigError, match=field):
            cls(**options)


@pytest.mark.parametrize(
    ("options", "field"),
    [({"direction_consistency_weight": -0.1}, "direction_consistency_weight"), ({"delta_t": 0}, "delta_t")],
)
def test_bad_ocsort_options_are_config_errors(options: dict[str, float], field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        OcSortTracker(**options)


def test_unknown_names_and_bad_video(video: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown tracker 'nope'"):
        track_video(video, detector=FakeDetector(), tracker="nope")
    with pytest.raises(ConfigError, match="unknown detector 'nope'"):
        track_video(video, detector="nope", tracker="bytetrack")
    bad = tmp_path / "corrupt.mp4"
    bad.write_bytes(b"not a video at all" * 100)
    with pytest.raises(MediaError):
        track_video(bad, detector=FakeDetector(), tracker="bytetrack")
    with pytest.raises(InputError):
        track_video(video, detector=FakeDetector(), tracker="bytetrack", stride=0)
