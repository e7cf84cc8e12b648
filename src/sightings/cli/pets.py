"""``sightings pets ...``: add lost/found posts, see a lost pet's matches, show a post, answer about a match.

    sightings pets add --kind lost cat1.jpg cat2.jpg --text "Пропал кот Рыжик" --where "55.75,37.62" [--json]
    sightings pets matches POST_ID [--max-km 5] [--sort distance] [--sure-only] [--json]
    sightings pets show POST_ID [--json]
    sightings pets feedback MATCH_ID mine|not_mine
    sightings pets calibrate

Everything goes through ``PetsService`` on the configured stores (the API serves the same ones: ``sightings serve``).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from sightings.cli.common import console, echo_json, new_typer

__all__ = ["app"]


WIDE_TABLE = 120
"""Terminal columns the matches table needs (a 32-character id and seven columns); narrower: one block a match."""

app = new_typer("Pets lost & found: add posts, lost↔found matches, feedback.")


def _service() -> Any:
    from sightings.solutions.pets.service import PetsService

    return PetsService()


def _when(text: str | None, option: str) -> datetime | None:
    from sightings.core.errors import InputError

    if text is None:
        return None
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"expected an ISO 8601 time, got {text!r}", where=option) from None
    from sightings.core.types import as_utc

    return as_utc(t)


@app.command("add")
def add(
    photos: list[Path] = typer.Argument(None, help="Photos of the pet (none: the post is kept, flagged no_photo)."),
    *,
    kind: str | None = typer.Option(None, "--kind", help="lost | found | adoption | other (default: from the text)."),
    text: str = typer.Option("", "--text", help="The post's text."),
    where: str | None = typer.Option(None, "--where", help="Where lost/found: 'LAT,LON' in degrees."),
    district: str | None = typer.Option(None, "--district", help="District name."),
    species: str | None = typer.Option(None, "--species", help="cat | dog (default: detector, then text)."),
    source: str = typer.Option("manual", "--source", help="vk | telegram | manual."),
    source_id: str | None = typer.Option(None, "--source-id", help="The post's id at its source (dedup key)."),
    link: str | None = typer.Option(None, "--link", help="Link to the original post."),
    posted_at: str | None = typer.Option(None, "--posted-at", help="When it was posted (ISO 8601; default: now)."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Add a post: photos checked, collages split, cats/dogs cropped, text read, dedup, matched."""
    from sightings.solutions.pets.posts import PostDraft, parse_point

    point = parse_point(where, "--where")
    draft = PostDraft(
        source=source,
        source_id=source_id,
        link=link,
        text=text,
        photos=tuple(str(p) for p in photos or ()),
        photo_names=tuple(str(p) for p in photos or ()),
        posted_at=_when(posted_at, "--posted-at"),
        kind=kind,
        species=species,
        district=district,
        lat=None if point is None else point[0],
        lon=None if point is None else point[1],
    )
    service = _service()
    try:
        out = service.add_post(draft)
    finally:
        service.close()
    post = out.post
    if json_out:
        echo_json(
            {
                "status": out.status,
                "post": asdict(post),
                "animals": [asdict(a) for a in out.animals],
                "matches": [asdict(m) for m in out.matches],
            }
        )
        return
    extra = f", copy of {post.duplicate_of} ({post.duplicate_reason})" if post.duplicate_of else ""
    console.print(f"{out.status}: post {post.id} ({post.kind}, {post.species or 'species unknown'}){extra}")
    console.print(f"  {len(out.animals)} animal crop(s); flags: {', '.join(post.flags) or 'none'}")
    for m in out.matches:
        sure = "sure" if m.sure else "not sure"
        console.print(f"  match {m.id}: {m.target_kind} {m.target_id} confidence {m.confidence:.2f} ({sure})")


@app.command("matches")
def matches(
    post_id: str = typer.Argument(..., help="A lost post's id."),
    *,
    district: str | None = typer.Option(None, "--district", help="Only candidates in this district."),
    max_km: float | None = typer.Option(None, "--max-km", min=0.001, help="Only candidates within this radius, km."),
    since: str | None = typer.Option(None, "--since", help="Only candidates since this time (ISO 8601)."),
    sort: str = typer.Option("confidence", "--sort", help="confidence | time | distance."),
    limit: int = typer.Option(20, "--limit", min=1, max=500, help="Most matches shown."),
    sure_only: bool = typer.Option(False, "--sure-only", help="Only matches at or above the precision threshold."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """The current top matches of a lost pet: found posts and camera sightings."""
    service = _service()
    try:
        views = service.lost_matches(
            post_id,
            district=district,
            max_km=max_km,
            since=_when(since, "--since"),
            sort=sort,
            limit=limit,
            sure_only=sure_only,
        )
        threshold = service.config.precision_threshold
    finally:
        service.close()
    if json_out:
        echo_json({"lost_post_id": post_id, "precision_threshold": threshold, "matches": [asdict(v) for v in views]})
        return
    from rich.table import Table

    title = f"matches of lost post {post_id} (sure at confidence >= {threshold:.2f})"
    rows = [
        (
            v.match_id,  # what `pets feedback` takes: never cut short, whatever the terminal's width
            v.target_kind,
            f"{v.confidence:.2f}",
            "yes" if v.sure else "",
            v.seen_at.isoformat(timespec="minutes"),
            "" if v.distance_from_home_km is None else f"{v.distance_from_home_km:.1f}",
            v.district or "",
            v.place or "",
        )
        for v in views
    ]
    if console.width < WIDE_TABLE:  # a narrow terminal: one block per match, nothing squeezed to "1.…"
        console.print(title, highlight=False)
        for match_id, kind, confidence, sure, seen, km, area, place in rows:
            console.print(f"{match_id}  {kind}  confidence {confidence}{'  sure' if sure else ''}", highlight=False)
            where = ", ".join(x for x in (f"{km} km" if km else "", area, place) if x)
            console.print(f"    seen {seen}" + (f"  {where}" if where else ""), highlight=False)
        return
    table = Table(title=title)
    table.add_column("match", no_wrap=True, min_width=max((len(v.match_id) for v in views), default=5))
    for col in ("kind", "confidence", "sure", "seen", "km", "district", "place"):
        table.add_column(col, no_wrap=col in ("kind", "confidence", "seen"))
    for row in rows:
        table.add_row(*row)
    console.print(table)


@app.command("show")
def show(
    post_id: str = typer.Argument(..., help="A post's id."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """A stored post: fields, flags, crops, copies linked to it."""
    service = _service()
    try:
        details = service.get_post(post_id)
    finally:
        service.close()
    if json_out:
        echo_json({**asdict(details), "animals": [asdict(a) for a in details.animals]})
        return
    post = details.post
    for key in ("id", "kind", "species", "source", "source_id", "link", "posted_at", "city", "district", "address"):
        console.print(f"{key}: {getattr(post, key)}")
    console.print(f"phones: {', '.join(post.phones) or '-'}; point: {post.lat}, {post.lon}")
    console.print(f"flags: {', '.join(post.flags) or 'none'}; privacy: {post.privacy}; photos: {post.photo_count}")
    if post.duplicate_of:
        console.print(f"copy of: {post.duplicate_of} ({post.duplicate_reason})")
    if details.duplicates:
        console.print(f"copies: {', '.join(details.duplicates)}")
    console.print(f"animal crops: {len(details.animals)}; matches: {details.match_count}")


@app.command("feedback")
def feedback(
    match_id: str = typer.Argument(..., help="A match id."),
    verdict: str = typer.Argument(..., help="mine | not_mine"),
    note: str | None = typer.Option(None, "--note", help="Free text."),
) -> None:
    """Record the owner's answer about a match."""
    service = _service()
    try:
        fb = service.add_feedback(match_id, verdict, note=note, author="cli")
    finally:
        service.close()
    console.print(f"feedback {fb.id}: match {fb.match_id} → {fb.verdict}")


@app.command("calibrate")
def calibrate(json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Refit P(same animal) on owners' answers (needs enough "mine" and "not_mine"; else the prior stays)."""
    service = _service()
    try:
        summary = service.calibrate()
    finally:
        service.close()
    if json_out:
        echo_json(summary)
    else:
        console.print(", ".join(f"{k}: {v}" for k, v in summary.items()))


def _add_watch() -> None:
    from sightings.cli.pets_watch import watch

    app.command("watch")(watch)


_add_watch()


def _add_bots() -> None:
    from sightings.cli.pets_bots import register

    register(app)


_add_bots()
