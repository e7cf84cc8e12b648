"""The street-camera watcher's parts without video decoding: camera lists, windows, near-duplicates, the frame
reader's queue (drops, reconnects, back-off), the health server, and a whole watcher on scripted frames."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sightings.core.errors import BackendError, ConfigError, InputError, NotFoundError
from sightings.core.protocols import TrackedDetection
from sightings.core.types import Box, Detection, Frame, MediaKind, MediaRef
from sightings.solutions.pets.watch.cameras import CameraConfig, WatchOptions, load_cameras, parse_cameras
from sightings.solutions.pets.watch.health import CameraHealth, HealthServer, health_document
from sightings.solutions.pets.watch.stream import FrameReader, RateMeter, ReaderState
from sightings.solutions.pets.watch.windows import SentCrops, TrackWindows, WindowBest, crop_quality, sharpness

T0 = datetime(2025, 1, 5, 12, 0, tzinfo=UTC)
MEDIA = MediaRef("test://cam", MediaKind.STREAM)


def textured(size: int = 64, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.kron(rng.integers(0, 256, (size // 8, size // 8, 3)), np.ones((8, 8, 1))).astype(np.uint8)


def frame_with(index: int, t_s: float, patch: np.ndarray | None = None, at: tuple[int, int] = (40, 30)) -> Frame:
    image = np.full((120, 160, 3), 120, np.uint8)
    if patch is not None:
        x, y = at
        image[y : y + patch.shape[0], x : x + patch.shape[1]] = patch
    return Frame(MEDIA, index, t_s, image)


def tracked(track_id: int, box: tuple[float, float, float, float], score: float = 0.8, label: str = "cat") -> Any:
    return TrackedDetection(track_id, Detection(0, Box(*box), label, score))


# ---------------------------------------------------------------------- camera lists
def test_a_camera_list_with_defaults_where_and_lat_lon(tmp_path: Path) -> None:
    path = tmp_path / "cameras.yaml"
    path.write_text(
        "defaults: {fps: 5, district: Арбат}\n"
        "cameras:\n"
        "  - {id: yard-1, url: 'rtsp://u:secret@10.0.0.5/s1', where: '55.75,37.61', stride: 2}\n"
        "  - {id: park-2, url: clip.mp4, lat: 55.7, lon: 37.5, district: Хамовники}\n",
        encoding="utf-8",
    )
    first, second = load_cameras(path)
    assert (first.id, first.lat, first.lon, first.fps, first.stride, first.district) == (
        "yard-1",
        55.75,
        37.61,
        5.0,
        2,
        "Арбат",
    )
    assert first.is_live and "secret" not in first.safe_url
    assert second.district == "Хамовники" and not second.is_live


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cameras: []", "cameras"),
        ("cameras:\n  - {id: a, url: x.mp4}", "camera a: Value error, needs where"),
        ("cameras:\n  - {id: a, url: x.mp4, where: '1,2', lat: 1, lon: 2}", "not both"),
        ("cameras:\n  - {id: a, url: x.mp4, where: '1,2', colour: red}", "camera a: colour"),
        ("cameras:\n  - {id: a, url: x.mp4, where: '91,2'}", "latitude must be in [-90, 90]"),
        ("cameras:\n  - {id: a, url: x.mp4, where: '1,2', stride: 0}", "camera a: stride"),
        ("cameras:\n  - {id: a, url: x.mp4, where: '1,2'}\n  - {id: a, url: y.mp4, where: '1,2'}", "repeated: a"),
        ("- just a list", "must hold a mapping"),
        ("cameras: [\n", "invalid YAML"),
    ],
)
def test_a_bad_camera_list_is_a_config_error_naming_camera_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "cameras.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_cameras(path)
    assert message in str(err.value) and str(path) in str(err.value) and "\n" not in str(err.value)


def test_missing_camera_list_and_bad_options() -> None:
    with pytest.raises(ConfigError, match="camera list not found"):
        load_cameras("/no/such/cameras.yaml")
    with pytest.raises(InputError, match=r"watch\.window_s"):
        WatchOptions(window_s=0)
    with pytest.raises(InputError, match=r"watch\.backoff_s"):
        WatchOptions(backoff_s=5, max_backoff_s=1)
    with pytest.raises(InputError, match=r"camera\.id"):
        CameraConfig("bad id!", "x.mp4", 1, 2)
    assert parse_cameras({"cameras": [{"id": "a", "url": "x", "where": "1 2"}]})[0].lat == 1.0


# ---------------------------------------------------------------------- windows and quality
def test_quality_prefers_sharp_confident_large_crops() -> None:
    sharp = textured(64)
    yy, xx = np.mgrid[0:64, 0:64]
    blurred = np.repeat(((xx + yy) * 2)[..., None], 3, axis=2).astype(np.uint8)  # a smooth gradient: no edges
    assert sharpness(sharp) > sharpness(blurred)
    box = Box(0, 0, 64, 64)
    assert crop_quality(sharp, 0.9, box) > crop_quality(blurred, 0.9, box)
    assert crop_quality(sharp, 0.9, box) > crop_quality(sharp, 0.4, box)
    assert crop_quality(sharp, 0.9, Box(0, 0, 96, 96)) > crop_quality(sharp, 0.9, Box(0, 0, 24, 24))


def test_a_track_gives_one_best_crop_per_window() -> None:
    windows = TrackWindows(window_s=3.0, min_detections=2)
    out: list[WindowBest] = []
    for i in range(40):  # 4 s at 10 fps; the patch is sharp only at frame 12
        t = i / 10
        patch = textured(48) if i == 12 else np.full((48, 48, 3), 90, np.uint8)
        score = 0.6 if i == 12 else 0.9
        out += windows.update(frame_with(i, t, patch), T0, [tracked(7, (40, 30, 88, 78), score)], read_at=t)
    assert len(out) == 1  # the window [0, 3) s closed at t = 3 s; the next one is still open
    best = out[0]
    assert best.track_id == 7 and best.t_s == pytest.approx(1.2) and best.detections == 30
    assert best.crop.shape[:2] == (58, 58)  # the box and a 10 % margin
    rest = windows.flush()
    assert len(rest) == 1 and rest[0].window_start_s == pytest.approx(3.0)


def test_flickers_and_lost_tracks() -> None:
    windows = TrackWindows(window_s=1.0, min_detections=3)
    patch = textured(48)
    assert windows.update(frame_with(0, 0.0, patch), T0, [tracked(1, (40, 30, 88, 78)), tracked(2, (0, 0, 8, 8))]) == []
    assert windows.open_tracks == 1  # a box smaller than 16 px with its margin is no crop
    for i in range(1, 3):
        windows.update(frame_with(i, i / 10, patch), T0, [tracked(1, (40, 30, 88, 78))])
    closed = windows.update(frame_with(20, 2.0), T0, [])  # not seen for a window: closed
    assert [c.detections for c in closed] == [3]
    windows.update(frame_with(30, 3.0, patch), T0, [tracked(3, (40, 30, 88, 78), label="person")])
    windows.update(frame_with(31, 3.1, patch), T0, [tracked(4, (40, 30, 88, 78))])
    assert windows.flush() == []  # a person is not a pet; one detection is a flicker


def test_near_duplicates_per_camera_and_track() -> None:
    sent = SentCrops(max_bits=8, window_s=60)
    base = textured(64, seed=3)

    def best(track: int, crop: np.ndarray, t: float) -> WindowBest:
        return WindowBest(track, "cat", 0.9, 0.5, Box(0, 0, 64, 64), crop, T0, t, t, t, 5)

    first = best(1, base, 0.0)
    assert not sent.is_duplicate(first)
    sent.remember(first)
    noisy = np.clip(base.astype(int) + np.random.default_rng(0).integers(-6, 7, base.shape), 0, 255).astype(np.uint8)
    assert sent.is_duplicate(best(2, noisy, 10.0))  # another track, the same picture
    assert not sent.is_duplicate(best(2, noisy, 100.0))  # long after
    assert not sent.is_duplicate(best(1, textured(64, seed=9), 5.0))  # another animal


# ---------------------------------------------------------------------- the reader
class ScriptedSource:
    """Yields ``n`` frames (``delay_s`` apart), then raises ``error`` (or ends)."""

    def __init__(self, n: int, *, delay_s: float = 0.0, error: Exception | None = None, start: int = 0):
        self.n, self.delay_s, self.error, self.start = n, delay_s, error, start
        self.media = MEDIA
        self.closed = False

    def __iter__(self) -> Iterator[Frame]:
        for i in range(self.n):
            if self.delay_s:
                time.sleep(self.delay_s)
            yield frame_with(self.start + i, (self.start + i) / 25)
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> ScriptedSource:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def test_a_busy_analyser_makes_a_live_reader_drop_old_frames_not_wait() -> None:
    camera = CameraConfig("cam", "rtsp://127.0.0.1/x", 1, 2)
    opened: list[int] = []

    def factory(cam: CameraConfig, options: WatchOptions) -> Any:
        opened.append(1)
        return ScriptedSource(50, start=50 * (len(opened) - 1), error=BackendError("dropped", where="x"))

    reader = FrameReader(camera, WatchOptions(queue_size=2, backoff_s=0.01, max_backoff_s=0.02), source_factory=factory)
    reader.start()
    deadline = time.monotonic() + 5
    while reader.frames_in < 120 and time.monotonic() < deadline:
        time.sleep(0.01)
    reader.stop(timeout=2)
    stats = reader.stats()
    assert stats.frames_in >= 120 and stats.dropped >= stats.frames_in - 2 - 10  # nobody read: nearly all dropped
    assert stats.reconnects >= 2 and len(opened) >= 3 and stats.last_error is not None
    assert stats.queued <= 2 and stats.state is ReaderState.STOPPED
    item = reader.get(timeout=0.1)
    assert item is not None and item.frame.index >= 100  # what is left is recent


def test_reconnect_waits_back_off_doubling_to_a_cap() -> None:
    camera = CameraConfig("cam", "http://127.0.0.1:9/x", 1, 2)
    opens: list[float] = []

    def failing(cam: CameraConfig, options: WatchOptions) -> Any:
        opens.append(time.monotonic())
        raise BackendError("cannot open", where=cam.url)

    reader = FrameReader(camera, WatchOptions(backoff_s=0.05, max_backoff_s=0.2), source_factory=failing)
    reader.start()
    time.sleep(0.9)
    reader.stop(timeout=2)
    gaps = np.diff(opens)
    assert len(gaps) >= 3
    assert gaps[0] >= 0.045 and gaps[1] >= 0.095 and gaps[2] >= 0.19  # 0.05, 0.1, 0.2: doubling (lower bounds exact)
    assert max(gaps) < 0.45  # capped at max_backoff_s = 0.2 (plus scheduling slack)
    assert reader.stats().reconnects in (len(opens) - 1, len(opens))


def test_a_file_is_read_without_drops_to_its_end_and_a_bad_file_fails(caplog: pytest.LogCaptureFixture) -> None:
    caplog.expect_errors = True  # type: ignore[attr-defined]  # the bad file is logged at ERROR on purpose
    camera = CameraConfig("cam", "clip.mp4", 1, 2)
    reader = FrameReader(camera, WatchOptions(queue_size=1), source_factory=lambda c, o: ScriptedSource(30))
    reader.start()
    got = []
    while not reader.done:
        item = reader.get(timeout=0.1)
        if item is not None:
            got.append(item.frame.index)
            time.sleep(0.002)
    assert got == list(range(30)) and reader.stats().dropped == 0 and reader.state is ReaderState.ENDED
    assert got and reader.stats().last_frame_at is not None

    def missing(cam: CameraConfig, options: WatchOptions) -> Any:
        raise NotFoundError("no such file", where=cam.url)

    bad = FrameReader(camera, WatchOptions(), source_factory=missing)
    bad.start()
    bad.stop(timeout=2)
    assert bad.state is ReaderState.FAILED and "no such file" in (bad.last_error or "")


def test_rate_meter_counts_recent_events() -> None:
    now = [0.0]
    meter = RateMeter(span_s=2.0, clock=lambda: now[0])
    for _ in range(21):
        meter.tick()
        now[0] += 0.1
    assert meter.rate() == pytest.approx(10.0, rel=0.06)
    now[0] += 10
    assert meter.rate() == 0.0


# ---------------------------------------------------------------------- health and a whole watcher
def _health(camera_id: str, state: str) -> CameraHealth:
    return CameraHealth(camera_id, "rtsp://x", state, 10.0, 9.5, 100, 95, 5, 1, T0, None, 3, 1, 1, 0, 0)


def test_health_server_serves_each_camera() -> None:
    server = HealthServer(lambda: [_health("a", "streaming"), _health("b", "reconnecting")]).start()
    try:
        body = json.loads(urllib.request.urlopen(f"{server.url}/health/cameras", timeout=5).read())
        assert [c["camera_id"] for c in body["cameras"]] == ["a", "b"]
        assert body["cameras"][0]["dropped"] == 5 and body["cameras"][0]["last_frame_at"].startswith("2025-01-05")
        summary = json.loads(urllib.request.urlopen(f"{server.url}/health", timeout=5).read())
        assert summary == {"status": "degraded", "cameras": 2}
    finally:
        server.stop()
    assert health_document([_health("a", "streaming")])["status"] == "ok"


class ListSink:
    def __init__(self) -> None:
        self.items: list[tuple[str, WindowBest]] = []
        self.lock = threading.Lock()

    def send(self, camera: CameraConfig, best: WindowBest) -> int:
        with self.lock:
            self.items.append((camera.id, best))
        return 1


class PatchDetector:
    """A cat wherever the frame is not flat grey (the scripted patch)."""

    labels = ("cat",)

    def detect(self, frames: Any) -> list[list[Detection]]:
        out = []
        for f in frames:
            ys, xs = np.nonzero(np.abs(f.image.astype(int) - 120).sum(axis=2) > 0)
            box = Box(float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)) if len(xs) else None
            out.append([] if box is None else [Detection(f.index, box, "cat", 0.9)])
        return out


def test_one_watcher_two_cameras_sends_best_crops_and_skips_duplicates() -> None:
    from sightings.solutions.pets.watch.watcher import Watcher
    from sightings.testing.fakes import FakeTracker

    class PatchSource(ScriptedSource):
        def __iter__(self) -> Iterator[Frame]:
            for i in range(self.n):  # the same animal standing still for 7 s at 10 fps
                yield frame_with(i, i / 10, textured(48, seed=self.start))

    cameras = [CameraConfig("a", "a.mp4", 55.7, 37.6), CameraConfig("b", "b.mp4", 55.8, 37.5, "Арбат")]
    sink = ListSink()
    watcher = Watcher(
        cameras,
        sink,
        WatchOptions(window_s=2.0),
        detector_factory=PatchDetector,
        tracker_factory=FakeTracker,
        source_factory=lambda cam, opts: PatchSource(70, start=1 if cam.id == "a" else 2),
        health_port=0,
    )
    watcher.start()
    assert watcher.wait(20)
    body = json.loads(urllib.request.urlopen(watcher.health_url or "", timeout=5).read())
    watcher.stop()
    by_camera = {c["camera_id"]: c for c in body["cameras"]}
    for cam in ("a", "b"):
        h = by_camera[cam]
        assert h["state"] == "ended" and h["frames_in"] == h["frames_out"] == 70 and h["dropped"] == 0
        assert h["windows"] == 4 and h["sightings_sent"] == 1 and h["duplicates_skipped"] == 3
    assert sorted(c for c, _ in sink.items) == ["a", "b"] and len(watcher.sent) == 2
    assert all(b.label == "cat" and b.crop.shape[2] == 3 for _, b in sink.items)


class RefusingSink(ListSink):
    """Refuses the first ``refuse`` crops with ``error``, then takes them."""

    def __init__(self, error: Exception, refuse: int = 1) -> None:
        super().__init__()
        self.error, self.refuse = error, refuse

    def send(self, camera: CameraConfig, best: WindowBest) -> int:
        with self.lock:
            if self.refuse > 0:
                self.refuse -= 1
                raise self.error
        return super().send(camera, best)


def _still_cat_watcher(sink: Any) -> Any:
    from sightings.solutions.pets.watch.watcher import Watcher
    from sightings.testing.fakes import FakeTracker

    class PatchSource(ScriptedSource):
        def __iter__(self) -> Iterator[Frame]:
            for i in range(self.n):  # the same animal standing still for 7 s at 10 fps: 4 windows
                yield frame_with(i, i / 10, textured(48, seed=1))

    return Watcher(
        [CameraConfig("a", "a.mp4", 55.7, 37.6)],
        sink,
        WatchOptions(window_s=2.0),
        detector_factory=PatchDetector,
        tracker_factory=FakeTracker,
        source_factory=lambda cam, opts: PatchSource(70),
    )


def test_a_crop_the_engine_did_not_take_makes_no_later_crop_a_duplicate() -> None:
    sink = RefusingSink(InputError("crop refused", where="crop"))
    watcher = _still_cat_watcher(sink)
    (health,) = watcher.run(max_seconds=20)
    # window 1 refused; window 2 is the first the engine takes (not skipped as a copy of window 1); 3 and 4 copy it
    assert (health.windows, health.send_failures, health.sightings_sent, health.duplicates_skipped) == (4, 1, 1, 2)
    assert len(sink.items) == 1 and watcher.fatal is None


def test_a_refused_api_key_stops_the_watcher() -> None:
    sink = RefusingSink(ConfigError("API key refused", where="pets.bots.api_key"), refuse=10)
    watcher = _still_cat_watcher(sink)
    (health,) = watcher.run(max_seconds=20)
    assert isinstance(watcher.fatal, ConfigError) and health.sightings_sent == 0
    assert "API key refused" in (health.last_error or "")


def _summary(state: str = "ended", sent: int = 0, failures: int = 0, error: str | None = None) -> CameraHealth:
    return CameraHealth(
        camera_id="a", url="a.mp4", state=state, fps_in=0.0, fps_out=0.0, frames_in=0, frames_out=0, dropped=0,
        reconnects=0, last_frame_at=None, last_error=error, detections=0, windows=0, sightings_sent=sent,
        duplicates_skipped=0, send_failures=failures,
    )  # fmt: skip


def test_watch_exit_status_says_when_the_run_achieved_nothing() -> None:
    from sightings.cli.pets_watch import _raise_if_failed
    from sightings.core.errors import BackendUnavailableError, SightingsError

    url = "http://127.0.0.1:9"
    _raise_if_failed(None, [_summary()], client_url=url)  # nothing to send is no failure
    _raise_if_failed(None, [_summary(sent=1, failures=3)], client_url=url)  # some got through
    _raise_if_failed(None, [_summary("failed", error="x"), _summary()], client_url=url)  # one camera of two read
    with pytest.raises(ConfigError):
        _raise_if_failed(ConfigError("refused", where="pets.bots.api_key"), [_summary()], client_url=url)
    with pytest.raises(SightingsError, match=r"no camera could be read \(a: a.mp4: no such file\)") as err:
        _raise_if_failed(None, [_summary("failed", error="a.mp4: no such file")], client_url=url)
    assert err.value.exit_code == 1
    with pytest.raises(
        BackendUnavailableError, match=r"none of 2 sighting\(s\) reached the engine at http://127\.0\.0\.1:9"
    ):
        _raise_if_failed(None, [_summary(failures=2, error="engine: cannot connect")], client_url=url)
