"""``sightings purge`` and ``sightings repair``: privacy retention and catalog ↔ vector store consistency.

    sightings purge [--days 30] [--json]       # personal data of pets posts older than pets.personal_data_days
    sightings repair [--json]                  # orphan vectors removed, missing ones re-added (wildlife, pets)

The server does both on its own (repair when a service starts, purge then and daily); these are for cron jobs
and for after a restore.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import typer

from sightings.cli.common import echo_json

__all__ = ["purge", "repair"]


def purge(
    days: float | None = typer.Option(None, "--days", min=0.0, help="Keep this many days (default: the setting)."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Purge phones, author, text and address of pets posts older than ``pets.personal_data_days`` (default 30)."""
    from sightings.solutions.pets.retention import purge_personal_data
    from sightings.solutions.pets.service import PetsService

    service = PetsService(detector=None)
    try:
        report = purge_personal_data(service, days=days)
    finally:
        service.close()
    if json_out:
        echo_json(asdict(report))
        return
    typer.echo(
        f"purged personal data of {report.posts} post(s) and {report.feedback} feedback row(s) "
        f"taken in before {report.cutoff.isoformat(timespec='seconds')}"
    )


def _wildlife_reports() -> list[Any]:
    from sightings.identity.consistency import SpeciesGallery, repair_catalog
    from sightings.solutions.wildlife.service import WildlifeService

    service = WildlifeService(use_detector=False, use_clip=False)
    try:
        galleries = {s.name: service.species(s.name) for s in service.store.list_species()}
        return repair_catalog(service.catalog, {n: SpeciesGallery(g.matcher, g.media) for n, g in galleries.items()})
    finally:
        service.close()


def _pets_reports() -> list[Any]:
    from sightings.solutions.pets.retention import repair_pets
    from sightings.solutions.pets.service import PetsService

    service = PetsService(detector=None)
    try:
        return repair_pets(service)
    finally:
        service.close()


def repair(
    solution: str = typer.Option("all", "--solution", help="all | wildlife | pets."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Put the vector stores back in step with the catalog: orphan vectors removed, missing ones re-added."""
    from sightings.core.errors import InputError

    if solution not in ("all", "wildlife", "pets"):
        raise InputError(f"must be all, wildlife or pets, got {solution!r}", where="--solution")
    from sightings.core.config import get_settings

    settings = get_settings()

    def in_use(name: str) -> bool:  # never create a solution's stores just to find them empty
        return (settings.data_dir / name).exists() or getattr(settings, name).catalog_url is not None

    reports = []
    if solution in ("all", "wildlife") and in_use("wildlife"):
        reports += _wildlife_reports()
    if solution in ("all", "pets") and in_use("pets"):
        reports += _pets_reports()
    if json_out:
        echo_json([r.as_dict() for r in reports])
        return
    for r in reports:
        typer.echo(
            f"{r.gallery}: {r.vectors} vectors, {r.rows} rows; {len(r.orphans_removed)} orphan(s) removed, "
            f"{len(r.readded)} re-added, {len(r.lost)} lost"
        )
    if not reports:
        typer.echo("nothing to repair (no galleries)")
