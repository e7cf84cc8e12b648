"""A fake street camera for tests, benchmarks and the demo: a generated video of a pet walking by, served over HTTP.

    frames = pet_walk_frames(pet_rgb, width=640, height=480, seconds=6, fps=10, appear_s=1.0)
    write_video(tmp / "cam.ts", frames, fps=10)                      # MPEG-TS: streamable, survives cuts
    with FakeStreamServer(tmp / "cam.ts", cut_after_bytes=200_000) as server:
        server.url                                                   # http://127.0.0.1:PORT/cam.ts
        ...                                                          # the first request is cut after 200 kB
        server.requests, server.cuts_done

The server binds 127.0.0.1 only (never the network) and serves the whole file to each request, except the first
``cuts`` requests, whose connection is closed after ``cut_after_bytes`` bytes — a camera dropping mid-stream.
``bytes_per_s`` throttles it like a live source. RTSP is served by a real server in its own test
(``tests/integration/test_media_rtsp.py``, Debian's rtsp-server-perl), see docs/pets-watch.md.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import numpy as np
import numpy.typing as npt

from sightings.core.errors import InputError, NotFoundError

__all__ = [
    "FakeStreamServer",
    "load_rgb",
    "pet_walk_frames",
    "street_background",
    "write_video",
]


def load_rgb(path: str | os.PathLike[str]) -> npt.NDArray[np.uint8]:
    """An image file as an RGB array."""
    from sightings.media.images import load_image

    return load_image(Path(path))


def street_background(width: int, height: int, *, seed: int = 0) -> npt.NDArray[np.uint8]:
    """A street-like picture: sky-to-asphalt gradient, a kerb line, mild noise, a few dark 'windows'."""
    rng = np.random.default_rng(seed)
    yy = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    base = np.empty((height, width, 3), np.float32)
    base[..., 0] = 150 - 70 * yy
    base[..., 1] = 155 - 70 * yy
    base[..., 2] = 165 - 60 * yy
    kerb = int(height * 0.62)
    base[kerb : kerb + max(2, height // 80)] = (210, 210, 200)
    for _ in range(6):
        x, y = int(rng.integers(0, max(1, width - width // 10))), int(rng.integers(0, max(1, kerb // 2)))
        base[y : y + height // 12, x : x + width // 14] = (60, 64, 72)
    base += rng.normal(0, 3, base.shape)
    return np.clip(base, 0, 255).astype(np.uint8)


def _resize(image: npt.NDArray[np.uint8], width: int, height: int) -> npt.NDArray[np.uint8]:
    from PIL import Image

    return np.asarray(Image.fromarray(image).resize((width, height), Image.Resampling.BILINEAR), dtype=np.uint8)


def pet_walk_frames(
    pet: npt.NDArray[np.uint8],
    *,
    width: int = 640,
    height: int = 480,
    seconds: float = 6.0,
    fps: float = 10.0,
    appear_s: float = 1.0,
    leave_s: float | None = None,
    pet_height: float = 0.4,
    seed: int = 0,
) -> Iterator[npt.NDArray[np.uint8]]:
    """Frames of ``pet`` (an RGB photo) crossing a street from left to right between ``appear_s`` and ``leave_s``
    (default: the end), ``pet_height`` of the frame tall; an empty street before and after."""
    if pet.ndim != 3 or pet.shape[2] != 3 or pet.dtype != np.uint8:
        raise InputError(f"pet must be an RGB uint8 image, got {pet.dtype} {pet.shape}", where="pet")
    if width < 32 or height < 32 or seconds <= 0 or fps <= 0:
        raise InputError("needs width, height >= 32 and seconds, fps > 0", where="pet_walk_frames")
    background = street_background(width, height, seed=seed)
    ph = max(16, int(height * pet_height))
    pw = max(16, min(width // 2, round(pet.shape[1] * ph / pet.shape[0])))
    sprite = _resize(pet, pw, ph)
    end = seconds if leave_s is None else leave_s
    y = max(0, int(height * 0.62) - ph // 2)
    for i in range(round(seconds * fps)):
        t = i / fps
        frame = background.copy()
        if appear_s <= t < end:
            progress = (t - appear_s) / max(1e-6, end - appear_s)
            x = int(0.05 * width + progress * (0.9 * width - pw))
            frame[y : y + ph, x : x + pw] = sprite
        yield frame


def write_video(
    path: str | os.PathLike[str],
    frames: Iterable[npt.NDArray[np.uint8]],
    *,
    fps: float = 10.0,
    codec: str = "libx264",
    gop: int | None = None,
) -> Path:
    """Encode RGB ``frames`` with PyAV (the container from the suffix: ``.ts`` streams well over HTTP)."""
    from fractions import Fraction

    import av

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    iterator = iter(frames)
    first = next(iterator, None)
    if first is None:
        raise InputError("no frames to write", where=out)
    height, width = first.shape[:2]
    with av.open(str(out), "w") as container:
        stream: Any = container.add_stream(codec, rate=Fraction(fps).limit_denominator(1000))
        stream.width, stream.height = width - width % 2, height - height % 2
        stream.pix_fmt = "yuv420p"
        keyint = gop if gop is not None else max(1, round(fps))
        if codec == "libx264":
            stream.options = {"preset": "veryfast", "g": str(keyint), "keyint_min": str(keyint), "sc_threshold": "0"}
        for image in _chain(first, iterator):
            crop = np.ascontiguousarray(image[: stream.height, : stream.width])
            for packet in stream.encode(av.VideoFrame.from_ndarray(crop, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out


def _chain(first: npt.NDArray[np.uint8], rest: Iterator[npt.NDArray[np.uint8]]) -> Iterator[npt.NDArray[np.uint8]]:
    yield first
    yield from rest


class FakeStreamServer:
    """Serves one video file over HTTP on 127.0.0.1 (see the module docs)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        cut_after_bytes: int | None = None,
        cuts: int = 1,
        bytes_per_s: float | None = None,
        chunk_bytes: int = 16384,
        content_type: str = "video/mp2t",
    ) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise NotFoundError("no such video", where=self.path)
        if cut_after_bytes is not None and cut_after_bytes < 1:
            raise InputError(f"must be >= 1, got {cut_after_bytes}", where="cut_after_bytes")
        self.data = self.path.read_bytes()
        self.cut_after_bytes = cut_after_bytes
        self.cuts = cuts
        self.bytes_per_s = bytes_per_s
        self.chunk_bytes = chunk_bytes
        self.content_type = content_type
        self.requests = 0
        self.cuts_done = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-stream", daemon=True)

    @property
    def url(self) -> str:
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}/{self.path.name}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _plan(self) -> int:
        """Bytes to send to the next request (all, or the cut length)."""
        with self._lock:
            self.requests += 1
            if self.cut_after_bytes is not None and self.cuts_done < self.cuts:
                self.cuts_done += 1
                return min(self.cut_after_bytes, len(self.data))
            return len(self.data)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # no keep-alive: the end of the body is the end of the connection

            def do_GET(self) -> None:
                limit = owner._plan()
                self.send_response(200)
                self.send_header("Content-Type", owner.content_type)
                self.send_header("Connection", "close")
                self.end_headers()
                sent = 0
                started = time.monotonic()
                try:
                    while sent < limit:
                        piece = owner.data[sent : min(limit, sent + owner.chunk_bytes)]
                        self.wfile.write(piece)
                        sent += len(piece)
                        if owner.bytes_per_s:
                            ahead = sent / owner.bytes_per_s - (time.monotonic() - started)
                            if ahead > 0:
                                time.sleep(ahead)
                except (BrokenPipeError, ConnectionResetError):
                    return
                self.close_connection = True

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler
