"""Generated edited videos with known transitions: for tests, for tuning the cut detector, for benchmarks.

    make_edited_video(path, seed=0, ...) -> EditTruth(cuts, gradual, flashes, n_frames, fps)

Each shot is a random textured scene seen by a panning/zooming camera with a moving object and sensor noise;
shots are joined by hard cuts, cross-dissolves and fades through black, and some shots hold 2-frame flashes
(brightened frames that are not transitions). Audio (optional) is a click track at a chosen tempo over a tone.
The cut detector's thresholds were tuned on these videos only — never on the evaluation videos in shared/data.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["EditTruth", "make_edited_video", "make_test_clip"]

U8 = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class EditTruth:
    """Ground truth of a generated edit, 0-based frame indices (the same layout as shared/data/cuts)."""

    cuts: list[int]
    gradual: list[tuple[int, int]]
    flashes: list[int]
    n_frames: int
    fps: float
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "cuts": self.cuts,
            "gradual": [list(g) for g in self.gradual],
            "flashes_not_cuts": self.flashes,
            "num_frames": self.n_frames,
            "fps": self.fps,
        }


class _Shot:
    """A textured scene larger than the frame, a camera path over it, and a moving disc."""

    def __init__(self, rng: np.random.Generator, width: int, height: int) -> None:
        self.w, self.h = width, height
        big_w, big_h = int(width * 1.6), int(height * 1.6)
        yy, xx = np.mgrid[0:big_h, 0:big_w].astype(np.float32)
        img = np.zeros((big_h, big_w, 3), np.float32)
        base = rng.uniform(40, 200, 3)
        img[:] = base
        for _ in range(6):  # low-frequency colour waves
            fx, fy = rng.uniform(-0.05, 0.05, 2)
            amp = rng.uniform(10, 50, 3)
            img += amp * np.sin(fx * xx + fy * yy + rng.uniform(0, 6.3))[..., None]
        for _ in range(int(rng.integers(8, 20))):  # rectangles and blobs
            x0, y0 = int(rng.integers(0, big_w - 10)), int(rng.integers(0, big_h - 10))
            rw, rh = int(rng.integers(8, big_w // 4)), int(rng.integers(8, big_h // 4))
            img[y0 : y0 + rh, x0 : x0 + rw] = rng.uniform(0, 255, 3)
        self.texture = np.clip(img, 0, 255).astype(np.uint8)
        self.big_w, self.big_h = big_w, big_h
        self.pos = np.array([rng.uniform(0, big_w - width), rng.uniform(0, big_h - height)])
        self.vel = rng.normal(0, 1.5, 2)
        self.obj = np.array([rng.uniform(0, width), rng.uniform(0, height)])
        self.obj_vel = rng.normal(0, 3.0, 2)
        self.obj_color = rng.uniform(0, 255, 3).astype(np.uint8)
        self.radius = int(rng.integers(max(4, height // 12), max(6, height // 4)))
        self.noise = float(rng.uniform(1.0, 4.0))
        self.rng = rng

    def next_frame(self) -> U8:
        self.pos = self.pos + self.vel
        for k, limit in ((0, self.big_w - self.w), (1, self.big_h - self.h)):
            if not 0 <= self.pos[k] <= limit:
                self.vel[k] = -self.vel[k]
                self.pos[k] = min(max(self.pos[k], 0), limit)
        x, y = int(self.pos[0]), int(self.pos[1])
        frame = self.texture[y : y + self.h, x : x + self.w].copy()
        self.obj = (self.obj + self.obj_vel) % np.array([self.w, self.h])
        cx, cy, r = int(self.obj[0]), int(self.obj[1]), self.radius
        y0, y1, x0, x1 = max(0, cy - r), min(self.h, cy + r), max(0, cx - r), min(self.w, cx + r)
        yy, xx = np.ogrid[y0:y1, x0:x1]
        frame[y0:y1, x0:x1][(xx - cx) ** 2 + (yy - cy) ** 2 <= r * r] = self.obj_color
        noisy = frame.astype(np.float32) + self.rng.normal(0, self.noise, frame.shape)
        return np.clip(noisy, 0, 255).astype(np.uint8)


def _blend(a: U8, b: U8, alpha: float) -> U8:
    return np.clip(a.astype(np.float32) * (1 - alpha) + b.astype(np.float32) * alpha, 0, 255).astype(np.uint8)


def _edit_frames(
    rng: np.random.Generator, n_shots: int, width: int, height: int, fps: float
) -> tuple[list[U8], EditTruth]:
    frames: list[U8] = []
    cuts: list[int] = [0]
    gradual: list[tuple[int, int]] = []
    flashes: list[int] = []
    shot = _Shot(rng, width, height)
    for s in range(n_shots):
        length = int(rng.integers(25, 110))
        flash_at = int(rng.integers(8, length - 8)) if rng.random() < 0.3 and length > 24 else -1
        for i in range(length):
            img = shot.next_frame()
            if flash_at >= 0 and flash_at <= i < flash_at + 2:
                if i == flash_at:
                    flashes.append(len(frames))
                img = np.clip(img.astype(np.float32) * 1.7 + 40, 0, 255).astype(np.uint8)
            frames.append(img)
        if s == n_shots - 1:
            break
        nxt = _Shot(rng, width, height)
        kind = rng.choice(["cut", "dissolve", "fade"], p=[0.6, 0.25, 0.15])
        if kind == "cut":
            cuts.append(len(frames))
        else:
            n = int(rng.integers(10, 25))
            start = len(frames)
            for k in range(n):
                alpha = (k + 1) / (n + 1)
                if kind == "dissolve":
                    frames.append(_blend(shot.next_frame(), nxt.next_frame(), alpha))
                else:
                    black = np.zeros((height, width, 3), np.uint8)
                    frames.append(
                        _blend(shot.next_frame(), black, alpha * 2)
                        if alpha < 0.5
                        else _blend(black, nxt.next_frame(), alpha * 2 - 1)
                    )
            gradual.append((start, len(frames) - 1))
        shot = nxt
    return frames, EditTruth(cuts, gradual, flashes, len(frames), fps)


def _encode(path: Path, frames: list[U8], fps: float, audio: npt.NDArray[np.float32] | None, sample_rate: int) -> None:
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    height, width = frames[0].shape[:2]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=round(fps))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "23"}
        astream = None
        if audio is not None:
            astream = container.add_stream("aac", rate=sample_rate, layout="mono")
        for img in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
        if astream is not None and audio is not None:
            chunk = 1024
            for start in range(0, audio.size, chunk):
                piece = audio[None, start : start + chunk].astype(np.float32)
                if piece.shape[1] < chunk:
                    piece = np.pad(piece, ((0, 0), (0, chunk - piece.shape[1])))
                frame = av.AudioFrame.from_ndarray(piece, format="fltp", layout="mono")
                frame.sample_rate = sample_rate
                frame.pts = start
                for packet in astream.encode(frame):
                    container.mux(packet)
            for packet in astream.encode():
                container.mux(packet)


def click_track(seconds: float, bpm: float, sample_rate: int = 22050, seed: int = 0) -> npt.NDArray[np.float32]:
    """A tone bed with a short click on every beat at ``bpm`` (for the tempo and loudness modules)."""
    rng = np.random.default_rng(seed)
    n = round(seconds * sample_rate)
    t = np.arange(n) / sample_rate
    y = 0.05 * np.sin(2 * np.pi * 220 * t) + 0.01 * rng.normal(size=n)
    click = np.exp(-np.arange(int(0.03 * sample_rate)) / (0.004 * sample_rate)) * rng.normal(
        size=int(0.03 * sample_rate)
    )
    for beat in np.arange(0, seconds, 60.0 / bpm):
        i = round(beat * sample_rate)
        seg = y[i : i + click.size]
        seg += 0.6 * click[: seg.size]
    return y.astype(np.float32)


def make_edited_video(
    path: str | os.PathLike[str],
    *,
    seed: int = 0,
    n_shots: int = 12,
    width: int = 320,
    height: int = 180,
    fps: float = 25.0,
    audio_bpm: float | None = None,
    sample_rate: int = 22050,
) -> EditTruth:
    """Write an edited video with hard cuts, dissolves, fades through black and flashes; return its truth."""
    rng = np.random.default_rng(seed)
    frames, truth = _edit_frames(rng, n_shots, width, height, fps)
    audio = click_track(truth.n_frames / fps, audio_bpm, sample_rate, seed) if audio_bpm else None
    _encode(Path(path), frames, fps, audio, sample_rate)
    return truth


def make_test_clip(
    path: str | os.PathLike[str],
    *,
    seconds: float = 2.0,
    width: int = 160,
    height: int = 96,
    fps: float = 25.0,
    audio_bpm: float | None = 120.0,
    seed: int = 0,
) -> EditTruth:
    """A short clip (about ``seconds`` long, 2-3 shots) with or without audio, for module tests."""
    n_frames = max(1, round(seconds * fps))
    rng = np.random.default_rng(seed)
    frames: list[U8] = []
    cuts = [0]
    shot = _Shot(rng, width, height)
    for i in range(n_frames):
        if i and i % max(8, n_frames // 3) == 0:
            shot = _Shot(rng, width, height)
            cuts.append(i)
        frames.append(shot.next_frame())
    audio = click_track(n_frames / fps, audio_bpm, 22050, seed) if audio_bpm else None
    _encode(Path(path), frames, fps, audio, 22050)
    return EditTruth(cuts, [], [], n_frames, fps)
