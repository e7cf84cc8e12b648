"""Reading one camera without ever blocking it: a reader thread, a bounded queue, reconnects with back-off.

    reader = FrameReader(camera, options)
    reader.start()
    while not reader.done:
        item = reader.get(timeout=0.5)        # TimedFrame | None
        ...
    reader.stats()                            # state, frames in, drops, reconnects, fps in, last frame time

The reader thread decodes the stream (PyAV, through :mod:`sightings.media.sources`) and puts each frame into a
queue of ``options.queue_size`` frames. When the analyser falls behind, a live stream never waits: the oldest
queued frame is dropped (and counted) to make room, so the analyser always gets recent pictures. A file is read
at full speed with no drops (every frame analysed), or, with ``options.realtime``, at its own frame rate like a
camera (drops under load, as live).

Live frames are numbered and timed on one timeline across reconnects (indices and ``t_s`` never go back, so the
tracker and the windows see a camera that paused). A live stream that ends or fails is reopened after
``backoff_s``, then twice as long each time up to ``max_backoff_s`` (the wait resets once frames flow again); the
reader never gives up on a live camera while the watcher runs — the health endpoint shows it ``reconnecting`` with
the last error.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sightings.core.errors import SightingsError
from sightings.core.types import Frame
from sightings.media.sources import FrameSource
from sightings.solutions.pets.watch.cameras import CameraConfig, WatchOptions

__all__ = ["FrameReader", "RateMeter", "ReaderState", "ReaderStats", "SourceFactory", "TimedFrame", "open_camera"]

log = logging.getLogger(__name__)

SourceFactory = Callable[[CameraConfig, WatchOptions], FrameSource]
"""Opens one connection to a camera (tests pass their own)."""


class ReaderState(StrEnum):
    """Where a camera's reader is."""

    STARTING = "starting"
    STREAMING = "streaming"
    RECONNECTING = "reconnecting"
    ENDED = "ended"  # a file read to its end
    FAILED = "failed"  # a file that cannot be read
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True, eq=False)
class TimedFrame:
    """A frame with the wall-clock time it shows (``seen_at``, UTC) and when it was read (monotonic seconds)."""

    frame: Frame
    seen_at: datetime
    read_at: float


@dataclass(frozen=True, slots=True)
class ReaderStats:
    """A snapshot of one reader's counters."""

    state: ReaderState
    frames_in: int
    dropped: int
    reconnects: int
    fps_in: float
    last_frame_at: datetime | None
    last_error: str | None
    queued: int


class RateMeter:
    """Events per second over the last ``span_s`` seconds (thread-safe)."""

    def __init__(self, span_s: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.span_s = span_s
        self._clock = clock
        self._times: deque[float] = deque()
        self._lock = threading.Lock()

    def tick(self) -> None:
        now = self._clock()
        with self._lock:
            self._times.append(now)
            self._trim(now)

    def _trim(self, now: float) -> None:
        while self._times and now - self._times[0] > self.span_s:
            self._times.popleft()

    def rate(self) -> float:
        now = self._clock()
        with self._lock:
            self._trim(now)
            if len(self._times) < 2:
                return 0.0
            elapsed = max(now - self._times[0], self._times[-1] - self._times[0])
            return (len(self._times) - 1) / elapsed if elapsed > 0 else 0.0


def open_camera(camera: CameraConfig, options: WatchOptions) -> FrameSource:
    """One connection: a :class:`~sightings.media.sources.StreamSource` for a live URL (no inner reconnects: the
    reader does them), a :class:`~sightings.media.sources.FileSource` for a file."""
    from sightings.media.sources import FileSource, StreamSource, open_source

    if camera.is_live:
        return StreamSource(
            camera.url,
            fps=camera.fps,
            reconnect=False,
            reconnect_on_eof=True,
            read_timeout_s=options.read_timeout_s,
        )
    source = open_source(camera.url)  # NotFoundError for a missing file; a folder of images works too
    if isinstance(source, FileSource) and camera.fps is not None:
        source.close()
        return FileSource(source.path, fps=camera.fps)
    return source


class FrameReader:
    """Reads ``camera`` in its own thread into a bounded queue (see the module docs)."""

    def __init__(
        self,
        camera: CameraConfig,
        options: WatchOptions,
        *,
        source_factory: SourceFactory = open_camera,
        start_time: datetime | None = None,
    ) -> None:
        self.camera = camera
        self.options = options
        self._factory = source_factory
        self._queue: queue.Queue[TimedFrame] = queue.Queue(maxsize=options.queue_size)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._source: FrameSource | None = None
        self._lock = threading.Lock()
        self._live = camera.is_live
        self._drop_when_busy = self._live or options.realtime
        self._start_time = start_time
        self.state = ReaderState.STARTING
        self.frames_in = 0
        self.dropped = 0
        self.reconnects = 0
        self.last_frame_at: datetime | None = None
        self.last_error: str | None = None
        self.meter = RateMeter()
        self._attempt = 0  # consecutive reconnects without a frame
        self._last_t = -1.0  # stream time of the last live frame (continued across reconnects)

    # ------------------------------------------------------------------ control
    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name=f"reader-{self.camera.id}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Stop reading (the connection is closed by the reader thread within its read timeout)."""
        self._stop.set()
        source = self._source
        if source is not None:
            with contextlib.suppress(Exception):
                source.close()
        if self._thread is not None and timeout is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def done(self) -> bool:
        """The reader has finished and every queued frame was taken."""
        return self._thread is not None and not self._thread.is_alive() and self._queue.empty()

    def get(self, timeout: float = 0.5) -> TimedFrame | None:
        """The next frame, or ``None`` when none arrives within ``timeout`` seconds."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def stats(self) -> ReaderStats:
        with self._lock:
            return ReaderStats(
                self.state,
                self.frames_in,
                self.dropped,
                self.reconnects,
                round(self.meter.rate(), 2),
                self.last_frame_at,
                self.last_error,
                self._queue.qsize(),
            )

    # ------------------------------------------------------------------ the reading thread
    def _run(self) -> None:
        start = self._start_time or datetime.now(UTC)
        while not self._stop.is_set():
            reason = "stream ended"
            try:
                source = self._factory(self.camera, self.options)
            except SightingsError as err:
                source, reason = None, str(err)
                if not self._live:
                    self._finish(ReaderState.FAILED, reason)
                    return
            if source is not None:
                self._source = source
                try:
                    self._pump(source, start)
                except SightingsError as err:
                    reason = str(err)
                    if not self._live:
                        self._finish(ReaderState.FAILED, reason)
                        return
                finally:
                    with contextlib.suppress(Exception):
                        source.close()
                    self._source = None
                if not self._live and not self._stop.is_set():
                    self._finish(ReaderState.ENDED, None)
                    return
            if self._stop.is_set():
                break
            delay = min(self.options.backoff_s * 2**self._attempt, self.options.max_backoff_s)
            self._attempt += 1
            with self._lock:
                self.state = ReaderState.RECONNECTING
                self.reconnects += 1
                self.last_error = reason
            log.warning(
                "camera %s (%s): %s; reconnecting in %.2fs", self.camera.id, self.camera.safe_url, reason, delay
            )
            if self._stop.wait(delay):
                break
        self._finish(ReaderState.STOPPED, None)

    def _finish(self, state: ReaderState, error: str | None) -> None:
        with self._lock:
            self.state = state
            if error is not None:
                self.last_error = error
        if state is ReaderState.FAILED:
            log.error("camera %s (%s): %s", self.camera.id, self.camera.safe_url, error)

    def _pump(self, source: FrameSource, start: datetime) -> None:
        """Move one connection's frames into the queue (the back-off restarts once frames flow)."""
        paced_from: tuple[float, float] | None = None  # (wall, t_s) of the first frame, for realtime files
        first_t: float | None = None  # stream time of this connection's first frame
        base = 0.0 if self._last_t < 0 else self._last_t + 0.04
        for decoded in source:
            if self._stop.is_set():
                break
            frame = decoded
            if self._live:  # one timeline across connections: indices and times never go back
                first_t = decoded.t_s if first_t is None else first_t
                t_s = max(base + decoded.t_s - first_t, self._last_t + 1e-6, 0.0)
                frame = Frame(decoded.media, self.frames_in, t_s, decoded.image)
                self._last_t = t_s
            now = time.monotonic()
            if self.options.realtime and not self._live:
                if paced_from is None:
                    paced_from = (now, frame.t_s)
                wait = paced_from[0] + (frame.t_s - paced_from[1]) - now
                if wait > 0 and self._stop.wait(wait):
                    break
                now = time.monotonic()
            seen = datetime.now(UTC) if self._live else start + timedelta(seconds=frame.t_s)
            with self._lock:
                self.state = ReaderState.STREAMING
                self.frames_in += 1
                self.last_frame_at = datetime.now(UTC)
            self._attempt = 0
            self.meter.tick()
            self._put(TimedFrame(frame, seen, now))

    def _put(self, item: TimedFrame) -> None:
        if not self._drop_when_busy:
            while not self._stop.is_set():
                try:
                    self._queue.put(item, timeout=0.2)
                    return
                except queue.Full:
                    continue
            return
        while True:
            try:
                self._queue.put_nowait(item)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    continue
                with self._lock:
                    self.dropped += 1
