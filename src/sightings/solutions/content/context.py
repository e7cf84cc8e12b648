"""What feature modules get: the run's options, the scan, the shots, the analysis frames, the audio (lazy)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from sightings.solutions.content.cuts import Transition
from sightings.solutions.content.scan import AnalysisFrame, VideoScan
from sightings.solutions.content.spec import ModuleSkipped

__all__ = ["AudioTrack", "ContentOptions", "ModuleContext", "Shot"]


class ContentOptions(BaseModel):
    """Options of a content run (``sightings content run``, the ``content`` batch job)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    modules: list[str] | None = Field(None, description="modules to run (default: all registered)")
    analysis_fps: float = Field(2.0, gt=0, le=60, description="uniform sampling rate of analysis frames")
    analysis_side: int = Field(320, ge=32, le=1920, description="longer side of analysis frames, px")
    workers: int = Field(2, ge=1, le=32, description="threads running modules of one video in parallel")
    audio_rate: int = Field(22050, ge=8000, le=96000, description="audio sample rate for the audio modules, Hz")
    window_s: float = Field(1.0, gt=0, description="time step of the series (energy, loudness), seconds")
    hook_s: float = Field(3.0, gt=0, description="length of the opening 'hook', seconds")
    ocr_engine: str = Field("tesseract", description="OCR engine registry name for text_scoring")
    ocr_languages: list[str] = Field(default_factory=lambda: ["eng"], description="Tesseract languages to try")
    max_ocr_frames: int = Field(6, ge=1, le=500, description="analysis frames read by OCR (spread evenly)")
    corpus_dir: str | None = Field(None, description="reference corpus folder for uniqueness (none: skipped)")
    corpus_add: bool = Field(False, description="add this video to the reference corpus after comparing")
    models_dir: str | None = Field(None, description="models folder (default: settings' models_dir)")
    scene_model: str = Field("scene.onnx", description="scene classifier ONNX file in the models dir")
    clap_model: str = Field("clap_audio.onnx", description="CLAP audio-encoder ONNX file in the models dir")
    write_frames: bool = Field(True, description="write the analysis frames (JPEG) + metadata.json to frames/")

    def hashed(self) -> dict[str, Any]:
        """The options that change outputs (hashed into config_hash); workers and write_frames do not."""
        return self.model_dump(mode="json", exclude={"workers", "write_frames"})


@dataclass(frozen=True, slots=True)
class Shot:
    """A shot: frames ``start``..``end`` (inclusive) of the video, times in seconds."""

    index: int
    start: int
    end: int
    start_s: float
    end_s: float

    @property
    def length_s(self) -> float:
        return max(0.0, self.end_s - self.start_s)


@dataclass(frozen=True, slots=True, eq=False)
class AudioTrack:
    """Decoded mono audio, float32 in [-1, 1]."""

    samples: npt.NDArray[np.float32] = field(repr=False)
    rate: int

    @property
    def duration_s(self) -> float:
        return self.samples.size / self.rate


@dataclass(slots=True, eq=False)
class ModuleContext:
    """Shared, read-only inputs of the modules of one video run (audio decoded once, on first use)."""

    video: Path
    options: ContentOptions
    scan: VideoScan
    transitions: list[Transition]
    change: npt.NDArray[np.float32]
    shots: list[Shot]
    models_dir: Path
    _audio: AudioTrack | None = None
    _audio_reason: str | None = None
    _audio_done: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def frames(self) -> list[AnalysisFrame]:
        return self.scan.frames

    def audio(self) -> AudioTrack:
        """The audio track, or :class:`ModuleSkipped` naming why there is none."""
        with self._lock:
            if not self._audio_done:
                from sightings.solutions.content.modules.audio_decode import decode_audio

                try:
                    self._audio = decode_audio(self.video, rate=self.options.audio_rate)
                except ModuleSkipped as skip:
                    self._audio_reason = str(skip)
                self._audio_done = True
        if self._audio is None:
            raise ModuleSkipped(self._audio_reason or "no audio")
        return self._audio

    def frames_in(self, shot: Shot) -> list[AnalysisFrame]:
        return [f for f in self.frames if shot.start <= f.index <= shot.end]

    def shot_frame(self, shot: Shot) -> AnalysisFrame | None:
        """One analysis frame for the shot: preferably the one kept as its shot frame, else the middle one."""
        inside = self.frames_in(shot)
        if not inside:
            return None
        marked = [f for f in inside if "shot" in f.reasons]
        return marked[0] if marked else inside[len(inside) // 2]

    def windows(self) -> npt.NDArray[np.float64]:
        """Start times of the series windows (``window_s`` apart), at least one."""
        n = max(1, int(np.ceil(self.scan.duration_s / self.options.window_s - 1e-9)))
        return np.arange(n, dtype=np.float64) * self.options.window_s
