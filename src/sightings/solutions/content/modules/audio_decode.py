"""Decode a video's audio track to mono float32 with PyAV (resampled by FFmpeg's swresample)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sightings.solutions.content.spec import ModuleSkipped

if TYPE_CHECKING:
    from sightings.solutions.content.context import AudioTrack

__all__ = ["decode_audio"]


def decode_audio(path: str | os.PathLike[str], *, rate: int = 22050) -> AudioTrack:
    """The first audio stream as mono float32 at ``rate`` Hz; :class:`ModuleSkipped` when there is none.

    Corrupt packets are skipped (the gap is dropped); a stream that yields no samples counts as no audio.
    """
    import av

    from sightings.solutions.content.context import AudioTrack

    chunks: list[np.ndarray] = []
    with av.open(str(Path(path))) as container:
        if not container.streams.audio:
            raise ModuleSkipped("no audio track")
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        demux = container.demux(stream)
        while True:
            try:
                packet = next(demux)
            except StopIteration:
                break
            except av.error.FFmpegError:
                break
            try:
                frames = packet.decode()
            except av.error.FFmpegError:
                continue
            for frame in frames:
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1))
    samples = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
    if samples.size < rate // 10:
        raise ModuleSkipped("audio track has no decodable samples (under 0.1 s)")
    return AudioTrack(np.clip(samples, -1.0, 1.0), rate)
