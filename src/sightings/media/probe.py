"""Probe a video file: what it is, how big, how long, how many frames, without decoding a picture.

    probe(path)        -> VideoInfo (frozen): container, codec, size, fps, frame count, duration, bit rate,
                          keyframe interval (when the index gives it for free), audio present
    open_video(path)   context manager yielding (container, video stream) after the same checks; used by sampling

Every bad input becomes one of our errors with ``where=path`` and a short reason, never a PyAV traceback:

    missing file                           NotFoundError
    a folder, a special file, no read permission      InputError
    empty file, not media, truncated/corrupt container, no video stream   MediaError
    a video stream FFmpeg has no decoder for                               UnsupportedMediaError

PyAV is imported on first use only.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import stat
import statistics
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sightings.core.errors import InputError, MediaError, NotFoundError, UnsupportedMediaError
from sightings.core.types import MediaKind, MediaRef

if TYPE_CHECKING:
    from av.container import InputContainer
    from av.video.stream import VideoStream

__all__ = ["VideoInfo", "open_video", "probe", "stream_duration_s", "video_info"]

_DURATION_TAG = re.compile(r"^(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$")


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """What :func:`probe` learns about a video file from its headers and index.

    ``frame_count`` comes from the container header when it has one (``frame_count_exact``), otherwise it is
    estimated as duration × fps. ``keyframe_interval`` is the median number of frames between keyframes when
    the container index lists every frame (MP4, MOV, AVI), else ``None``. ``bit_rate`` is bits per second.
    """

    path: str
    container: str
    codec: str
    width: int
    height: int
    fps: float
    frame_count: int | None
    frame_count_exact: bool
    duration_s: float | None
    bit_rate: int | None
    keyframe_interval: int | None
    has_audio: bool
    pix_fmt: str | None = None

    def to_media_ref(self) -> MediaRef:
        """The core :class:`~sightings.core.types.MediaRef` of this file (absolute path as ``uri``)."""
        return MediaRef(
            uri=str(Path(self.path).resolve()),
            kind=MediaKind.VIDEO,
            fps=self.fps,
            frame_count=self.frame_count,
            width=self.width,
            height=self.height,
            duration_s=self.duration_s,
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict of every field."""
        return asdict(self)


def _check_path(path: str | os.PathLike[str]) -> Path:
    """Fail early with a clear reason for inputs FFmpeg would report cryptically."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise NotFoundError("no such file", where=p) from None
    except PermissionError:
        raise InputError("permission denied", where=p) from None
    except OSError as err:
        raise InputError(f"cannot read file ({err.strerror or err})", where=p) from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError("is a folder, expected a video file", where=p)
    if not stat.S_ISREG(st.st_mode):
        raise InputError("not a regular file", where=p)
    if not os.access(p, os.R_OK):
        raise InputError("permission denied", where=p)
    if st.st_size == 0:
        raise MediaError("empty file (0 bytes)", where=p)
    return p


def _ffmpeg_reason(err: BaseException) -> str:
    """The short FFmpeg message ("Invalid data found when processing input"), without the file name."""
    reason = getattr(err, "strerror", None)
    return str(reason) if reason else type(err).__name__


@contextlib.contextmanager
def open_video(path: str | os.PathLike[str]) -> Iterator[tuple[InputContainer, VideoStream]]:
    """Open ``path`` with PyAV and yield ``(container, first video stream)``; closes the container on exit.

    Raises our errors (see the module docstring) for anything that is not a readable video.
    """
    p = _check_path(path)
    import av

    try:
        container = av.open(str(p), mode="r")
    except PermissionError:
        raise InputError("permission denied", where=p) from None
    except av.error.FFmpegError as err:
        raise MediaError(f"not a readable video file ({_ffmpeg_reason(err)})", where=p) from None
    except (OSError, UnicodeDecodeError) as err:
        raise MediaError(f"not a readable video file ({err})", where=p) from None
    try:
        if not container.streams.video:
            what = "audio only" if container.streams.audio else "no audio or video either"
            raise MediaError(f"no video stream ({what})", where=p)
        stream = container.streams.video[0]
        if stream.codec_context is None:
            raise UnsupportedMediaError("unsupported video codec (no decoder for it in this FFmpeg build)", where=p)
        cc = stream.codec_context
        if not cc.width or not cc.height:
            raise MediaError(f"video stream ({cc.name}) has no picture size", where=p)
        yield container, stream
    finally:
        container.close()


def _fps(stream: VideoStream) -> Fraction | None:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate is not None and rate > 0:
            return Fraction(rate)
    return None


def _tag_duration_s(stream: VideoStream) -> float | None:
    """Matroska writes a per-stream ``DURATION`` tag such as ``00:01:02.500000000``."""
    for key, value in stream.metadata.items():
        if key.upper() == "DURATION":
            match = _DURATION_TAG.match(value.strip())
            if match:
                h, m, s = match.groups()
                return int(h) * 3600 + int(m) * 60 + float(s)
    return None


def stream_duration_s(stream: VideoStream) -> float | None:
    """Duration of the video stream itself (header or tag), not of the longest stream in the file."""
    if stream.duration is not None and stream.duration > 0 and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    return _tag_duration_s(stream)


def _keyframe_interval(stream: VideoStream, frames: int) -> int | None:
    """Median frames between keyframes, read from an index that lists every frame (no packet is read)."""
    try:
        entries = stream.index_entries
        if frames < 2 or len(entries) != frames:
            return None
        keys = [i for i in range(len(entries)) if entries[i].is_keyframe]
    except (AttributeError, IndexError):  # older PyAV without index_entries
        return None
    if len(keys) < 2:
        return None
    return int(statistics.median(b - a for a, b in itertools.pairwise(keys)))


def _container_name(container: InputContainer, path: Path) -> str:
    """Short container name: the file's extension when the demuxer lists it ("mov,mp4,…" → "mp4")."""
    names = container.format.name.split(",")
    ext = path.suffix.lower().lstrip(".")
    return ext if ext in names else names[0]


def video_info(container: InputContainer, stream: VideoStream, path: str | os.PathLike[str]) -> VideoInfo:
    """Build :class:`VideoInfo` from an open container (see :func:`open_video`)."""
    p = Path(path)
    cc = stream.codec_context
    rate = _fps(stream)
    if rate is None:
        raise MediaError("video stream has no frame rate", where=p)
    fps = float(rate)
    duration_s = stream_duration_s(stream)
    if duration_s is None and container.duration and container.duration > 0:
        duration_s = container.duration / 1_000_000  # AV_TIME_BASE
    exact = bool(stream.frames and stream.frames > 0)
    frame_count: int | None
    if exact:
        frame_count = int(stream.frames)
    elif duration_s is not None:
        frame_count = round(duration_s * fps)
    else:
        frame_count = None
    if duration_s is None and frame_count is not None:
        duration_s = frame_count / fps
    bit_rate = cc.bit_rate or container.bit_rate or None
    return VideoInfo(
        path=str(p),
        container=_container_name(container, p),
        codec=cc.name,
        width=int(cc.width),
        height=int(cc.height),
        fps=fps,
        frame_count=frame_count,
        frame_count_exact=exact,
        duration_s=duration_s,
        bit_rate=int(bit_rate) if bit_rate else None,
        keyframe_interval=_keyframe_interval(stream, frame_count) if exact and frame_count else None,
        has_audio=bool(container.streams.audio),
        pix_fmt=cc.format.name if cc.format is not None else None,
    )


def probe(path: str | os.PathLike[str]) -> VideoInfo:
    """Read a video file's headers and index (no picture is decoded) into a :class:`VideoInfo`."""
    with open_video(path) as (container, stream):
        return video_info(container, stream, path)
