"""Catalog ↔ vector store consistency: the repair run on start (and by ``sightings repair``).

An enrolment writes the vector first, then the files, then the catalog row; a deletion removes the row first,
then the vector. A crash between the two steps leaves either a vector no row points to (an *orphan*: removed,
with its files) or — after a restore or a lost vector store — a row whose vector is missing (*re-added* from the
photo kept on disk, or reported as *lost* when none was kept, e.g. privacy mode). Either way the next start puts
the two back in step::

    report = repair_gallery(matcher, expected, image_of=lambda eid: ..., remove_files=lambda eid: ...)
    report = repair_catalog(catalog, {"lion": SpeciesGallery(matcher, media_dir)})      # wildlife galleries

``crash_point(name)`` is the test hook between two writes: it ends the process at once (``os._exit``) when
``$SIGHTINGS_TEST_CRASH_AT`` names that point, and does nothing otherwise.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sightings.core.errors import BackendUnavailableError

__all__ = ["CRASH_ENV", "RepairReport", "SpeciesGallery", "crash_point", "repair_catalog", "repair_gallery"]

log = logging.getLogger(__name__)

CRASH_ENV = "SIGHTINGS_TEST_CRASH_AT"
CRASH_EXIT_CODE = 86


def crash_point(name: str) -> None:
    """Die here, without cleanup, when the crash test asks for this point (``$SIGHTINGS_TEST_CRASH_AT``)."""
    if os.environ.get(CRASH_ENV) == name:
        os._exit(CRASH_EXIT_CODE)


@dataclass(frozen=True, slots=True)
class RepairReport:
    """What a repair of one gallery did."""

    gallery: str
    vectors: int  # in the store before the repair
    rows: int  # the catalog rows that should have a vector
    orphans_removed: tuple[str, ...] = ()
    readded: tuple[str, ...] = ()
    lost: tuple[str, ...] = ()  # rows whose vector is gone and cannot be rebuilt (no photo kept)

    @property
    def changed(self) -> bool:
        return bool(self.orphans_removed or self.readded)

    def as_dict(self) -> dict[str, Any]:
        return {
            "gallery": self.gallery,
            "vectors": self.vectors,
            "rows": self.rows,
            "orphans_removed": list(self.orphans_removed),
            "readded": list(self.readded),
            "lost": list(self.lost),
        }


def stored_ids(gallery: Any) -> set[str]:
    """Every id in a vector store (its ``ids()``)."""
    ids = getattr(gallery, "ids", None)
    if ids is None:
        raise BackendUnavailableError(f"{type(gallery).__name__} cannot list its ids", where="repair")
    return set(ids())


def repair_gallery(
    matcher: Any,
    expected: Mapping[str, Mapping[str, Any]],
    *,
    name: str,
    image_of: Callable[[str], npt.NDArray[np.uint8] | None],
    remove_files: Callable[[str], None] | None = None,
) -> RepairReport:
    """Make ``matcher.gallery`` hold exactly the ids of ``expected`` (id → vector metadata, with ``identity``).

    Orphan vectors are forgotten (vector and local features; ``remove_files`` deletes the photo); a missing
    vector is rebuilt from ``image_of(id)`` when it returns the photo, else reported as lost."""
    present = stored_ids(matcher.gallery)
    orphans = sorted(present - set(expected))
    if orphans:
        matcher.forget(orphans)
        for eid in orphans:
            if remove_files is not None:
                remove_files(eid)
    readded: list[str] = []
    lost: list[str] = []
    for eid in sorted(set(expected) - present):
        image = image_of(eid)
        if image is None:
            lost.append(eid)
            continue
        vector = np.asarray(matcher.embedder.embed([image]), np.float32)
        if matcher.local_matcher is not None and matcher.local_store is not None:
            matcher.local_store.put(eid, matcher.local_matcher.extract(image))
        matcher.gallery.upsert([eid], vector, [dict(expected[eid])])
        readded.append(eid)
    report = RepairReport(name, len(present), len(expected), tuple(orphans), tuple(readded), tuple(lost))
    if report.changed or lost:
        log.warning(
            "repair of gallery %s: %d orphan vector(s) removed, %d re-added, %d lost",
            name,
            len(orphans),
            len(readded),
            len(lost),
        )
    return report


def read_photo(path: Path) -> npt.NDArray[np.uint8] | None:
    """An RGB photo kept on disk, or ``None`` when it is not there or unreadable."""
    if not path.is_file():
        return None
    try:
        from PIL import Image

        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"), np.uint8)
    except (OSError, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class SpeciesGallery:
    """One species' gallery: its matcher and the folder of enrolled photos (``<embedding_id>.png``)."""

    matcher: Any
    media: Path


def repair_catalog(catalog: Any, galleries: Mapping[str, SpeciesGallery]) -> list[RepairReport]:
    """Repair each species gallery against the catalog's sightings of that species."""
    reports = []
    for species, gallery in galleries.items():
        expected = {
            s.embedding_id: {"species": species, "identity": s.identity_id}
            for s in catalog.find_sightings(species=species)
            if s.identity_id
        }
        media = gallery.media

        def remove(eid: str, media: Path = media) -> None:
            (media / f"{eid}.png").unlink(missing_ok=True)

        def image_of(eid: str, media: Path = media) -> npt.NDArray[np.uint8] | None:
            return read_photo(media / f"{eid}.png")

        reports.append(repair_gallery(gallery.matcher, expected, name=species, image_of=image_of, remove_files=remove))
    return reports
