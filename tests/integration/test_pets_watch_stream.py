"""The watcher on real streams: a generated video served over HTTP from 127.0.0.1, cut mid-way — the reader
reconnects and goes on — and the whole path camera → watcher → engine API → the lost pet's matches.

RTSP is not tested: no RTSP server installs from PyPI here (FFmpeg's rtsp muxer only pushes to one)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pets_factories import API_KEY, BlobDetector, encode, pet, pets_service, photo_of
from sightings.solutions.pets.watch.cameras import CameraConfig, WatchOptions
from sightings.solutions.pets.watch.stream import FrameReader, ReaderState
from sightings.testing.fake_stream import FakeStreamServer, pet_walk_frames, write_video

pytest.importorskip("av")

FPS = 10.0


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6 s of a generated 'cat' (a colourful texture) crossing a street, 320×240, MPEG-TS."""
    animal = pet(1, size=96, noise=4)
    frames = pet_walk_frames(animal, width=320, height=240, seconds=6.0, fps=FPS, appear_s=0.5, pet_height=0.35)
    return write_video(tmp_path_factory.mktemp("clip") / "cam.ts", frames, fps=FPS)


def test_an_http_stream_cut_mid_way_is_reopened_and_reading_goes_on(clip: Path) -> None:
    total = round(6.0 * FPS)
    with FakeStreamServer(clip, cut_after_bytes=clip.stat().st_size // 2) as srv:
        camera = CameraConfig("street-1", srv.url, 55.75, 37.6)
        reader = FrameReader(camera, WatchOptions(queue_size=500, backoff_s=0.1, read_timeout_s=5))
        reader.start()
        seen_states: set[ReaderState] = set()
        deadline = time.monotonic() + 20
        while reader.frames_in < total + 10 and time.monotonic() < deadline:
            seen_states.add(reader.state)
            time.sleep(0.01)
        reader.stop(timeout=5)
    stats = reader.stats()
    assert srv.cuts_done == 1 and srv.requests >= 2
    assert stats.reconnects >= 1 and "stream" in (stats.last_error or "")
    assert stats.frames_in >= total + 10, stats  # half a pass before the cut, a whole one after
    assert ReaderState.RECONNECTING in seen_states and ReaderState.STREAMING in seen_states
    indices = []
    while (item := reader.get(timeout=0.05)) is not None:
        indices.append(item.frame.index)
    assert indices == sorted(indices) and len(set(indices)) == len(indices)  # never back, never twice


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[tuple[str, Any]]:
    from sightings.api.app import create_app
    from sightings.api.local_server import LocalServer

    pytest.importorskip("cv2")
    pytest.importorskip("sqlalchemy")
    service = pets_service(tmp_path)
    app = create_app(service.settings)
    app.state.pets = service
    with LocalServer(app) as local:
        yield local.url, service
    service.close()


def test_camera_to_watcher_to_engine_to_the_lost_pets_matches(engine: tuple[str, Any], clip: Path) -> None:
    from sightings.solutions.pets.client import PetsClient
    from sightings.solutions.pets.posts import PostDraft
    from sightings.solutions.pets.watch.watcher import ApiSightingSink, Watcher

    url, _ = engine
    with PetsClient(url, API_KEY) as client:
        lost = client.add_post(
            PostDraft(
                source="manual",
                kind="lost",
                text="Пропал кот",
                photos=(encode(photo_of(1, 0)),),
                photo_names=("cat.png",),
                posted_at=datetime.now(UTC) - timedelta(days=1),
                lat=55.75,
                lon=37.60,
            )
        )
        with FakeStreamServer(clip, cut_after_bytes=clip.stat().st_size // 3) as srv:
            camera = CameraConfig("street-1", srv.url, 55.751, 37.601, "Хамовники")
            watcher = Watcher(
                [camera],
                ApiSightingSink(client),
                WatchOptions(window_s=1.0, backoff_s=0.1),
                detector_factory=BlobDetector,
                health_port=0,
            )
            watcher.start()
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                health = watcher.health()[0]
                if health.reconnects >= 1 and health.sightings_sent >= 1:
                    break
                time.sleep(0.05)
            watcher.stop()
        health = watcher.health()[0]
        assert health.reconnects >= 1 and health.sightings_sent >= 1 and health.send_failures == 0, health
        page = client.lost_matches(lost.id, sure_only=False)
    cameras = [m for m in page.matches if m.target_kind == "sighting"]
    assert cameras and cameras[0].place == "camera street-1" and cameras[0].district == "Хамовники"
    assert cameras[0].confidence > 0.5 and cameras[0].photo_url


def test_a_sighting_the_engine_refuses_is_counted_not_retried(clip: Path) -> None:
    from sightings.core.errors import InputError
    from sightings.solutions.pets.watch.watcher import Watcher

    class Refusing:
        calls = 0

        def send(self, camera: CameraConfig, best: Any) -> int:
            Refusing.calls += 1
            raise InputError("crop: not an image", where="http://engine/v1/pets/sightings")

    watcher = Watcher(
        [CameraConfig("file-1", str(clip), 55.75, 37.6)],
        Refusing(),
        WatchOptions(window_s=1.0),
        detector_factory=BlobDetector,
    )
    health = watcher.run(max_seconds=30)[0]
    assert health.state == "ended" and health.frames_out == round(6.0 * FPS)
    assert health.send_failures == Refusing.calls >= 1 and "not an image" in (health.last_error or "")
