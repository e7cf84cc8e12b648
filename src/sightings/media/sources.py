"""Frame sources: one iterator of core :class:`~sightings.core.types.Frame` values over files, folders and live streams.

    open_source(uri, **options)                          -> FrameSource chosen by what ``uri`` is:
        a folder                                             FolderSource   images sorted by name
        an image file (by content)                           FolderSource   one frame
        any other file                                       FileSource     video, GOP-aware sampling
        rtsp:// rtsps:// rtmp:// http(s):// udp:// rtp:// srt:// tcp://   StreamSource   live, reconnecting
        file:///path                                         as the path

Every source has ``media`` (a :class:`~sightings.core.types.MediaRef`), iterates frames, and is a context
manager whose ``close()`` stops it (also from another thread, for streams). Frame indices and times only go
forward within one pass. PyAV and Pillow are imported on first use only.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Protocol, Self, runtime_checkable
from urllib.parse import urlsplit, urlunsplit
from urllib.request import url2pathname

import numpy as np

from sightings.core.errors import (
    BackendError,
    InputError,
    NotFoundError,
    SightingsError,
    UnsupportedMediaError,
)
from sightings.core.types import Frame, MediaKind, MediaRef
from sightings.media.images import list_image_files, load_image, read_exif, sniff_image_type

if TYPE_CHECKING:
    from datetime import datetime

    from av.container import InputContainer
    from av.video.frame import VideoFrame

__all__ = [
    "STREAM_SCHEMES",
    "FileSource",
    "FolderSource",
    "FrameSource",
    "StreamSource",
    "open_source",
    "redact_url",
]

log = logging.getLogger(__name__)

#: URI schemes read as live streams by :class:`StreamSource`.
STREAM_SCHEMES = frozenset({"rtsp", "rtsps", "rtmp", "rtmps", "http", "https", "udp", "rtp", "srt", "tcp"})
# Schemes where the end of the data means the connection dropped (a camera never "ends").
_LIVE_SCHEMES = frozenset({"rtsp", "rtsps", "rtmp", "rtmps", "udp", "rtp", "srt", "tcp"})


@runtime_checkable
class FrameSource(Protocol):
    """Anything that yields frames: a video file, a folder of images, a live stream."""

    @property
    def media(self) -> MediaRef: ...

    def __iter__(self) -> Iterator[Frame]: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class _Closing:
    """Context-manager plumbing shared by the sources: ``close()`` on exit, generator closed on ``close()``."""

    _gen: Iterator[Frame] | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _start(self, gen: Iterator[Frame]) -> Iterator[Frame]:
        self._close_gen()
        self._gen = gen
        return gen

    def _close_gen(self) -> None:
        gen, self._gen = self._gen, None
        if gen is not None and hasattr(gen, "close"):
            with contextlib.suppress(ValueError):  # "generator already executing": it runs in another thread
                gen.close()

    def close(self) -> None:
        self._close_gen()


# ------------------------------------------------------------------------------------------------ files


class FileSource(_Closing):
    """Frames of a video file, sampled by :func:`sightings.media.sample.sample_frames` (GOP-aware).

    ``fps`` (frames per second) or ``stride`` (every N-th frame); neither means every frame. Frame
    indices are presentation indices in the file and ``t_s`` seconds from its first frame.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        fps: float | None = None,
        stride: int | None = None,
        start_s: float = 0.0,
        end_s: float | None = None,
    ) -> None:
        if fps is not None and stride is not None:
            raise InputError("give fps or stride, not both", where="fps")
        self.path = Path(path)
        if not self.path.exists():
            raise NotFoundError("no such file", where=self.path)
        self.fps = fps
        self.stride = stride if stride is not None or fps is not None else 1
        self.start_s = start_s
        self.end_s = end_s
        self._media: MediaRef | None = None

    @property
    def media(self) -> MediaRef:
        """The video's MediaRef (from :func:`sightings.media.probe.probe` headers, read once)."""
        if self._media is None:
            from sightings.media.probe import probe

            self._media = probe(self.path).to_media_ref()
        return self._media

    def __iter__(self) -> Iterator[Frame]:
        return self._start(self._frames())

    def _frames(self) -> Iterator[Frame]:
        from sightings.media.sample import sample_frames

        frames = sample_frames(self.path, fps=self.fps, stride=self.stride, start_s=self.start_s, end_s=self.end_s)
        try:
            for frame in frames:
                if self._media is None:
                    self._media = frame.media
                yield frame
        finally:
            close = getattr(frames, "close", None)
            if close is not None:
                close()


# ---------------------------------------------------------------------------------------------- folders


def _warn_unreadable(path: Path, err: SightingsError) -> None:
    log.warning("skipping unreadable image %s: %s", path, err.reason)


class FolderSource(_Closing):
    """The images of a folder as frames, in name order (``pattern`` filters names; ``recursive`` descends).

    - ``index`` is the image's position in :attr:`files` (stable: an unreadable image leaves a gap).
    - ``t_s``: with ``time_from="auto"``, when every image has an EXIF capture time (comparable: all with
      an offset or all without), seconds since the earliest one (:attr:`start_time`), so times need not
      grow in name order; otherwise, and with ``time_from="index"``, ``index / fps``.
    - An image that cannot be read does not stop the pass: it is added to :attr:`errors` and passed to
      ``on_error(path, error)`` (default: a warning in the log), and the next image follows.
    - Files that are not images (by name and content) are listed in :attr:`skipped`.

    Raises :class:`NotFoundError` / :class:`InputError` at construction for a missing or unlistable folder.
    """

    def __init__(
        self,
        folder: str | os.PathLike[str],
        pattern: str = "*",
        recursive: bool = False,
        *,
        fps: float = 1.0,
        time_from: Literal["auto", "index"] = "auto",
        max_side: int | None = None,
        max_pixels: int | None = None,
        on_error: Callable[[Path, SightingsError], None] | None = None,
    ) -> None:
        self.folder = Path(folder)
        files, self.skipped = list_image_files(self.folder, pattern=pattern, recursive=recursive)
        self._setup(
            files=files,
            uri=str(self.folder.resolve()),
            fps=fps,
            time_from=time_from,
            max_side=max_side,
            max_pixels=max_pixels,
            on_error=on_error,
        )

    @classmethod
    def from_files(
        cls,
        files: Sequence[str | os.PathLike[str]],
        *,
        uri: str | None = None,
        fps: float = 1.0,
        time_from: Literal["auto", "index"] = "auto",
        max_side: int | None = None,
        max_pixels: int | None = None,
        on_error: Callable[[Path, SightingsError], None] | None = None,
    ) -> FolderSource:
        """A source over the given image files, in the given order (``uri`` names it; default: the first file)."""
        paths = [Path(f) for f in files]
        if not paths and uri is None:
            raise InputError("needs at least one file or a uri", where="files")
        self = cls.__new__(cls)
        self.folder = paths[0].parent if paths else Path()
        self.skipped = []
        self._setup(
            files=paths,
            uri=uri or str(paths[0].resolve()),
            fps=fps,
            time_from=time_from,
            max_side=max_side,
            max_pixels=max_pixels,
            on_error=on_error,
        )
        return self

    def _setup(
        self,
        *,
        files: list[Path],
        uri: str,
        fps: float,
        time_from: str,
        max_side: int | None,
        max_pixels: int | None,
        on_error: Callable[[Path, SightingsError], None] | None,
    ) -> None:
        if not (math.isfinite(fps) and fps > 0):
            raise InputError(f"must be > 0, got {fps}", where="fps")
        if time_from not in ("auto", "index"):
            raise InputError(f"must be 'auto' or 'index', got {time_from!r}", where="time_from")
        self.files: list[Path] = files
        self.fps = fps
        self.time_from = time_from
        self.max_side = max_side
        self.max_pixels = max_pixels
        self.on_error = on_error or _warn_unreadable
        self.errors: list[tuple[Path, str]] = []
        self.start_time: datetime | None = None
        self._media = MediaRef(uri=uri, kind=MediaKind.IMAGE, frame_count=len(files))

    @property
    def media(self) -> MediaRef:
        return self._media

    def times_s(self) -> list[float]:
        """Each file's ``t_s`` (reads EXIF headers once when ``time_from="auto"``; sets :attr:`start_time`)."""
        by_index = [i / self.fps for i in range(len(self.files))]
        if self.time_from != "auto" or not self.files:
            return by_index
        stamps: list[datetime] = []
        for path in self.files:
            try:
                stamp = read_exif(path).get("datetime_original")
            except SightingsError:
                return by_index
            if stamp is None:
                return by_index
            stamps.append(stamp)
        if len({s.tzinfo is None for s in stamps}) != 1:  # naive and aware times cannot be compared
            return by_index
        self.start_time = min(stamps)
        return [(s - self.start_time).total_seconds() for s in stamps]

    def __iter__(self) -> Iterator[Frame]:
        return self._start(self._frames())

    def _frames(self) -> Iterator[Frame]:
        self.errors = []
        times = self.times_s()
        limits: dict[str, Any] = {} if self.max_pixels is None else {"max_pixels": self.max_pixels}
        for index, (path, t_s) in enumerate(zip(self.files, times, strict=True)):
            try:
                image = load_image(path, max_side=self.max_side, **limits)
            except SightingsError as err:
                self.errors.append((path, err.reason))
                self.on_error(path, err)
                continue
            yield Frame(media=self._media, index=index, t_s=t_s, image=image)


# ---------------------------------------------------------------------------------------------- streams


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for logs, errors and MediaRef.uri)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port is not None else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _scheme(url: str) -> str:
    scheme = urlsplit(url).scheme.lower()
    return scheme if len(scheme) > 1 else ""  # "C:\\video.mp4" has no scheme


def _default_options(scheme: str, read_timeout_s: float) -> dict[str, str]:
    micros = str(round(read_timeout_s * 1_000_000))
    if scheme in ("rtsp", "rtsps"):
        return {"rtsp_transport": "tcp", "timeout": micros}
    if scheme in ("udp", "rtp"):
        return {"timeout": micros, "overrun_nonfatal": "1"}
    if scheme:
        return {"rw_timeout": micros}
    return {}


def _refused_transport(err: BaseException) -> bool:
    """An RTSP answer that refuses the request itself (400 Bad Request, 461 Unsupported Transport …), not a
    missing stream, a login failure or a network error."""
    import av

    names = ("HTTPBadRequestError", "HTTPOtherClientError")
    refused = tuple(getattr(av.error, n) for n in names if hasattr(av.error, n))
    return isinstance(err, refused) or "461" in str(err)


class _DroppedError(Exception):
    """A connection ended or failed; carries the reason."""


class StreamSource(_Closing):
    """Frames of a live stream (RTSP, RTMP, HTTP(S), UDP/RTP, SRT, TCP, or a growing file/FIFO) through PyAV.

    - ``fps``: keep at most this many frames per second of stream time (frames without timestamps
      use the wall clock); ``None`` keeps every frame.
    - Reconnects after a drop or a failed open (``reconnect=True``), waiting ``backoff_s``, then twice
      as long each time up to ``max_backoff_s``; the count resets when a frame arrives. After
      ``max_retries`` consecutive failed reconnects (``1 + max_retries`` attempts in all) it raises
      :class:`BackendError` naming the URL (password redacted).
    - Frame ``index`` counts decoded frames since the start, across reconnects; ``t_s`` is seconds of
      stream time since the start, continued across reconnects (a reconnection resumes at least as
      late as the wall-clock time elapsed), and never goes back, even when timestamps restart or wrap.
    - ``read_timeout_s`` bounds every blocking read and the open (``open_timeout_s``, default the same).
    - The end of the data stops the iteration for http(s) and files, and counts as a drop for
      rtsp/rtmp/udp/rtp/srt/tcp; ``reconnect_on_eof`` overrides that (e.g. ``True`` for an HTTP camera).

    ``options`` are passed to FFmpeg (they replace the defaults: ``rtsp_transport=tcp`` and socket timeouts). With
    the defaults, an RTSP server that refuses TCP transport (a 4xx answer to SETUP) is asked again for UDP, and
    UDP is kept for the reconnects.
    ``close()`` may be called from another thread; the reading thread stops within ``read_timeout_s``.
    """

    def __init__(
        self,
        url: str,
        *,
        fps: float | None = None,
        reconnect: bool = True,
        max_retries: int = 5,
        backoff_s: float = 0.5,
        max_backoff_s: float = 10.0,
        read_timeout_s: float = 10.0,
        open_timeout_s: float | None = None,
        reconnect_on_eof: bool | None = None,
        options: Mapping[str, str] | None = None,
        format: str | None = None,
    ) -> None:
        if not url:
            raise InputError("must not be empty", where="url")
        if fps is not None and not (math.isfinite(fps) and fps > 0):
            raise InputError(f"must be > 0, got {fps}", where="fps")
        if max_retries < 0:
            raise InputError(f"must be >= 0, got {max_retries}", where="max_retries")
        if not (backoff_s >= 0 and max_backoff_s >= 0 and read_timeout_s > 0):
            raise InputError("backoff and timeouts must be >= 0 (read timeout > 0)", where="backoff_s")
        self.url = url
        self.fps = fps
        self.reconnect = reconnect
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.read_timeout_s = read_timeout_s
        self.open_timeout_s = open_timeout_s if open_timeout_s is not None else read_timeout_s
        scheme = _scheme(url)
        self.reconnect_on_eof = reconnect_on_eof if reconnect_on_eof is not None else scheme in _LIVE_SCHEMES
        self.options = dict(options) if options is not None else _default_options(scheme, read_timeout_s)
        # RTSP over TCP by default; a server that refuses interleaved TCP (4xx at SETUP) gets UDP instead, once
        self._udp_fallback = options is None and scheme in ("rtsp", "rtsps")
        self.format = format
        self.safe_url = redact_url(url)
        self._media = MediaRef(uri=self.safe_url, kind=MediaKind.STREAM, fps=fps)
        self._stop = threading.Event()
        self._reader: int | None = None  # the thread iterating, once it has started
        # statistics, readable while iterating
        self.reconnects = 0
        self.frames_decoded = 0
        self.frames_emitted = 0
        self.bad_packets = 0
        # time keeping across connections
        self._last_t = -math.inf
        self._wall_start: float | None = None
        self._next_emit = 0.0

    @property
    def media(self) -> MediaRef:
        """The stream's MediaRef: size and frame rate once connected (``uri`` has its password redacted)."""
        return self._media

    def close(self) -> None:
        """Stop reading and release the connection.

        From another thread than the one iterating, it only asks: the reader stops at its next packet
        (within ``read_timeout_s`` when the network is silent) and releases the connection itself.
        """
        self._stop.set()
        if self._reader in (None, threading.get_ident()):
            super().close()

    def __iter__(self) -> Iterator[Frame]:
        self._stop.clear()
        self._reader = None
        return self._start(self._frames())

    # -- connection loop ---------------------------------------------------------------------------

    def _frames(self) -> Iterator[Frame]:
        import av

        self._reader = threading.get_ident()
        if self._wall_start is None:
            self._wall_start = time.monotonic()
        retries = 0  # consecutive reconnects without a frame
        while not self._stop.is_set():
            got_frame = False
            try:
                container = self._open(av)
            except _DroppedError as drop:
                reason = str(drop)
            else:
                try:
                    for frame in self._read(container):
                        got_frame = True
                        retries = 0
                        yield frame
                    reason = "stream ended"
                    if not self.reconnect_on_eof:
                        return
                except _DroppedError as drop:
                    reason = str(drop)
                finally:
                    container.close()
            if self._stop.is_set():
                return
            if not self.reconnect:
                raise BackendError(f"stream failed: {reason}", where=self.safe_url)
            retries += 1
            if retries > self.max_retries:
                what = "reconnect" if self.max_retries == 1 else "reconnects"
                raise BackendError(
                    f"stream failed, gave up after {self.max_retries} {what}: {reason}", where=self.safe_url
                )
            delay = min(self.backoff_s * 2 ** (retries - 1), self.max_backoff_s)
            log.warning(
                "stream %s: %s; reconnecting in %.2fs (attempt %d of %d)%s",
                self.safe_url,
                reason,
                delay,
                retries,
                self.max_retries,
                "" if got_frame else " (no frame on the last try)",
            )
            self.reconnects += 1
            if self._stop.wait(delay):
                return

    def _open(self, av: Any) -> InputContainer:
        try:
            container: InputContainer = av.open(
                self.url,
                format=self.format,
                options=self.options,
                timeout=(self.open_timeout_s, self.read_timeout_s),
            )
        except (av.error.ProtocolNotFoundError, av.error.DemuxerNotFoundError) as err:
            raise UnsupportedMediaError(
                f"cannot read this kind of stream: {_reason(err)}", where=self.safe_url
            ) from err
        except (av.error.FFmpegError, OSError) as err:
            if self._udp_fallback and _refused_transport(err):
                self._udp_fallback = False
                self.options["rtsp_transport"] = "udp"
                log.info("stream %s: the server refused RTSP over TCP (%s); using UDP", self.safe_url, _reason(err))
                return self._open(av)
            raise _DroppedError(f"cannot open: {_reason(err)}") from err
        if not container.streams.video:
            container.close()
            raise UnsupportedMediaError("no video stream", where=self.safe_url)
        return container

    def _read(self, container: InputContainer) -> Iterator[Frame]:
        """Decode one connection's frames until its end (returns) or a failure (raises :class:`_DroppedError`)."""
        import av

        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = float(stream.average_rate) if stream.average_rate else None
        period = 1.0 / rate if rate and rate > 0 else 0.04
        self._media = MediaRef(
            uri=self.safe_url,
            kind=MediaKind.STREAM,
            fps=self.fps or (rate if rate and math.isfinite(rate) and rate > 0 else None),
            width=stream.codec_context.width or None,
            height=stream.codec_context.height or None,
        )
        clock = _StreamClock(self, period)
        packets = container.demux(stream)
        while not self._stop.is_set():
            try:
                packet = next(packets)
            except StopIteration:
                return
            except (av.error.FFmpegError, OSError) as err:
                raise _DroppedError(f"read failed: {_reason(err)}") from err
            try:
                decoded = packet.decode()
            except av.error.InvalidDataError:
                self.bad_packets += 1
                continue
            except (av.error.FFmpegError, OSError) as err:
                raise _DroppedError(f"decode failed: {_reason(err)}") from err
            for vframe in decoded:
                frame = self._keep(vframe, clock)
                if frame is not None:
                    yield frame

    def _keep(self, vframe: VideoFrame, clock: _StreamClock) -> Frame | None:
        """Number and time a decoded frame; convert it to a Frame if the fps limit keeps it."""
        index = self.frames_decoded
        self.frames_decoded += 1
        t_s = clock.t_s(vframe.time)
        if self.fps is not None:
            if t_s + 1e-3 < self._next_emit:
                return None
            period = 1.0 / self.fps
            self._next_emit = self._next_emit + period if t_s - self._next_emit < period else t_s + period
        self.frames_emitted += 1
        image = np.asarray(vframe.to_ndarray(format="rgb24"), dtype=np.uint8)
        return Frame(media=self._media, index=index, t_s=t_s, image=image)


class _StreamClock:
    """Stream timestamps of one connection → ``t_s`` continuing the source's timeline, never going back."""

    # A timestamp jump larger than this (or any jump back) is a discontinuity: rebase on the last time.
    MAX_GAP_S = 60.0

    def __init__(self, source: StreamSource, period: float) -> None:
        self.source = source
        self.period = period
        wall = time.monotonic() - (source._wall_start or time.monotonic())
        last = source._last_t
        self.base = 0.0 if last == -math.inf else max(last + period, wall)
        self.first: float | None = None
        self.prev: float | None = None

    def t_s(self, stamp: float | None) -> float:
        src = self.source
        if stamp is None or not math.isfinite(stamp):
            t = time.monotonic() - (src._wall_start or time.monotonic())
        else:
            if self.first is None:
                self.first = stamp
            elif self.prev is not None and not 0.0 <= stamp - self.prev <= self.MAX_GAP_S:
                self.base = src._last_t + self.period
                self.first = stamp
            self.prev = stamp
            t = self.base + (stamp - self.first)
        if t <= src._last_t:
            t = src._last_t + 1e-6
        t = max(t, 0.0)
        src._last_t = t
        return t


def _reason(err: BaseException) -> str:
    """FFmpeg's short message without the URL (which may carry a password)."""
    text = getattr(err, "strerror", None)
    return str(text) if text else f"{type(err).__name__}: {err}"


# ------------------------------------------------------------------------------------------------ chooser


def open_source(uri: str | os.PathLike[str], **options: Any) -> FrameSource:
    """The right :class:`FrameSource` for ``uri`` (see the module docstring); ``options`` go to its constructor.

    Raises:
        NotFoundError: a path that does not exist.
        InputError: an unknown URI scheme, or an option the chosen source does not take.
    """
    text = os.fspath(uri)
    scheme = _scheme(text) if isinstance(uri, str) else ""
    if scheme in STREAM_SCHEMES:
        return _construct(StreamSource, text, options, text)
    if scheme == "file":
        parts = urlsplit(text)
        if parts.netloc not in ("", "localhost"):
            raise InputError("file:// URIs must name a local path", where=text)
        path = Path(url2pathname(parts.path))
    elif scheme:
        known = ", ".join(sorted(STREAM_SCHEMES | {"file"}))
        raise InputError(f"unknown URI scheme {scheme!r} (known: {known})", where=redact_url(text))
    else:
        path = Path(text)
    if path.is_dir():
        return _construct(FolderSource, path, options, text)
    if not path.exists():
        raise NotFoundError("no such file or folder", where=path)
    try:
        with path.open("rb") as fh:
            head = fh.read(1024)
    except OSError as err:
        raise InputError(f"cannot read: {err.strerror or err}", where=path) from err
    if sniff_image_type(head) is not None:
        return _construct(FolderSource.from_files, [path], options, text)
    return _construct(FileSource, path, options, text)


def _construct(factory: Callable[..., Any], first: Any, options: Mapping[str, Any], uri: str) -> FrameSource:
    params = inspect.signature(factory).parameters
    allowed = [name for name, p in list(params.items())[1:] if p.kind is not inspect.Parameter.VAR_KEYWORD]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        kind = getattr(factory, "__qualname__", str(factory)).split(".")[0]
        raise InputError(
            f"option(s) {', '.join(unknown)} do not apply to {kind} (it takes: {', '.join(allowed)})",
            where=redact_url(uri),
        )
    source: FrameSource = factory(first, **options)
    return source
