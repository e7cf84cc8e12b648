"""Frame sampling benchmark: GOP-aware sparse sampling vs decode-every-frame, side by side.

Usage::

    python benchmarks/bench_sampling.py [--quick] [--fps 1.0]

Inputs (each run through both methods in this one process, same file, same sampling rate):

a. ``pets09/vtest.avi`` from the evaluation data (staged by ``make stage-data``; see
   ``sightings.evaluate.datasets``); skipped with a printed reason when absent.
b. A generated 10-minute 1280×720 H.264 video (25 fps, keyframe every 50 frames = 2 s, x264 ``veryfast``
   with B-frames, moving gradient + panning noise texture + moving blocks + sensor grain). It is generated
   once (a few minutes) and cached under ``benchmarks/.cache/``. ``--quick`` uses a 1-minute version instead.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = Path(__file__).resolve().parent / ".cache"

WIDTH, HEIGHT, FPS, GOP = 1280, 720, 25, 50


# --------------------------------------------------------------------------------------------- input video


def _smooth_noise(rng: np.random.Generator, height: int, width: int, cell: int) -> np.ndarray:
    """Blobby noise in [0, 1]: random values on a coarse grid, bilinearly upsampled."""
    gh, gw = height // cell + 2, width // cell + 2
    grid = rng.random((gh, gw), dtype=np.float32)
    ys = np.arange(height, dtype=np.float32) / cell
    xs = np.arange(width, dtype=np.float32) / cell
    y0, x0 = ys.astype(int), xs.astype(int)
    fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
    top = grid[y0][:, x0] * (1 - fx) + grid[y0][:, x0 + 1] * fx
    bottom = grid[y0 + 1][:, x0] * (1 - fx) + grid[y0 + 1][:, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy


def _frames(n: int, seed: int = 0) -> Iterator[np.ndarray]:
    """YUV 4:2:0 planes (stacked, shape (H*3/2, W)) of a synthetic surveillance-like scene."""
    rng = np.random.default_rng(seed)
    pan = 256
    h, w = HEIGHT, WIDTH
    # Static scene: large blobs + fine texture, wider than the frame so it can pan slowly.
    scene = 0.65 * _smooth_noise(rng, h + pan, w + pan, 96) + 0.35 * _smooth_noise(rng, h + pan, w + pan, 6)
    scene_y = (40 + 150 * scene).astype(np.int16)
    ramp = ((np.arange(w + 512) % 512) / 512.0 * 48).astype(np.int16)  # moving horizontal gradient
    grain = [rng.integers(-3, 4, size=(h, w), dtype=np.int16) for _ in range(8)]
    cu = (128 + 30 * _smooth_noise(rng, h // 2, w // 2, 64)).astype(np.uint8)
    cv = (128 - 25 * _smooth_noise(rng, h // 2, w // 2, 64)).astype(np.uint8)
    blobs = [
        (rng.uniform(0, w - 60), rng.uniform(0, h - 140), rng.uniform(-4, 4), rng.uniform(-2, 2), rng.integers(20, 235))
        for _ in range(8)
    ]
    out = np.empty((h * 3 // 2, w), np.uint8)
    for i in range(n):
        ox = int(pan / 2 + (pan / 2 - 1) * np.sin(i / 900.0))  # slow camera drift
        oy = int(pan / 2 + (pan / 2 - 1) * np.cos(i / 1300.0))
        y = scene_y[oy : oy + h, ox : ox + w] + ramp[None, (i * 2) % 512 : (i * 2) % 512 + w] + grain[i % 8]
        for bx, by, vx, vy, lum in blobs:
            x0 = int(abs((bx + vx * i) % (2 * (w - 60)) - (w - 60)))
            y0 = int(abs((by + vy * i) % (2 * (h - 140)) - (h - 140)))
            y[y0 : y0 + 140, x0 : x0 + 60] = lum
        np.clip(y, 0, 255, out=y)
        out[:h] = y
        out[h : h + h // 4] = cu.reshape(h // 4, w)
        out[h + h // 4 :] = cv.reshape(h // 4, w)
        yield out


def make_bench_video(path: Path, *, seconds: int) -> Path:
    """Encode the benchmark video (H.264, x264 veryfast, GOP 50, 3 B-frames) atomically into ``path``."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    (path.parent / ".gitignore").write_text("*\n")
    tmp = path.with_name(f".{path.name}.partial{path.suffix}")
    n = seconds * FPS
    t0 = time.perf_counter()
    with av.open(str(tmp), "w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        # Frame-threaded x264 (as the ffmpeg CLI does) writes one slice per picture, like most cameras; PyAV's
        # default (slice threads) would write several slices and flatter slice-threaded decoding.
        stream.thread_type = "FRAME"
        stream.options = {"preset": "veryfast", "g": str(GOP), "keyint_min": str(GOP), "sc_threshold": "0", "bf": "3"}
        for i, planes in enumerate(_frames(n)):
            frame = av.VideoFrame.from_ndarray(planes, format="yuv420p")
            frame.pts = i
            container.mux(stream.encode(frame))
            if i % (FPS * 30) == 0:
                print(f"  generating {path.name}: {i / FPS:.0f}/{seconds} s", file=sys.stderr, flush=True)
        container.mux(stream.encode(None))
    tmp.replace(path)
    print(f"  generated {path} in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return path


def bench_video(seconds: int) -> Path:
    path = CACHE_DIR / f"synthetic_{WIDTH}x{HEIGHT}_{FPS}fps_gop{GOP}_{seconds}s_v2.mp4"
    return path if path.exists() else make_bench_video(path, seconds=seconds)


# ------------------------------------------------------------------------------------------------ measuring


@dataclass
class Row:
    input: str
    method: str
    video_s: float
    decoded: int
    sampled: int
    seconds: float
    fingerprint: str

    @property
    def sampled_per_s(self) -> float:
        return self.sampled / self.seconds

    @property
    def x_real_time(self) -> float:
        return self.video_s / self.seconds


def _measure(label: str, method: str, run: Callable[..., Iterator], path: Path, *, video_s: float, fps: float) -> Row:
    import hashlib

    from sightings.media.sample import SamplingStats

    stats = SamplingStats()
    digest = hashlib.sha1()
    t0 = time.perf_counter()
    for frame in run(path, fps=fps, stats=stats):
        digest.update(frame.index.to_bytes(8, "little"))
        digest.update(np.ascontiguousarray(frame.image[::16, ::16]).tobytes())  # cheap pixel fingerprint
    seconds = time.perf_counter() - t0
    return Row(label, method, video_s, stats.frames_decoded, stats.frames_sampled, seconds, digest.hexdigest()[:12])


def bench_input(label: str, path: Path, *, fps: float, repeat: int) -> list[Row]:
    from functools import partial

    from sightings.media.gop_decoding import default_workers
    from sightings.media.probe import probe
    from sightings.media.sample import decode_all_frames, sample_frames

    info = probe(path)
    video_s = info.duration_s or 0.0
    workers = default_workers()
    methods: list[tuple[str, Callable[..., Iterator]]] = [
        (f"ours: GOP skip, {workers} decode threads", partial(sample_frames, workers=workers)),
        ("ours: GOP skip, 1 decode thread", partial(sample_frames, workers=1)),
        ("baseline: decode every frame (FFmpeg threads)", decode_all_frames),
    ]
    best: dict[str, Row] = {}
    for _ in range(repeat):  # interleaved, best of `repeat` (the machine is shared)
        for name, run in methods:
            row = _measure(label, name, run, path, video_s=video_s, fps=fps)
            if name not in best or row.seconds < best[name].seconds:
                best[name] = row
    rows = [best[name] for name, _ in methods]
    if len({r.fingerprint for r in rows}) != 1 or len({r.sampled for r in rows}) != 1:
        raise SystemExit(f"{label}: methods disagree on the sampled frames: {[r.fingerprint for r in rows]}")
    return rows


def _machine() -> str:
    import platform

    import av

    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 0
    ffmpeg = ".".join(map(str, av.library_versions["libavcodec"]))
    return f"{cores}-core {cpu}; Python {platform.python_version()}, PyAV {av.__version__} (libavcodec {ffmpeg})"


def print_table(rows: list[Row], fps: float) -> None:
    header = (
        f"| input | method | frames decoded | frames sampled ({fps:g}/s) | seconds | sampled frames/s "
        "| × real time | speed-up |"
    )
    print(header)
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        base = next(r for r in rows if r.input == row.input and r.method.startswith("baseline"))
        print(
            f"| {row.input} | {row.method} | {row.decoded:,} | {row.sampled:,} | {row.seconds:.2f} "
            f"| {row.sampled_per_s:.1f} | {row.x_real_time:.1f}× | {base.seconds / row.seconds:.2f}× |"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1-minute synthetic video, one run per method")
    parser.add_argument("--fps", type=float, default=1.0, help="sampling rate, frames per second (default 1)")
    parser.add_argument("--repeat", type=int, default=None, help="runs per method, best kept (default 3; quick 1)")
    args = parser.parse_args(argv)
    repeat = args.repeat or (1 if args.quick else 3)
    sys.path.insert(0, str(REPO_ROOT / "src"))

    print(f"machine: {_machine()}")
    rows: list[Row] = []
    from sightings.evaluate.datasets import shared_file

    pets = shared_file("pets09/vtest.avi")
    if pets is not None:
        rows += bench_input("PETS09 vtest.avi (768×576 MS-MPEG4v3, 10 fps, 79.5 s)", pets, fps=args.fps, repeat=repeat)
    else:
        print("skipped (a): pets09/vtest.avi not found (run `make stage-data` or set SIGHTINGS_SHARED_DATA)")
    seconds = 60 if args.quick else 600
    synthetic = bench_video(seconds)
    label = f"synthetic {seconds // 60} min 1280×720 H.264, 25 fps, GOP 50, B-frames"
    rows += bench_input(label, synthetic, fps=args.fps, repeat=repeat)
    print(f"best of {repeat} run(s) per method, interleaved; all methods returned identical frames\n")
    print_table(rows, args.fps)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
