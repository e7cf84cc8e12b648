"""What to enrol from disk: a folder with one sub-folder per individual, or a CSV ``image,individual``.

    lions/train/Ayo/a.png, lions/train/Ayo/b.png, lions/train/Blackie/c.png   → folder per individual
    photos.csv: image,individual  (paths relative to the CSV; a header row is required)

Every row is checked (file exists, id valid) before anything is enrolled.
"""

from __future__ import annotations

import csv
from pathlib import Path

from sightings.core.errors import InputError, NotFoundError
from sightings.media.images import list_image_files
from sightings.solutions.wildlife.species import check_name

__all__ = ["enrolment_list"]


def _from_csv(path: Path) -> list[tuple[Path, str]]:
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames or not {"image", "individual"} <= set(reader.fieldnames):
                raise InputError("needs a header with columns image,individual", where=path)
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise InputError(f"cannot read CSV: {err}", where=path) from None
    out = []
    for line, row in enumerate(rows, start=2):
        image = (path.parent / (row.get("image") or "").strip()).resolve()
        individual = (row.get("individual") or "").strip()
        if not image.is_file():
            raise NotFoundError(f"line {line}: no such image {row.get('image')!r}", where=path)
        try:
            check_name(individual, "individual")
        except InputError as err:
            raise InputError(f"line {line}: {err.reason}", where=path) from None
        out.append((image, individual))
    return out


def enrolment_list(source: Path) -> list[tuple[Path, str]]:
    """(image path, individual id) pairs from a folder per individual or a CSV; InputError when there are none."""
    if not source.exists():
        raise NotFoundError("no such file or folder", where=source)
    if source.is_file():
        if source.suffix.lower() != ".csv":
            raise InputError(
                "give a folder with one sub-folder per individual, or a CSV image,individual", where=source
            )
        pairs = _from_csv(source)
    else:
        pairs = []
        for folder in sorted(p for p in source.iterdir() if p.is_dir() and not p.name.startswith(".")):
            try:
                individual = check_name(folder.name, "individual")
            except InputError as err:
                raise InputError(err.reason, where=folder) from None
            files, _skipped = list_image_files(folder)
            pairs += [(f, individual) for f in files]
    if not pairs:
        raise InputError("no images to enrol (expected a sub-folder of images per individual)", where=source)
    return pairs
