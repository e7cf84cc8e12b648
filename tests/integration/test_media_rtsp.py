"""A camera stream over RTSP through a real RTSP server (Debian's rtsp-server-perl, installed by
``make system-deps``): a generated picture is published to it with FFmpeg's RTSP muxer and read back by
:class:`StreamSource` with its defaults. That server refuses RTSP over TCP (interleaved), so this also checks
the fall-back to UDP. Skips when the server is not installed."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from sightings.media.sources import StreamSource

SERVER = shutil.which("rtsp-server-perl")
pytestmark = pytest.mark.skipif(SERVER is None, reason="rtsp-server-perl is not installed (make system-deps)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def rtsp_server(tmp_path: Path) -> Iterator[tuple[int, int]]:
    """(client port, source port) of a running RTSP server on 127.0.0.1."""
    client, source = _free_port(), _free_port()
    log = (tmp_path / "rtsp.log").open("wb")
    proc = subprocess.Popen(
        [str(SERVER), "-c", str(client), "-s", str(source), "--client_listen_address", "127.0.0.1",
         "--source_listen_address", "127.0.0.1", "--rtp_start_port", str(_free_port() & ~1)],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", source), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the RTSP server did not start: {(tmp_path / 'rtsp.log').read_text()}")
                time.sleep(0.05)
        yield client, source
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


def _publish(url: str, stop: threading.Event, seconds: float = 8.0) -> None:
    """Push a 320×240 picture with a white bar moving right, 10 frames/s, to the server (FFmpeg's RTSP muxer)."""
    import av

    out = av.open(url, "w", format="rtsp", options={"rtsp_transport": "udp"})
    stream = out.add_stream("libx264", rate=10)
    stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
    stream.options = {"preset": "ultrafast", "tune": "zerolatency", "g": "10"}
    try:
        for i in range(int(seconds * 10)):
            if stop.is_set():
                break
            image = np.zeros((240, 320, 3), np.uint8)
            image[:, (i * 4) % 280 : (i * 4) % 280 + 40] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                out.mux(packet)
            time.sleep(0.1)
        for packet in stream.encode():
            out.mux(packet)
    finally:
        out.close()


def test_a_camera_over_rtsp_is_read_with_the_udp_fallback(rtsp_server: tuple[int, int]) -> None:
    client, source = rtsp_server
    stop = threading.Event()
    publisher = threading.Thread(target=_publish, args=(f"rtsp://127.0.0.1:{source}/cam1", stop), daemon=True)
    publisher.start()
    reader = StreamSource(f"rtsp://127.0.0.1:{client}/cam1", max_retries=8, backoff_s=0.2, read_timeout_s=5)
    frames = []
    try:
        for frame in reader:  # the first tries can come before the publisher announced the stream
            frames.append(frame)
            if len(frames) == 15:
                break
    finally:
        reader.close()
        stop.set()
        publisher.join(15)
    assert reader.options["rtsp_transport"] == "udp"  # the server refused TCP; UDP was asked for instead
    assert [f.image.shape for f in frames] == [(240, 320, 3)] * 15
    bar = [int(f.image[:, :, 0].mean(axis=0).argmax()) for f in frames]  # the white bar's left edge
    assert len(set(bar)) > 5  # the picture moves: live frames, not one repeated
    for frame, left in zip(frames, bar, strict=True):
        assert frame.image[:, left : left + 30].mean() > 200 and frame.image[:, :, 0].mean() < 80
    assert [f.t_s for f in frames] == sorted(f.t_s for f in frames)
