"""Frame sources over real files, folders and a live HTTP stream served on 127.0.0.1 (loopback only)."""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from PIL import ExifTags, Image

from factories import make_image, make_video
from sightings.core.errors import BackendError, InputError, NotFoundError, SightingsError
from sightings.core.types import Frame, MediaKind
from sightings.media.sources import (
    FileSource,
    FolderSource,
    FrameSource,
    StreamSource,
    open_source,
    redact_url,
)

# ------------------------------------------------------------------------------------------ http server

Behaviour = Callable[[int, bytes], tuple[int, bytes]]
"""(request number from 1, file bytes) → (HTTP status, bytes to send before closing)."""


class _Server:
    """A ThreadingHTTPServer on a random loopback port serving one file, with a per-request behaviour."""

    def __init__(self, data: bytes, behaviour: Behaviour) -> None:
        self.data = data
        self.behaviour = behaviour
        self.requests = 0
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with outer._lock:
                    outer.requests += 1
                    n = outer.requests
                status, body = outer.behaviour(n, outer.data)
                self.send_response(status)
                self.send_header("Content-Type", "video/mp2t")
                # the full length is announced even when less is sent: the client sees a dropped connection
                self.send_header("Content-Length", str(len(outer.data) if status == 200 else len(body)))
                self.end_headers()
                self.close_connection = True
                try:
                    self.wfile.write(body)
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass  # the client went away first

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def url(self, name: str = "live.ts") -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}/{name}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture(scope="module")
def ts_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """2 s of 25 fps H.264 in MPEG-TS (50 frames, keyframe every 25)."""
    path = make_video(tmp_path_factory.mktemp("ts") / "clip.ts", seconds=2.0, fps=25, gop=25)
    return Path(path).read_bytes()


@pytest.fixture
def serve(ts_bytes: bytes) -> Iterator[Callable[[Behaviour], _Server]]:
    servers: list[_Server] = []

    def start(behaviour: Behaviour) -> _Server:
        server = _Server(ts_bytes, behaviour)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def _whole(n: int, data: bytes) -> tuple[int, bytes]:
    return 200, data


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _assert_monotonic(frames: list[Frame]) -> None:
    indices = [f.index for f in frames]
    times = [f.t_s for f in frames]
    assert indices == sorted(set(indices)), "indices must strictly increase"
    assert all(b > a for a, b in itertools.pairwise(times)), "times must strictly increase"


# ---------------------------------------------------------------------------------------------- streams


def test_stream_reads_every_frame_over_http(serve: Callable[[Behaviour], _Server]) -> None:
    server = serve(_whole)
    with StreamSource(server.url(), read_timeout_s=5) as source:
        assert isinstance(source, FrameSource)
        frames = list(source)
        media = source.media
    assert len(frames) == 50
    assert [f.index for f in frames] == list(range(50))
    assert frames[0].t_s == 0.0
    assert frames[-1].t_s == pytest.approx(49 / 25, abs=0.01)
    assert frames[0].image.shape == (240, 320, 3) and frames[0].image.dtype == np.uint8
    assert media.kind is MediaKind.STREAM and (media.width, media.height) == (320, 240)
    assert media.fps == pytest.approx(25)
    assert source.reconnects == 0 and server.requests == 1


def test_stream_fps_throttle_by_stream_time(serve: Callable[[Behaviour], _Server]) -> None:
    server = serve(_whole)
    source = StreamSource(server.url(), fps=5, read_timeout_s=5)
    frames = list(source)
    source.close()
    assert len(frames) == 10  # 2 s at 5 fps
    assert [f.index for f in frames] == list(range(0, 50, 5))
    assert np.diff([f.t_s for f in frames]) == pytest.approx([0.2] * 9, abs=0.01)
    assert source.frames_decoded == 50 and source.frames_emitted == 10


def test_stream_reconnects_after_a_drop_and_keeps_counting(serve: Callable[[Behaviour], _Server]) -> None:
    def drop_first(n: int, data: bytes) -> tuple[int, bytes]:
        return 200, data[: len(data) // 2] if n == 1 else data

    server = serve(drop_first)
    source = StreamSource(server.url(), backoff_s=0.01, read_timeout_s=5)
    frames = list(source)
    assert server.requests == 2
    assert source.reconnects == 1
    first_pass = [f for f in frames if f.index < source.frames_decoded - 50]
    assert 5 < len(first_pass) < 50  # some frames came before the drop ...
    assert len(frames) == len(first_pass) + 50  # ... and the whole file after the reconnect
    _assert_monotonic(frames)
    assert frames[len(first_pass)].t_s > first_pass[-1].t_s


def test_unreachable_url_gives_backend_error_after_retries(caplog: pytest.LogCaptureFixture) -> None:
    url = f"http://viewer:secret@127.0.0.1:{_closed_port()}/cam.ts"
    source = StreamSource(url, max_retries=3, backoff_s=0.01, max_backoff_s=0.02, read_timeout_s=2)
    start = time.monotonic()
    with pytest.raises(BackendError, match="gave up after 3 reconnects") as info:
        list(source)
    assert time.monotonic() - start < 5
    assert "127.0.0.1" in str(info.value) and "***" in str(info.value)
    assert "secret" not in str(info.value) and "secret" not in caplog.text
    assert source.reconnects == 3


def test_server_errors_are_retried_then_reported(serve: Callable[[Behaviour], _Server]) -> None:
    server = serve(lambda n, data: (503, b"busy"))
    with pytest.raises(BackendError, match=r"cannot open") as info:
        list(StreamSource(server.url(), max_retries=2, backoff_s=0.01, read_timeout_s=2))
    assert server.requests == 3  # the first try and 2 retries
    assert server.url() in str(info.value)


def test_no_reconnect_raises_on_first_drop(serve: Callable[[Behaviour], _Server]) -> None:
    server = serve(lambda n, data: (200, data[: len(data) // 2]))
    frames: list[Frame] = []
    with pytest.raises(BackendError, match="stream failed"):
        frames.extend(StreamSource(server.url(), reconnect=False, read_timeout_s=5))
    assert frames and server.requests == 1


def test_live_stream_stops_on_close_from_another_thread(serve: Callable[[Behaviour], _Server]) -> None:
    server = serve(_whole)  # replayed on every connection: an endless "live" stream with reconnect_on_eof
    source = StreamSource(server.url(), reconnect_on_eof=True, backoff_s=0.01, read_timeout_s=5)
    seen: list[Frame] = []
    errors: list[BaseException] = []

    def consume() -> None:
        try:
            for frame in source:
                seen.append(frame)
        except BaseException as err:
            errors.append(err)

    reader = threading.Thread(target=consume, daemon=True)
    reader.start()
    deadline = time.monotonic() + 20
    while len(seen) < 120 and time.monotonic() < deadline and reader.is_alive():
        time.sleep(0.01)
    source.close()
    reader.join(timeout=10)
    assert not reader.is_alive() and not errors
    assert len(seen) >= 120 and source.reconnects >= 2
    _assert_monotonic(seen)


def test_redact_url() -> None:
    assert redact_url("rtsp://admin:pa55@10.0.0.5:554/stream1") == "rtsp://admin:***@10.0.0.5:554/stream1"
    assert redact_url("http://127.0.0.1:8080/a.ts") == "http://127.0.0.1:8080/a.ts"
    source = StreamSource("rtsp://admin:pa55@127.0.0.1:1/s")
    assert source.media.uri == "rtsp://admin:***@127.0.0.1:1/s"
    with pytest.raises(InputError):
        StreamSource("rtsp://127.0.0.1/s", fps=0)


# ---------------------------------------------------------------------------------------------- folders


def _photo(path: Path, seed: int, taken: str | None, offset: str | None = None) -> Path:
    make_image(path, width=32, height=24, seed=seed)
    if taken is not None:
        exif = Image.Exif()
        sub = exif.get_ifd(ExifTags.IFD.Exif)
        sub[ExifTags.Base.DateTimeOriginal] = taken
        if offset:
            sub[ExifTags.Base.OffsetTimeOriginal] = offset
        Image.open(path).save(path, exif=exif)
    return path


def test_folder_source_times_from_exif(tmp_path: Path) -> None:
    _photo(tmp_path / "a.jpg", 1, "2024:06:01 10:00:10", "+02:00")
    _photo(tmp_path / "b.jpg", 2, "2024:06:01 10:00:00", "+02:00")  # earliest, though second by name
    _photo(tmp_path / "c.jpg", 3, "2024:06:01 10:01:00", "+02:00")
    with FolderSource(tmp_path) as source:
        frames = list(source)
    assert [f.index for f in frames] == [0, 1, 2]
    assert [f.t_s for f in frames] == [10.0, 0.0, 60.0]
    assert source.start_time == datetime(2024, 6, 1, 8, 0, 0, tzinfo=UTC)
    assert source.media.kind is MediaKind.IMAGE and source.media.frame_count == 3
    assert frames[0].media is source.media


def test_folder_source_falls_back_to_index_times(tmp_path: Path) -> None:
    _photo(tmp_path / "a.jpg", 1, "2024:06:01 10:00:10")
    _photo(tmp_path / "b.png", 2, None)  # no EXIF time: every frame gets index / fps
    frames = list(FolderSource(tmp_path, fps=4.0))
    assert [f.t_s for f in frames] == [0.0, 0.25]


def test_folder_source_reports_unreadable_and_keeps_going(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    make_image(tmp_path / "01.png", seed=1)
    (tmp_path / "02.jpg").write_bytes(b"\xff\xd8\xff\xe0 broken")
    make_image(tmp_path / "03.png", seed=3)
    (tmp_path / "notes.txt").write_text("x")
    reported: list[tuple[Path, SightingsError]] = []
    source = FolderSource(tmp_path, on_error=lambda p, e: reported.append((p, e)))
    frames = list(source)
    assert [f.index for f in frames] == [0, 2]  # the index is the position in source.files
    assert source.files[2].name == "03.png"
    assert [p.name for p, _ in reported] == ["02.jpg"] and [p.name for p, _ in source.errors] == ["02.jpg"]
    assert [p.name for p, _ in source.skipped] == ["notes.txt"]
    list(FolderSource(tmp_path))  # default handler: a warning, not an error
    assert "skipping unreadable image" in caplog.text


def test_folder_source_pattern_and_missing(tmp_path: Path) -> None:
    make_image(tmp_path / "cam1_001.png", seed=1)
    make_image(tmp_path / "cam2_001.png", seed=2)
    make_image(tmp_path / "sub" / "cam1_002.png", seed=3)
    frames = list(FolderSource(tmp_path, "cam1_*", recursive=True, time_from="index"))
    assert len(frames) == 2
    with pytest.raises(NotFoundError):
        FolderSource(tmp_path / "nope")


# ------------------------------------------------------------------------------------------- files, chooser


@pytest.fixture(scope="module")
def mp4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(make_video(tmp_path_factory.mktemp("mp4") / "clip.mp4", seconds=2.0, fps=25, gop=25))


def test_file_source_delegates_to_sampling(mp4: Path) -> None:
    pytest.importorskip("sightings.media.sample")
    with FileSource(mp4, stride=10) as source:
        assert isinstance(source, FrameSource)
        frames = list(source)
        assert source.media.kind is MediaKind.VIDEO and source.media.width == 320
    assert [f.index for f in frames] == [0, 10, 20, 30, 40]
    assert frames[1].t_s == pytest.approx(0.4, abs=0.01)
    every = FileSource(mp4)
    it = iter(every)
    assert next(it).index == 0 and next(it).index == 1
    every.close()  # stops mid-way and releases the file
    with pytest.raises(InputError):
        FileSource(mp4, fps=1, stride=2)


def test_open_source_chooses_by_uri(tmp_path: Path, mp4: Path) -> None:
    image = make_image(tmp_path / "photos" / "one.jpg", seed=1)
    make_image(tmp_path / "photos" / "two.jpg", seed=2)
    folder = open_source(str(tmp_path / "photos"))
    assert isinstance(folder, FolderSource) and len(folder.files) == 2
    single = open_source(image)
    assert isinstance(single, FolderSource) and [f.index for f in single] == [0]
    assert open_source(image.as_uri()).media.uri == str(image.resolve())
    assert isinstance(open_source(mp4, stride=5), FileSource)
    stream = open_source("rtsp://127.0.0.1:1/live", fps=2, backoff_s=0.1)
    assert isinstance(stream, StreamSource) and stream.reconnect_on_eof
    assert not open_source("http://127.0.0.1:1/x.ts").reconnect_on_eof  # type: ignore[attr-defined]
    with pytest.raises(InputError, match="stride"):
        open_source(str(tmp_path / "photos"), stride=3)
    with pytest.raises(InputError, match="unknown URI scheme"):
        open_source("gopher://127.0.0.1/x")
    with pytest.raises(NotFoundError):
        open_source(str(tmp_path / "missing.mp4"))
