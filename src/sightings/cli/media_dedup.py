"""``sightings media dedup``: group near-duplicate images of a folder by perceptual hash."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

import typer

from sightings.cli.common import console, echo_json, track_progress

__all__ = ["dedup"]

# Same names as sightings.media.hashing.HashMethod (kept here so that `sightings --help` imports no media code).
DedupMethod = Literal["phash", "dhash", "ahash", "whash"]


def dedup(
    folder: Path = typer.Argument(..., help="Folder of images (JPEG, PNG, WebP, BMP, GIF, TIFF; found by content)."),
    *,
    max_distance: int = typer.Option(
        8, "--max-distance", "-d", min=0, help="Largest Hamming distance in bits (of 64 at --hash-size 8) to group."
    ),
    method: DedupMethod = typer.Option("phash", "--method", "-m", help="Perceptual hash to compare."),
    hash_size: int = typer.Option(8, "--hash-size", min=2, max=64, help="Hash side: hash_size² bits per image."),
    recursive: bool = typer.Option(False, "--recursive", "-r", help="Also look in sub-folders."),
    mirror: bool = typer.Option(False, "--mirror", help="Also match left-right mirrored copies (2× the work)."),
    workers: int | None = typer.Option(None, "--workers", min=1, help="Decoding threads (default: up to 4)."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output on stdout."),
) -> None:
    """Find near-duplicate images: resized, recompressed or lightly edited copies of the same picture.

    Each image gets a perceptual hash (pHash by default); hashes at most --max-distance bits apart are grouped.
    In each group the image to keep comes first: the largest resolution, then the largest file.
    Files that look like images but cannot be read are listed with the reason; other files are skipped.
    Nothing is moved or deleted.

    Typical distances between 64-bit hashes: 0-4 the same picture re-encoded, 5-10 resized or retouched copies.
    Beyond ~12 unrelated pictures start to collide. Rotated or cropped copies are not found (--mirror finds flips).

    Examples:

        sightings media dedup photos/

        sightings media dedup photos/ --recursive --max-distance 4 --json > dups.json
    """
    from sightings.media.hashing import find_near_duplicates

    def progress(paths: Sequence[Path]) -> Iterable[Path]:
        return track_progress(paths, "hashing", total=len(paths))

    result = find_near_duplicates(
        folder,
        max_distance=max_distance,
        method=method,
        hash_size=hash_size,
        recursive=recursive,
        mirror=mirror,
        workers=workers,
        progress=progress,
    )
    if json_out:
        echo_json(
            {
                "folder": str(folder),
                "method": method,
                "hash_size": hash_size,
                "max_distance": max_distance,
                "mirror": mirror,
                **result.to_dict(),
            }
        )
        return

    from rich.table import Table

    def show(path: Path) -> str:
        try:
            shown = path.relative_to(folder).as_posix()
        except ValueError:
            return str(path)
        return str(path) if shown == "." else shown  # a single file given: its own name, not "."

    if result.groups:
        table = Table(title=f"near-duplicates in {folder} ({method}, distance ≤ {max_distance})")
        table.add_column("#", justify="right")
        table.add_column("keep", overflow="fold", style="bold")
        table.add_column("size", justify="right")
        table.add_column("near-duplicates", overflow="fold")
        for n, group in enumerate(result.groups, 1):
            width, height = result.sizes.get(group[0], (0, 0))
            table.add_row(str(n), show(group[0]), f"{width}×{height}", "\n".join(show(p) for p in group[1:]))
        console.print(table)
    if result.unreadable:
        bad = Table(title="unreadable files")
        bad.add_column("file", overflow="fold")
        bad.add_column("reason", overflow="fold")
        for path, reason in result.unreadable:
            bad.add_row(show(path), reason)
        console.print(bad)
    console.print(
        f"{result.n_images} images hashed, {len(result.groups)} groups "
        f"({result.n_duplicates} near-duplicates), {len(result.unreadable)} unreadable, "
        f"{len(result.skipped)} other files skipped",
        highlight=False,
    )
