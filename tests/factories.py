"""Factories for generated test media (no test depends on ../shared)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def make_frame(i: int, width: int = 320, height: int = 240) -> np.ndarray:
    """A deterministic RGB frame that changes with ``i`` (moving gradient + a moving square)."""
    yy, xx = np.mgrid[0:height, 0:width]
    img = np.empty((height, width, 3), np.uint8)
    img[..., 0] = (xx + i * 4) % 256
    img[..., 1] = (yy + i * 2) % 256
    img[..., 2] = 64
    s = max(8, min(width, height) // 6)
    x0 = (i * 5) % max(1, width - s)
    y0 = (i * 3) % max(1, height - s)
    img[y0 : y0 + s, x0 : x0 + s] = (255, 255, 255)
    return img


def make_video(
    path: Path,
    *,
    seconds: float = 4.0,
    fps: int = 25,
    width: int = 320,
    height: int = 240,
    gop: int | None = 50,
    codec: str = "libx264",
    bframes: int | None = None,
) -> Path:
    """Encode a small synthetic video with PyAV (its wheels bundle FFmpeg + x264)."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width = width
        stream.height = height
        stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        opts: dict[str, str] = {}
        if codec == "libx264":
            opts = {"preset": "veryfast"}
            if gop is not None:
                opts.update({"g": str(gop), "keyint_min": str(gop), "sc_threshold": "0"})
            if bframes is not None:
                opts["bf"] = str(bframes)
        stream.options = opts
        for i in range(round(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(make_frame(i, width, height), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def make_image(path: Path, *, width: int = 64, height: int = 48, fmt: str | None = None, seed: int = 0) -> Path:
    """Save a random-pattern RGB image (format from the suffix unless ``fmt`` is given)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 256, size=(height // 8 + 1, width // 8 + 1, 3), dtype=np.uint8)
    arr = np.kron(arr, np.ones((8, 8, 1), np.uint8))[:height, :width]
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path, format=fmt)
    return path


def make_audio(path: Path, *, seconds: float = 1.0, rate: int = 8000) -> Path:
    """An audio-only file (a 440 Hz tone; WAV for a .wav suffix) — media with no video stream."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    n = round(seconds * rate)
    tone = (np.sin(2 * np.pi * 440 * np.arange(n) / rate) * 12000).astype(np.int16)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=rate, layout="mono")
        for start in range(0, n, 1024):
            frame = av.AudioFrame.from_ndarray(tone[None, start : start + 1024], format="s16", layout="mono")
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def make_unknown_codec_video(path: Path, *, seconds: float = 1.0) -> Path:
    """An AVI whose video FourCC (``ZZZZ``) no FFmpeg decoder claims: a valid container, an unsupported codec."""
    make_video(path, seconds=seconds, codec="mjpeg")
    data = bytearray(path.read_bytes())
    head = bytes(data[:8192])
    assert head.count(b"MJPG") >= 1, "expected the MJPG FourCC in the AVI header"
    data[:8192] = head.replace(b"MJPG", b"ZZZZ")
    path.write_bytes(bytes(data))
    return path


def truncate_copy(src: Path, dst: Path, fraction: float = 0.5) -> Path:
    """Copy the first ``fraction`` of ``src``'s bytes to ``dst`` (a file cut short, as by a failed download)."""
    data = src.read_bytes()
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


def broken_walk_detector() -> object:
    """make_video's moving white square as a "person", found in frames 0-9 and 40-55 of a 10 fps video: lost
    for 3 s, longer than the tracker's 2 s buffer."""
    from sightings.testing.fakes import FakeDetector

    def box(i: int) -> tuple[float, float, float, float, str, float]:
        x, y = 5 * i, 3 * i  # make_frame's square (40 px) before it wraps around
        return (x, y, x + 40, y + 40, "person", 0.9)

    return FakeDetector({i: [box(i)] for i in [*range(10), *range(40, 56)]})


def walker_track_app(monkeypatch: Any, video: Path) -> Any:
    """A typer app with `sightings track` only, the registry's ``walker`` detector (:func:`broken_walk_detector`)
    and the 5.6-s 10-fps walk video written to ``video``: for tests of linking through the CLI."""
    import typer

    from sightings.cli.common import SightingsGroup
    from sightings.cli.track import track
    from sightings.core.registry import DETECTORS, RegistryEntry

    monkeypatch.setitem(DETECTORS._entries, "walker", RegistryEntry("walker", "factories:broken_walk_detector"))
    app = typer.Typer(cls=SightingsGroup, pretty_exceptions_enable=False)
    app.command("track")(track)
    app.command("noop")(lambda: None)
    make_video(video, seconds=5.6, fps=10, gop=10)
    return app


DETECTOR_LOADS: list[dict[str, Any]] = []
"""One entry (the script's frame count) per :func:`counted_fake_detector` built: for tests that a model loads once."""


def counted_fake_detector(script: dict[int, Any] | None = None) -> object:
    """A :class:`~sightings.testing.fakes.FakeDetector` that records its construction in :data:`DETECTOR_LOADS`."""
    from sightings.testing.fakes import FakeDetector

    DETECTOR_LOADS.append({"frames": len(script or {})})
    return FakeDetector(script)


def register_counted_detector(monkeypatch: Any) -> list[dict[str, Any]]:
    """Register :func:`counted_fake_detector` as the ``counted`` detector; returns its (emptied) load log."""
    from sightings.core.registry import DETECTORS, RegistryEntry

    monkeypatch.setitem(DETECTORS._entries, "counted", RegistryEntry("counted", "factories:counted_fake_detector"))
    DETECTOR_LOADS.clear()
    return DETECTOR_LOADS


def churn_scene(frames: int = 120, *, size: tuple[int, int] = (480, 640)) -> list[tuple[Any, list[Any]]]:
    """People born and lost at random, one frame every 2.5 s (the sparse-stride case): ``(Frame, detections)`` pairs,
    the same on every machine (``numpy`` seed 7)."""
    from sightings.core.types import Box, Detection, Frame, MediaKind, MediaRef

    rng = np.random.default_rng(7)
    ref = MediaRef("churn", MediaKind.VIDEO, fps=10.0)
    image = np.full((*size, 3), 90, np.uint8)
    people: list[list[float]] = []
    scene = []
    for f in range(frames):
        people = [p for p in people if rng.random() > 0.15]
        for _ in range(rng.integers(0, 4)):
            people.append([rng.uniform(0, 600), rng.uniform(0, 400), rng.uniform(-30, 30), rng.uniform(-30, 30)])
        dets = []
        for p in people:
            p[0] += p[2] * 2.5
            p[1] += p[3] * 2.5
            if rng.random() < 0.8:
                box = Box(p[0], p[1], p[0] + 30, p[1] + 80)
                dets.append(Detection(f * 25, box, "person", float(rng.uniform(0.5, 0.95))))
        scene.append((Frame(ref, f * 25, f * 2.5, image), dets))
    return scene
