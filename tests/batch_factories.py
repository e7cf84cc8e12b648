"""Generated batch lists for the batch-runner tests: tiny videos, some corrupt, and a fake-job fault script."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from factories import make_video, truncate_copy

PLATFORM = "yt"


@dataclass
class VideoSet:
    """A list file and which videos are good, corrupt, or scripted to fail transiently."""

    root: Path
    list_path: Path
    good: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)
    transient: dict[str, int] = field(default_factory=dict)


def make_video_set(root: Path, n: int, *, corrupt_every: int = 10, transient_every: int = 7) -> VideoSet:
    """``n`` tiny videos (64×48, 0.5 s); every ``corrupt_every``-th is truncated or garbage; every
    ``transient_every``-th good one fails its first attempt with a network error (fake job)."""
    videos = root / "videos"
    source = make_video(videos / "source.mp4", seconds=0.5, fps=10, width=64, height=48, gop=5)
    data = source.read_bytes()
    vs = VideoSet(root, root / "videos.csv")
    rows = []
    for i in range(n):
        vid = f"v{i:03d}"
        path = videos / f"{vid}.mp4"
        if i % corrupt_every == corrupt_every - 1:
            if (i // corrupt_every) % 2:
                path.write_bytes(b"this is not a video\n" * 20)
            else:
                truncate_copy(source, path, 0.4)
            vs.corrupt.append(vid)
        else:
            path.write_bytes(data)
            vs.good.append(vid)
            if i % transient_every == 3:
                vs.transient[vid] = 1
        rows.append({"path": f"videos/{vid}.mp4", "platform_id": PLATFORM, "video_id": vid, "title": f"video {i}"})
    with vs.list_path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["path", "platform_id", "video_id", "title"])
        writer.writeheader()
        writer.writerows(rows)
    return vs


def fake_config(path: Path, **options: Any) -> Path:
    path.write_text(json.dumps(options), encoding="utf-8")
    return path


def state_lines(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "state.jsonl").read_text(encoding="utf-8").splitlines() if line]
