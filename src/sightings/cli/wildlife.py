"""``sightings wildlife ...``: enrol individuals, calibrate, predict, review, drift, export.

    sightings wildlife enrol DIR|CSV --species lion [--scientific-name "Panthera leo"] [--no-calibrate] [--json]
    sightings wildlife calibrate lion
    sightings wildlife predict photo.jpg [more.jpg ...] --species lion [--json]
    sightings wildlife review PREDICTION_ID confirm|correct|reject [--individual ID] [--reviewer NAME]
    sightings wildlife drift [--species lion] [--json]
    sightings wildlife export --csv out.csv | --dwc occurrences.csv [--species lion]

The API and the /wildlife page are served by ``sightings serve``.
"""

from __future__ import annotations

from pathlib import Path

import typer

from sightings.cli.common import console, echo_json, err_console, new_typer, track_progress

__all__ = ["app"]

app = new_typer("Wildlife photo-ID: enrol individuals, predict who is in a photo, review, drift, export.")


@app.command("enrol")
def enrol(
    source: Path = typer.Argument(..., help="A folder with one sub-folder of photos per individual, or a CSV."),
    *,
    species: str = typer.Option(..., "--species", "-s", help="Species id, e.g. lion."),
    scientific_name: str | None = typer.Option(None, help="Scientific name for Darwin Core, e.g. 'Panthera leo'."),
    vernacular_name: str | None = typer.Option(None, help="Common name, e.g. lion."),
    calibrate: bool = typer.Option(True, help="Re-fit confidence and gate thresholds on the gallery afterwards."),
    quality: bool = typer.Option(True, help="Refuse photos the gate finds too small, dark, bright or blurry."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Enrol photos of individuals (no retraining); a photo that cannot be used is listed, the others go in."""
    from sightings.core.errors import InputError
    from sightings.solutions.wildlife.enrolment import enrolment_list
    from sightings.solutions.wildlife.service import WildlifeService

    pairs = enrolment_list(source)
    service = WildlifeService()
    service.add_species(species, scientific_name=scientific_name, vernacular_name=vernacular_name)
    added = duplicates = 0
    refused: list[dict[str, str]] = []
    for path, individual in track_progress(pairs, f"enrolling {species}", len(pairs), quiet=quiet):
        try:
            outcome = service.enrol(path, species=species, individual=individual, check_quality=quality)
        except InputError as err:  # named by the file: quality refusals do not name it themselves
            text = str(err)
            refused.append({"image": str(path), "error": text if str(path) in text else f"{path}: {text}"})
            continue
        added += outcome.added
        duplicates += not outcome.added
    summary: dict[str, object] = {
        "species": species,
        "images": len(pairs),
        "added": added,
        "near_duplicates": duplicates,
        "refused": refused,
        "individuals": len({i for _, i in pairs}),
    }
    if calibrate:
        cal = service.calibrate(species)
        summary["calibration"] = {
            "calibrated": cal.calibrated,
            "pairs": cal.pairs,
            "open_set_threshold": cal.open_set_threshold,
            "ood_threshold": cal.ood_threshold,
            "target_reached": cal.target_reached,
            "warning": cal.warning,
        }
    service.close()
    if json_out:
        echo_json(summary)
        return
    console.print(
        f"{species}: {added} photos added, {duplicates} near-duplicates skipped, {len(refused)} refused, "
        f"{summary['individuals']} individuals"
    )
    for item in refused:
        console.print(f"  refused {item['error']}")
    if calibrate:
        console.print(f"calibration: {summary['calibration']}")
        if cal.warning:
            err_console.print(f"warning: {species}: {cal.warning}")


@app.command("calibrate")
def calibrate(
    species: str = typer.Argument(..., help="Species id."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Re-fit confidence, open-set threshold, gate threshold and drift baseline on the gallery + reviews."""
    from dataclasses import asdict

    from sightings.solutions.wildlife.service import WildlifeService

    service = WildlifeService()
    fitted = service.calibrate(species)
    service.close()
    cal = {**asdict(fitted), "warning": fitted.warning}
    cal.pop("baseline_projection", None)
    if json_out:
        echo_json(cal)
    else:
        for key, value in cal.items():
            if key != "warning":
                console.print(f"{key}: {value}")
        if fitted.warning:
            err_console.print(f"warning: {species}: {fitted.warning}")


@app.command("reindex")
def reindex(
    species: str = typer.Argument(..., help="Species id."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Extract the re-rank's local features of every gallery photo again, then re-calibrate.

    Run it after changing `wildlife.rerank_max_side` or `rerank_octave_layers` (or upgrading from a version with
    other re-rank settings):
    the server warns at start when a gallery's local features were made with other settings."""
    from sightings.cli.common import new_progress
    from sightings.solutions.wildlife.service import WildlifeService

    service = WildlifeService()
    try:
        with new_progress(quiet=quiet) as progress:
            task = progress.add_task(f"re-extracting {species}", total=None)
            count = service.reindex(
                species, progress=lambda done, total: progress.update(task, completed=done, total=total)
            )
    finally:
        service.close()
    console.print(f"{species}: local features of {count} gallery photo(s) extracted again; calibration re-fitted")


@app.command("predict")
def predict(
    images: list[Path] = typer.Argument(..., help="Photos to identify."),
    *,
    species: str = typer.Option(..., "--species", "-s", help="Species gallery to search."),
    k: int = typer.Option(5, "--top-k", "-k", min=1, max=50, help="Candidates per photo."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output (one object per photo)."),
) -> None:
    """Who is in each photo: top-k with calibrated confidence, 'new individual?', or the gate's reason."""
    from sightings.core.errors import InputError
    from sightings.solutions.wildlife.service import WildlifeService

    service = WildlifeService()
    out: list[dict[str, object]] = []
    failed = 0
    for path in images:
        try:
            p = service.predict(path, species=species, k=k, filename=str(path), origin="cli")
        except InputError as err:
            failed += 1
            out.append({"image": str(path), "error": str(err)})
            continue
        out.append(
            {
                "image": str(path),
                "prediction_id": p.id,
                "status": p.status,
                "reason": p.reason,
                "message": p.message,
                "individual_id": p.individual_id,
                "confidence": p.confidence,
                "matches": [dict(m) for m in p.matches],
            }
        )
    service.close()
    if json_out:
        echo_json(out)
    else:
        for row in out:
            console.print(f"{row['image']}: {row.get('status', 'error')} — {row.get('message') or row.get('error')}")
            if "prediction_id" in row:  # what `sightings wildlife review` takes
                console.print(f"  prediction {row['prediction_id']}", highlight=False)
    if failed:
        raise typer.Exit(2)


@app.command("review")
def review(
    prediction_id: str = typer.Argument(..., help="Prediction id (from predict)."),
    decision: str = typer.Argument(..., help="confirm, correct or reject."),
    *,
    individual: str | None = typer.Option(None, "--individual", "-i", help="The right individual (for correct)."),
    reviewer: str | None = typer.Option(None, help="Who decides (audit log)."),
    note: str | None = typer.Option(None, help="Note for the audit log."),
) -> None:
    """Confirm or correct a prediction (the photo is enrolled), or reject it; logged in the audit log."""
    from sightings.solutions.wildlife.service import WildlifeService

    service = WildlifeService()
    rec = service.review(prediction_id, decision, individual=individual, reviewer=reviewer, note=note)
    service.close()
    console.print(f"{rec.decision}: {rec.individual_id or '-'} (agreed with the model: {rec.agreed})")


@app.command("drift")
def drift(
    species: str | None = typer.Option(None, "--species", "-s", help="One species (default: all)."),
    window: int = typer.Option(200, min=10, help="Recent predictions to look at."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Drift of recent predictions vs the calibration baseline: ok / warn / alert (exit 0 / 0 / 1)."""
    from sightings.solutions.wildlife.service import WildlifeReports, WildlifeService

    service = WildlifeService()
    names = [species] if species else [s.name for s in service.store.list_species()]
    reports = [WildlifeReports(service).drift(n, window=window).as_dict() for n in names]
    service.close()
    if json_out:
        echo_json(reports)
    else:
        for r in reports:

            def num(value: float | None) -> str:
                return "–" if value is None else f"{value:.3f}"

            console.print(
                f"{r['species']}: {r['level']} (recent {r['recent']}, rejection {num(r['rejection_rate'])}, "
                f"confidence drop {num(r['confidence_drop'])}, PSI {num(r['psi_mean'])}, KS {num(r['ks_max'])}) "
                f"{' '.join(r['notes'])}",
                highlight=False,
            )
    if any(r["level"] == "alert" for r in reports):
        raise typer.Exit(1)


@app.command("export")
def export(
    csv_out: Path | None = typer.Option(None, "--csv", help="Write every prediction (with its review) as CSV."),
    dwc_out: Path | None = typer.Option(None, "--dwc", help="Write a Darwin Core occurrence CSV (GBIF/OBIS)."),
    species: str | None = typer.Option(None, "--species", "-s", help="One species (default: all)."),
    media_base_url: str = typer.Option("", help="Public base URL of the API, for associatedMedia links."),
) -> None:
    """Export predictions as CSV and/or Darwin Core occurrences (written atomically)."""
    from sightings.core.atomic import atomic_write_bytes
    from sightings.core.errors import InputError
    from sightings.solutions.wildlife.service import WildlifeReports, WildlifeService

    if csv_out is None and dwc_out is None:
        raise InputError("give --csv FILE and/or --dwc FILE", where="export")
    service = WildlifeService()
    reports = WildlifeReports(service)
    if csv_out is not None:
        atomic_write_bytes(csv_out, reports.export_csv(species).encode())
        console.print(f"wrote {csv_out}")
    if dwc_out is not None:
        atomic_write_bytes(dwc_out, reports.export_dwc(species, media_base_url=media_base_url).encode())
        console.print(f"wrote {dwc_out}")
    service.close()
