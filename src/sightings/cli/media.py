"""``sightings media``: inspect and sample video files.

    sightings media probe FILE [--json]
    sightings media sample FILE (--fps F | --stride N) --out DIR [--start S] [--end S] [--format jpg|png]
                           [--jpeg-quality Q] [--overwrite] [--json] [--quiet]

Errors are raised as :class:`~sightings.core.errors.SightingsError`; the root group prints them on one line.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from sightings.cli.common import console, echo_json, new_typer, track_progress

if TYPE_CHECKING:
    from sightings.core.types import Frame

__all__ = ["app"]

app = new_typer("Inspect, sample and de-duplicate media.")


class ImageFormat(StrEnum):
    JPG = "jpg"
    PNG = "png"


def _human_size(bits_per_s: int | None) -> str:
    if not bits_per_s:
        return "unknown"
    return f"{bits_per_s / 1e6:.2f} Mbit/s" if bits_per_s >= 1e6 else f"{bits_per_s / 1e3:.0f} kbit/s"


@app.command("probe")
def probe_cmd(
    file: Path = typer.Argument(..., metavar="FILE", help="Video file to inspect."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Show a video's container, codec, size, frame rate, frame count and duration (decodes nothing)."""
    from sightings.media.probe import probe

    info = probe(file)
    if json_out:
        echo_json(info.to_dict())
        return
    from rich.table import Table

    count = "unknown" if info.frame_count is None else f"{info.frame_count}"
    if info.frame_count is not None and not info.frame_count_exact:
        count += " (estimated from duration × fps)"
    duration = "unknown" if info.duration_s is None else f"{info.duration_s:.3f} s"
    keyframes = "unknown" if info.keyframe_interval is None else f"every {info.keyframe_interval} frames"
    table = Table(title=str(file), show_header=False, title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value")
    for name, value in (
        ("container", info.container),
        ("codec", f"{info.codec} ({info.pix_fmt})" if info.pix_fmt else info.codec),
        ("size", f"{info.width} × {info.height}"),
        ("fps", f"{info.fps:.3f}".rstrip("0").rstrip(".")),
        ("frames", count),
        ("duration", duration),
        ("bit rate", _human_size(info.bit_rate)),
        ("keyframes", keyframes),
        ("audio", "yes" if info.has_audio else "no"),
    ):
        table.add_row(name, value)
    console.print(table)


@app.command("sample")
def sample_cmd(
    file: Path = typer.Argument(..., metavar="FILE", help="Video file to sample."),
    *,
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (created; must be new or empty)."),
    fps: float | None = typer.Option(None, "--fps", help="Frames per second to keep, e.g. 1 or 0.2."),
    stride: int | None = typer.Option(None, "--stride", help="Keep every N-th frame (N >= 1)."),
    start: float = typer.Option(0.0, "--start", help="Start time in seconds."),
    end: float | None = typer.Option(None, "--end", help="End time in seconds (exclusive)."),
    image_format: ImageFormat = typer.Option(ImageFormat.JPG, "--format", help="Image format of the frames."),
    jpeg_quality: int | None = typer.Option(
        None, "--jpeg-quality", min=1, max=100, help="JPEG quality (default: media.jpeg_quality, 90)."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output folder."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable summary on stdout."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar and no summary line."),
) -> None:
    """Write frames of a video as images + metadata.json, decoding only the GOPs that hold chosen frames."""
    if (fps is None) == (stride is None):
        raise typer.BadParameter("give exactly one of --fps or --stride", param_hint="'--fps' / '--stride'")
    if fps is not None and not fps > 0:
        raise typer.BadParameter(f"must be > 0, got {fps}", param_hint="'--fps'")
    if stride is not None and stride < 1:
        raise typer.BadParameter(f"must be >= 1, got {stride}", param_hint="'--stride'")
    if start < 0:
        raise typer.BadParameter(f"must be >= 0, got {start}", param_hint="'--start'")
    if end is not None and end <= start:
        raise typer.BadParameter(f"must be after --start ({start}), got {end}", param_hint="'--end'")
    if jpeg_quality is None:
        from sightings.core.config import get_settings

        jpeg_quality = int(get_settings().media.jpeg_quality)

    from sightings.media.sample import write_samples

    def show(frames: Iterator[Frame], total: int | None) -> Iterable[Frame]:
        return track_progress(frames, f"sampling {file.name}", total, quiet=quiet)

    result: dict[str, Any] = write_samples(
        file,
        out,
        fps=fps,
        stride=stride,
        start_s=start,
        end_s=end,
        image_format=image_format.value,
        jpeg_quality=jpeg_quality,
        overwrite=overwrite,
        progress=show,
    )
    if json_out:
        echo_json({k: v for k, v in result.items() if k != "frames"})
    elif not quiet:
        stats = result["stats"]
        console.print(
            f"wrote {result['count']} frames to {result['out_dir']} "
            f"(decoded {stats['frames_decoded']} of {stats['packets']} frames, {result['elapsed_s']:.1f} s)"
        )
