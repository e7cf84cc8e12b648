"""One process, several cameras: a reader and an analyser thread per camera, one poster thread to the engine API.

    reader thread (per camera)  ──bounded queue──►  analyser thread (per camera)  ──queue──►  poster thread
    decode, drop when busy,                         SSD cat/dog (every stride-th),            near-duplicates of what
    reconnect with back-off                         tracker, windows                          was sent; POST
                                                                                              /v1/pets/sightings
                                                                                              (retries when down)

Each analyser owns its detector and tracker (one TFLite interpreter is not thread-safe). The engine embeds and
matches; the watcher keeps no store of its own. :meth:`Watcher.health` gives one :class:`CameraHealth` per camera
(also served at ``/health/cameras`` when a health port is given).
"""

from __future__ import annotations

import contextlib
import io
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from sightings.core.errors import BackendError, BackendUnavailableError, ConfigError, SightingsError
from sightings.core.protocols import Detector, Tracker
from sightings.solutions.pets.watch.cameras import CameraConfig, WatchOptions
from sightings.solutions.pets.watch.health import CameraHealth, HealthServer
from sightings.solutions.pets.watch.stream import FrameReader, RateMeter, SourceFactory, open_camera
from sightings.solutions.pets.watch.windows import SentCrops, TrackWindows, WindowBest

__all__ = [
    "ApiSightingSink",
    "CameraWorker",
    "SentSighting",
    "SightingSink",
    "Watcher",
    "default_detector",
    "default_tracker",
    "encode_jpeg",
]

log = logging.getLogger(__name__)

SPECIES = {"cat": "cat", "dog": "dog"}


class SightingSink(Protocol):
    """Where the best crops go (the engine API; a list in tests). Returns how many lost pets it may be."""

    def send(self, camera: CameraConfig, best: WindowBest) -> int: ...


@dataclass(frozen=True, slots=True)
class SentSighting:
    """A sighting the poster delivered, with its timings (monotonic seconds) for latency figures."""

    camera_id: str
    best: WindowBest
    matches: int
    queued_at: float
    sent_at: float


def encode_jpeg(image: npt.NDArray[np.uint8], quality: int = 90) -> bytes:
    """An RGB crop as JPEG bytes."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


class ApiSightingSink:
    """Posts each crop to ``POST /v1/pets/sightings`` through :class:`~sightings.solutions.pets.client.PetsClient`."""

    def __init__(self, client: Any, *, jpeg_quality: int = 90) -> None:
        self.client = client
        self.jpeg_quality = jpeg_quality

    def send(self, camera: CameraConfig, best: WindowBest) -> int:
        answer = self.client.add_sighting(
            encode_jpeg(best.crop, self.jpeg_quality),
            camera_id=camera.id,
            lat=camera.lat,
            lon=camera.lon,
            seen_at=best.seen_at,
            species=SPECIES.get(best.label),
            score=min(1.0, max(0.0, best.score)),
            district=camera.district,
        )
        return len(answer.matches)


def default_detector(options: WatchOptions, models_dir: Any = None) -> Detector:
    """The SSD (or ``options.detector``) restricted to cats and dogs, whole frame unless ``options.tiles``."""
    from sightings.vision.pipeline import accepts_option, create_detector

    extra: dict[str, Any] = {}
    if models_dir is not None and accepts_option(options.detector, "models_dir"):
        extra["models_dir"] = models_dir
    threshold = options.threshold if accepts_option(options.detector, "score_threshold") else None
    return create_detector(
        options.detector, options=extra, classes=("Cat", "Dog"), threshold=threshold, tiles=options.tiles
    )


def default_tracker(options: WatchOptions) -> Tracker:
    """The video engine's tracker, activated at the detector's threshold (as in docs/tracking.md)."""
    from sightings.vision.pipeline import create_tracker, tracker_accepts_option

    wanted = {
        "track_activation_threshold": options.threshold,
        "high_conf_det_threshold": options.threshold,
        "lost_track_buffer_s": options.window_s,
    }
    tracker_options = {k: v for k, v in wanted.items() if tracker_accepts_option(options.tracker, k)}
    return create_tracker(options.tracker, options=tracker_options)


class _Poster:
    """One thread sending queued crops to the sink; retries while the engine is unreachable."""

    def __init__(self, sink: SightingSink, *, queue_size: int = 64, retries: int = 3, backoff_s: float = 0.5) -> None:
        self.sink = sink
        self.retries = retries
        self.backoff_s = backoff_s
        self._queue: queue.Queue[tuple[CameraWorker, WindowBest, float] | None] = queue.Queue(maxsize=queue_size)
        self._thread = threading.Thread(target=self._run, name="watch-poster", daemon=True)
        self._stopping = threading.Event()
        self.sent: list[SentSighting] = []
        self.on_sent: Callable[[SentSighting], None] | None = None
        self.fatal: ConfigError | None = None  # the engine refused the key: nothing will ever get through

    def start(self) -> None:
        self._thread.start()

    def submit(self, worker: CameraWorker, best: WindowBest) -> bool:
        try:
            self._queue.put_nowait((worker, best, time.monotonic()))
        except queue.Full:
            return False
        return True

    def close(self, timeout: float = 30.0) -> None:
        """Send what is queued (up to ``timeout`` seconds), then stop."""
        deadline = time.monotonic() + timeout
        self.drain(deadline)
        self._stopping.set()
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)
        self._thread.join(max(0.1, deadline - time.monotonic()))

    def drain(self, deadline: float | None) -> bool:
        """Wait until every queued crop has been judged and sent (or not) — True — or ``deadline`` (monotonic
        seconds) passed — False."""
        while self._queue.unfinished_tasks and self._thread.is_alive():
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
        return True

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                self._handle(*item)
            finally:
                self._queue.task_done()

    def _handle(self, worker: CameraWorker, best: WindowBest, queued_at: float) -> None:
        # near-duplicates are judged here, in send order, against crops that reached the engine: one that could
        # not be sent does not make the next crop of the same animal a duplicate
        code = worker.sent.code(best.crop)
        if worker.sent.is_duplicate(best, code):
            worker.duplicates_skipped += 1
            return
        matches = self._send(worker, best) if self.fatal is None else None
        if matches is None:
            return
        worker.sent.remember(best, code)
        record = SentSighting(worker.camera.id, best, matches, queued_at, time.monotonic())
        worker.sightings_sent += 1
        self.sent.append(record)
        if self.on_sent is not None:
            self.on_sent(record)

    def _send(self, worker: CameraWorker, best: WindowBest) -> int | None:
        for attempt in range(self.retries + 1):
            try:
                return self.sink.send(worker.camera, best)
            except (BackendUnavailableError, BackendError) as err:
                worker.last_error = f"engine: {err}"
                if attempt == self.retries or self._stopping.wait(self.backoff_s * 2**attempt):
                    break
            except ConfigError as err:  # a rejected API key: no crop will get through, so the watcher stops
                worker.last_error = f"engine: {err}"
                self.fatal = err
                break
            except SightingsError as err:  # the engine refused this crop: retrying will not help
                worker.last_error = f"engine: {err}"
                break
        worker.send_failures += 1
        log.warning("camera %s: sighting not sent: %s", worker.camera.id, worker.last_error)
        return None


class CameraWorker:
    """Reads and analyses one camera in two threads (see the module docs)."""

    def __init__(
        self,
        camera: CameraConfig,
        options: WatchOptions,
        poster: _Poster,
        *,
        detector_factory: Callable[[], Detector],
        tracker_factory: Callable[[], Tracker],
        source_factory: SourceFactory = open_camera,
        start_time: datetime | None = None,
    ) -> None:
        self.camera = camera
        self.options = options
        self.poster = poster
        self.reader = FrameReader(camera, options, source_factory=source_factory, start_time=start_time)
        self._detector_factory = detector_factory
        self._tracker_factory = tracker_factory
        self.windows = TrackWindows(window_s=options.window_s, min_detections=options.min_detections)
        self.sent = SentCrops(max_bits=options.dedup_bits, window_s=options.dedup_window_s)  # the poster's
        self.meter_out = RateMeter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"analyse-{camera.id}", daemon=True)
        self.frames_out = 0
        self.detections = 0
        self.windows_closed = 0
        self.sightings_sent = 0
        self.duplicates_skipped = 0
        self.send_failures = 0
        self.last_error: str | None = None
        self.crashed = False

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.reader.stop()

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def health(self) -> CameraHealth:
        r = self.reader.stats()
        state = "failed" if self.crashed else r.state.value
        return CameraHealth(
            camera_id=self.camera.id,
            url=self.camera.safe_url,
            state=state,
            fps_in=r.fps_in,
            fps_out=round(self.meter_out.rate(), 2),
            frames_in=r.frames_in,
            frames_out=self.frames_out,
            dropped=r.dropped,
            reconnects=r.reconnects,
            last_frame_at=r.last_frame_at,
            last_error=self.last_error or r.last_error,
            detections=self.detections,
            windows=self.windows_closed,
            sightings_sent=self.sightings_sent,
            duplicates_skipped=self.duplicates_skipped,
            send_failures=self.send_failures,
        )

    # ------------------------------------------------------------------ the analysing thread
    def _run(self) -> None:
        try:
            detector = self._detector_factory()
            tracker = self._tracker_factory()
            tracker.reset()
        except SightingsError as err:
            self.crashed = True
            self.last_error = str(err)
            log.error("camera %s: cannot start: %s", self.camera.id, err)
            return
        self.reader.start()
        try:
            self._loop(detector, tracker)
        except SightingsError as err:  # a backend failing mid-stream: say so in the health, stop this camera
            self.crashed = True
            self.last_error = str(err)
            log.error("camera %s: analysis stopped: %s", self.camera.id, err)
        finally:
            self.reader.stop()
            for best in self.windows.flush():
                self._emit(best)

    def _loop(self, detector: Detector, tracker: Tracker) -> None:
        stride = self.camera.stride
        while not self._stop.is_set():
            item = self.reader.get(timeout=0.2)
            if item is None:
                if self.reader.done:
                    return
                continue
            analysed = self.frames_out
            self.frames_out += 1
            self.meter_out.tick()
            tracked: list[Any] = []
            if analysed % stride == 0:
                found = detector.detect([item.frame])[0]
                animals = [d for d in found if d.label in SPECIES]
                self.detections += len(animals)
                tracked = tracker.update(item.frame, animals)
            for best in self.windows.update(item.frame, item.seen_at, tracked, read_at=item.read_at):
                self._emit(best)

    def _emit(self, best: WindowBest) -> None:
        self.windows_closed += 1
        if not self.poster.submit(self, best):
            self.send_failures += 1
            self.last_error = "the queue to the engine is full: sighting dropped"


class Watcher:
    """Watches ``cameras`` (see the module docs). ``run()`` blocks until every camera has ended (files) or until
    :meth:`stop` / Ctrl-C (live streams)."""

    def __init__(
        self,
        cameras: Sequence[CameraConfig],
        sink: SightingSink,
        options: WatchOptions | None = None,
        *,
        detector_factory: Callable[[], Detector] | None = None,
        tracker_factory: Callable[[], Tracker] | None = None,
        source_factory: SourceFactory = open_camera,
        models_dir: Any = None,
        health_port: int | None = None,
        health_host: str = "127.0.0.1",
        start_time: datetime | None = None,
        on_sent: Callable[[SentSighting], None] | None = None,
    ) -> None:
        self.options = options or WatchOptions()
        opts = self.options
        self.poster = _Poster(sink)
        self.poster.on_sent = on_sent
        make_detector = detector_factory or (lambda: default_detector(opts, models_dir))
        make_tracker = tracker_factory or (lambda: default_tracker(opts))
        self.workers = [
            CameraWorker(
                camera,
                opts,
                self.poster,
                detector_factory=make_detector,
                tracker_factory=make_tracker,
                source_factory=source_factory,
                start_time=start_time,
            )
            for camera in cameras
        ]
        self._health_server = (
            HealthServer(self.health, host=health_host, port=health_port) if health_port is not None else None
        )
        self._started = False

    @property
    def health_url(self) -> str | None:
        return None if self._health_server is None else f"{self._health_server.url}/health/cameras"

    @property
    def sent(self) -> list[SentSighting]:
        return self.poster.sent

    def health(self) -> list[CameraHealth]:
        return [w.health() for w in self.workers]

    def start(self) -> Watcher:
        if self._started:
            return self
        self._started = True
        if self._health_server is not None:
            self._health_server.start()
        self.poster.start()
        for worker in self.workers:
            worker.start()
        return self

    @property
    def fatal(self) -> ConfigError | None:
        """The engine's refusal of the API key, once it happened (the watcher then stops)."""
        return self.poster.fatal

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until every camera has finished and the poster has dealt with what they queued (True),
        ``timeout`` seconds passed (False) or the engine refused the API key (:attr:`fatal`; True)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for worker in self.workers:
            while not worker.join(0.2):
                if self.fatal is not None:
                    return True
                if deadline is not None and time.monotonic() >= deadline:
                    return False
        return self.poster.drain(deadline)  # the crops the cameras queued: judged and sent (counts final)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop reading, close the open windows, send what is queued (up to ``timeout`` s), stop the status server."""
        for worker in self.workers:
            worker.stop()
        for worker in self.workers:
            worker.join(10)
        self.poster.close(timeout)
        if self._health_server is not None:
            self._health_server.stop()

    def run(self, *, max_seconds: float | None = None) -> list[CameraHealth]:
        """Start, wait for the cameras to end (or ``max_seconds``, or Ctrl-C), stop; the final health."""
        self.start()
        try:
            self.wait(max_seconds)
        except KeyboardInterrupt:
            log.info("stopping the watcher")
        finally:
            self.stop()
        return self.health()
