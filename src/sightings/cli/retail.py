"""``sightings retail ...``: seller analytics from store CCTV files.

sightings retail run DIR --store S [--day YYYY-MM-DD] [--receipts CSV] [--schedule CSV|URL] [--force] [--json]
sightings retail run --archive URL --camera ID --store S --day YYYY-MM-DD [--archive-token T] [--download-dir DIR]
sightings retail report --day YYYY-MM-DD [--store S] [--camera C] [--json]
sightings retail alerts --day YYYY-MM-DD [--store S] [--camera C] [--json]
sightings retail zones --camera ID --snapshot VIDEO|IMAGE --out zones.png [--config retail.yaml]
sightings retail export-cvat RUN_ID|tracks.parquet --format mot|cvat-xml --out F
sightings retail import-gt F --out gt.txt
sightings retail accuracy RUN_ID --gt F [--pipeline F --fps N] [--receipts CSV] [--json]
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from sightings.cli.common import console, echo_json, new_typer

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from sightings.solutions.retail.config import RetailConfig
    from sightings.solutions.retail.folder_run import RunFolderResult

__all__ = ["app"]

app = new_typer("Retail seller analytics: roles, interactions, purchases → warehouse; reports; zone checks.")

_CONFIG = typer.Option(None, "--config", help="Retail options (YAML/JSON/TOML): sampling, zones, thresholds.")
_WAREHOUSE = typer.Option(None, "--warehouse", help="chDB folder (default: config, else <data_dir>/warehouse).")


def _day(text: str | None) -> date | None:
    if text is None:
        return None
    from sightings.core.errors import InputError

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{text!r} is not a date (YYYY-MM-DD)", where="--day") from None


def _check_outbound(url: str | None, where: str) -> None:
    """The outbound-URL guard (docs/security.md): http(s) only, no private/loopback host unless configured."""
    if url:
        from sightings.core.net_guard import UrlPolicy, check_url

        check_url(url, UrlPolicy.configured(), where=where)


def _download_archive(
    *, url: str, token: str | None, camera: str, store: str, day: date, folder: Path, cfg: RetailConfig
) -> int:
    from sightings.solutions.retail.archive import ArchiveClient, download_day
    from sightings.solutions.retail.hours import parse_time_zone

    opts = cfg.archive
    with ArchiveClient(
        url, token=token or opts.token, timeout_s=opts.timeout_s, retries=opts.retries, backoff_s=opts.backoff_s
    ) as client:
        records = client.list_records(camera, day, tz=parse_time_zone(opts.time_zone))
        videos = download_day(client, records, store=store, camera=camera, folder=folder)
    typer.echo(f"archive: {len(videos)} recordings of {camera} on {day} in {folder}", err=True)
    return len(videos)


@app.command("run")
def run(
    folder: Path | None = typer.Argument(
        None, help="Folder of <store>_<camera>_<YYYYmmdd-HHMMSS><Z|±HHMM>.mp4 files (with --archive: where to save)."
    ),
    *,
    store: str = typer.Option(..., "--store", help="Store id (files of other stores are left alone)."),
    day: str | None = typer.Option(None, "--day", help="Local day of the recordings, YYYY-MM-DD (default: all)."),
    receipts: Path | None = typer.Option(None, "--receipts", help="Receipts CSV: time, amount, register."),
    schedule: str | None = typer.Option(
        None, "--schedule", help="Shift schedule: CSV file or Google Sheets CSV-export URL (default: config)."
    ),
    archive: str | None = typer.Option(
        None, "--archive", help="Camera-archive base URL: download --camera's --day first (default: config)."
    ),
    camera: str | None = typer.Option(None, "--camera", help="Camera id in the archive (with --archive)."),
    archive_token: str | None = typer.Option(
        None, "--archive-token", envvar="SIGHTINGS_RETAIL_ARCHIVE_TOKEN", help="Archive bearer token."
    ),
    force: bool = typer.Option(False, "--force", help="Re-process videos already finished with the same content."),
    update_baseline: bool = typer.Option(False, "--update-baseline", help="Make this run the cameras' drift baseline."),
    config: Path | None = _CONFIG,
    warehouse: Path | None = _WAREHOUSE,
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Process a store's videos; each video's rows replace its earlier ones (re-running never doubles).

    Videos already finished with the same file content and config are skipped (resume); --force redoes them.
    """
    from sightings.core.errors import InputError
    from sightings.solutions.retail.config import load_retail_config
    from sightings.solutions.retail.folder_run import plan_folder, run_plan
    from sightings.solutions.retail.pipeline import open_warehouse

    cfg = load_retail_config(config)
    the_day = _day(day)
    archive_url = archive or cfg.archive.url
    the_schedule = schedule or cfg.schedule
    if the_schedule is not None and "://" in str(the_schedule):
        _check_outbound(str(the_schedule), "--schedule")
    downloaded = archive is not None or (folder is None and bool(archive_url))
    if downloaded:
        if archive_url is None or camera is None or the_day is None:
            raise InputError("--archive needs --camera and --day", where="--archive")
        _check_outbound(archive_url, "--archive")
        if folder is None:
            from sightings.core.config import get_settings

            folder = get_settings().data_dir / "retail" / "archive" / store / camera / the_day.isoformat()
        _download_archive(
            url=archive_url, token=archive_token, camera=camera, store=store, day=the_day, folder=folder, cfg=cfg
        )
    if folder is None:
        raise InputError("give a video folder, or --archive URL --camera ID --day D", where="retail run")
    plan = plan_folder(  # bad input fails here, before the warehouse opens
        folder,
        store=store,
        day=the_day,
        receipts_path=receipts,
        schedule=the_schedule,
        cameras=(camera,) if downloaded and camera is not None else None,  # an archive day is one camera's
    )
    if not plan.videos and not plan.skipped and not downloaded and cfg.health.opening_hours is None:
        # nothing to do and nothing to record (with opening hours, a day without video is itself the finding)
        from sightings.core.errors import NotFoundError

        raise NotFoundError(
            f"no recordings of store {store!r}" + (f" on {the_day.isoformat()}" if the_day else "") + " here",
            where=folder,
            hint="names like store_camera_YYYYMMDD-HHMMSS+03:00.mp4 or a sidecar; docs/retail.md#input-folder",
        )
    with open_warehouse(cfg, path=warehouse) as wh:
        result = run_plan(plan, config=cfg, warehouse=wh, force=force, update_baseline=update_baseline)
    payload = {
        "videos": list(result.videos),
        "skipped": [{"path": str(s.path), "reason": s.reason} for s in result.skipped],
        "resumed": list(result.resumed),
        "failed": [{"path": p, "error": e} for p, e in result.failed],
        "gaps": [
            {"camera": g.camera, "kind": g.kind, "started_at": g.started_at.isoformat(), "duration_s": g.duration_s}
            for g in result.gaps
        ],
        "alerts": result.alerts,
        "receipts": result.receipts,
        "notes": list(result.notes),
    }
    if json_out:
        echo_json(payload)
    else:
        _print_run(result, title=f"retail run: {store} {day or ''}", scheduled=plan.shifts is not None)
    if result.failed:
        raise typer.Exit(1)


SPARSE_STEP_S = 1.0 + 1e-6
"""Analysed frames further apart than this (seconds) get a note after `retail run`: below 1 analysis fps."""


def _print_run(result: RunFolderResult, *, title: str, scheduled: bool = False) -> None:
    from rich.table import Table

    table = Table(title=title)
    columns = ("video", "tracks", "sellers", "seller by", "customers", "interactions", "successful", "ratio", "gaps")
    for col in (*columns, "alerts"):
        table.add_column(col)
    for v in result.videos:
        ratio = v["interaction_ratio"]
        table.add_row(
            Path(v["video"]).name,
            str(v["tracks"]),
            ", ".join(v["sellers"]) or "-",
            str(v.get("role_method") or "-"),
            str(v["customers"]),
            str(v["interactions"]),
            str(v["successful_interactions"]),
            "-" if ratio is None else f"{ratio:.2f}",
            str(v["gaps"]),
            str(v["alerts"]),
        )
    console.print(table)
    weak = [Path(v["video"]).name for v in result.videos if v.get("role_method") in ("longest", "none")]
    if weak:
        advice = (
            "no shift of the schedule covers their camera and time: check its store, camera and times"
            if scheduled
            else "pass --schedule"
        )
        typer.echo(
            f"note: {len(weak)} video(s) found no seller from the counter zone or a schedule, so the longest-present "
            f"track was taken (or none): check the counter zone with `sightings retail zones --snapshot`, or "
            f"{advice}. First: {weak[0]}",
            err=True,
        )
    sparse = [v for v in result.videos if v.get("step_s", 0.0) > SPARSE_STEP_S]
    if sparse:
        typer.echo(
            f"note: {len(sparse)} video(s) analysed at one frame every {max(v['step_s'] for v in sparse):g} s, below 1 "
            "analysis fps: people's identities through occlusion degrade (PETS09: 24-26 % metric error at one frame "
            f"every 2.5-3 s, 6.8 % at 1 fps; docs/retail.md). First: {Path(sparse[0]['video']).name}",
            err=True,
        )
    for s in result.skipped:
        typer.echo(f"skipped {s.path}: {s.reason}", err=True)
    for p in result.resumed:
        typer.echo(f"already done (same file and config; --force to redo) {p}", err=True)
    for g in result.gaps:
        typer.echo(f"gap {g.camera} {g.kind}: {g.started_at.isoformat()} for {g.duration_s:.0f} s", err=True)
    for note in result.notes:
        typer.echo(f"note: {note}", err=True)
    for p, e in result.failed:
        typer.echo(f"failed {p}: {e}", err=True)


@app.command("report")
def report(
    *,
    day: str = typer.Option(..., "--day", help="UTC day, YYYY-MM-DD."),
    store: str | None = typer.Option(None, "--store", help="Only this store."),
    camera: str | None = typer.Option(None, "--camera", help="Only this camera."),
    config: Path | None = _CONFIG,
    warehouse: Path | None = _WAREHOUSE,
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Day totals per seller and for the store, read from the warehouse."""
    from sightings.solutions.retail.config import load_retail_config
    from sightings.solutions.retail.pipeline import open_warehouse
    from sightings.solutions.retail.reports import read_report

    the_day = _day(day) or date.today()  # --day is required, so _day gives a date
    cfg = load_retail_config(config)
    with open_warehouse(cfg, path=warehouse) as wh:
        data = read_report(wh, day=the_day, store=store, camera=camera)
    if json_out:
        echo_json(data)
        return
    from rich.table import Table

    names = ("interactions", "successful_interactions", "served_customers", "interaction_ratio", "revenue",
             "avg_interaction_s")  # fmt: skip
    table = Table(title=f"retail report {data['day']} {store or ''} ({data['runs']} runs)")
    table.add_column("seller")
    for n in names:
        table.add_column(n)
    for seller, values in [("(store)", data["store_totals"]), *data["sellers"].items()]:
        table.add_row(seller, *(_fmt(values.get(n)) for n in names))
    console.print(table)
    totals = data["store_totals"]
    for n in ("customers", "interaction_ratio", "avg_purchase_with_consultation", "avg_purchase_without_consultation"):
        typer.echo(f"{n}: {_fmt(totals.get(n))}")
    typer.echo(f"gaps: {data['gaps']['count']} ({data['gaps']['seconds'] / 60:.1f} min without video)")
    typer.echo(f"alerts: {data['alerts']} (sightings retail alerts --day {data['day']})")


@app.command("alerts")
def alerts(
    *,
    day: str = typer.Option(..., "--day", help="UTC day, YYYY-MM-DD."),
    store: str | None = typer.Option(None, "--store", help="Only this store."),
    camera: str | None = typer.Option(None, "--camera", help="Only this camera."),
    config: Path | None = _CONFIG,
    warehouse: Path | None = _WAREHOUSE,
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Camera health and drift alerts of a day (camera off, black, frozen, empty scene, drift)."""
    from sightings.solutions.retail.config import load_retail_config
    from sightings.solutions.retail.pipeline import open_warehouse
    from sightings.solutions.retail.reports import read_alerts

    the_day = _day(day) or date.today()
    cfg = load_retail_config(config)
    with open_warehouse(cfg, path=warehouse) as wh:
        rows = read_alerts(wh, day=the_day, store=store, camera=camera)
    if json_out:
        echo_json({"day": the_day.isoformat(), "alerts": rows})
        return
    from rich.table import Table

    table = Table(title=f"retail alerts {the_day} {store or ''} ({len(rows)})")
    for col in ("time (UTC)", "store", "camera", "kind", "severity", "message"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["ts"][11:19], r["store"], r["camera"], r["kind"], r["severity"], r["message"])
    console.print(table)


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


@app.command("zones")
def zones(
    camera: str = typer.Option(..., "--camera", help="Camera id as in the config's `cameras`."),
    snapshot: Path = typer.Option(..., "--snapshot", help="A video (its first frame is used) or an image."),
    out: Path = typer.Option(Path("zones.png"), "--out", help="PNG to write."),
    config: Path | None = _CONFIG,
) -> None:
    """Draw the camera's zones over a snapshot, to check them by eye."""
    from sightings.core.errors import ConfigError
    from sightings.solutions.retail.config import load_retail_config
    from sightings.solutions.retail.zones import draw_zones

    cfg = load_retail_config(config)
    if camera not in cfg.cameras:
        known = ", ".join(sorted(cfg.cameras)) or "none"
        raise ConfigError(f"no zones for camera {camera!r}; cameras in the config: {known}", where="cameras")
    image = _snapshot(snapshot)
    drawn = draw_zones(image, cfg.cameras[camera])
    from PIL import Image

    from sightings.core.atomic import make_output_dir

    make_output_dir(out.parent)
    Image.fromarray(drawn).save(out, format="PNG")
    typer.echo(f"wrote {out} ({len(cfg.cameras[camera].zones)} zones over {snapshot.name})")


def _snapshot(path: Path) -> npt.NDArray[np.uint8]:
    from sightings.core.errors import MediaError, NotFoundError

    if not path.exists():
        raise NotFoundError("snapshot not found", where=path)
    if path.suffix.lower() in (".png", ".jpg", ".jpeg", ".bmp", ".webp"):
        import numpy
        from PIL import Image

        with Image.open(path) as img:
            return numpy.asarray(img.convert("RGB"), dtype=numpy.uint8)
    from sightings.media.sample import sample_frames

    for frame in sample_frames(path, stride=1, end_s=1.0):
        return frame.image
    raise MediaError("no frame could be decoded", where=path)


@app.command("export-cvat")
def export_cvat(
    source: str = typer.Argument(..., help="A warehouse run id (store/camera/start) or a tracks.parquet file."),
    *,
    fmt: str = typer.Option("mot", "--format", help="mot (MOT 1.1 zip) or cvat-xml (CVAT for video 1.1)."),
    out: Path = typer.Option(..., "--out", help="File to write (.zip for mot, .xml for cvat-xml)."),
    video: Path | None = typer.Option(None, "--video", help="The video, for its size and frame count (cvat-xml)."),
    config: Path | None = _CONFIG,
    warehouse: Path | None = _WAREHOUSE,
) -> None:
    """Export tracks for correction in CVAT (the ground-truth loop)."""
    from sightings.core.errors import InputError
    from sightings.solutions.retail.cvat import (
        export_cvat_xml,
        export_mot_zip,
        tracks_from_parquet,
        tracks_from_warehouse,
    )

    if fmt not in ("mot", "cvat-xml"):
        raise InputError(f"unknown format {fmt!r}; use mot or cvat-xml", where="--format")
    if source.lower().endswith(".parquet"):
        data = tracks_from_parquet(Path(source))
    else:
        from sightings.solutions.retail.config import load_retail_config
        from sightings.solutions.retail.pipeline import open_warehouse

        with open_warehouse(load_retail_config(config), path=warehouse) as wh:
            data = tracks_from_warehouse(wh, source)
    if fmt == "mot":
        export_mot_zip(data, out)
    else:
        width = height = frames = None
        if video is not None:
            from sightings.media.probe import probe

            info = probe(video)
            width, height, frames = info.width, info.height, info.frame_count
        export_cvat_xml(data, out, width=width, height=height, frames=frames)
    typer.echo(f"wrote {out} ({len(data)} boxes, {len(set(data.id.tolist()))} tracks, {fmt})")


@app.command("import-gt")
def import_gt(
    annotations: Path = typer.Argument(..., help="CVAT export: MOT 1.1 zip or CVAT for video 1.1 XML."),
    out: Path = typer.Option(Path("gt.txt"), "--out", help="MOT ground-truth file to write."),
    keyframes_only: bool = typer.Option(False, "--keyframes-only", help="CVAT XML: keep only keyframe boxes."),
) -> None:
    """Import corrected tracks from CVAT as MOT ground truth (for `sightings eval track`)."""
    from sightings.evaluate.mot_io import write_mot
    from sightings.solutions.retail.cvat import import_ground_truth

    data = import_ground_truth(annotations, keyframes_only=keyframes_only)
    write_mot(out, data)
    typer.echo(f"wrote {out} ({len(data)} boxes, {len(set(data.id.tolist()))} tracks)")


def _error_split(total: float | None, boxes: float | None) -> str:
    """One line: the deviation with the corrected identities on the run's own boxes, against the run's own."""
    if boxes is None:
        return "with the corrected identities: n/a (no box of the run overlaps the ground truth: same video, frames?)"
    line = f"with the corrected identities on the run's own boxes: {boxes:.1f} %"
    if total is None or abs(total - boxes) < 0.05:
        return line + " (the run's identities cost nothing here)"
    if boxes < total:
        return line + f"; the other {total - boxes:.1f} points come from the run's identities (switches, split people)"
    return line + " (higher: the run's own tracks make up for boxes it missed, e.g. gaps filled across occlusions)"


@app.command("accuracy")
def accuracy(
    run_id: str = typer.Argument(..., help="The warehouse run id (store/camera/start) whose tracks were corrected."),
    *,
    gt: Path = typer.Option(
        ..., "--gt", help="The corrected tracks: CVAT for video 1.1 XML, MOT 1.1 zip, or a MOT gt.txt (import-gt)."
    ),
    pipeline: Path | None = typer.Option(
        None,
        "--pipeline",
        help="The run's tracks as exported (export-cvat file or tracks.parquet) when the "
        "warehouse no longer keeps them (raw tracks live 3 days); needs --fps.",
    ),
    fps: float | None = typer.Option(None, "--fps", help="The video's frame rate (default: from the run's tracks)."),
    receipts: Path | None = typer.Option(
        None, "--receipts", help="Receipts CSV (default: the store's receipts in the warehouse for the run's time)."
    ),
    config: Path | None = _CONFIG,
    warehouse: Path | None = _WAREHOUSE,
    goal: float = typer.Option(5.0, "--goal", min=0, help="The mean |deviation| (%) the run should stay within."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Each store metric from hand-corrected tracks and from the run's own, and the deviation in % (the ≤ 5 % goal)."""
    from sightings.core.errors import InputError
    from sightings.solutions.retail.accuracy import (
        compare_tracks,
        points_from_mot,
        read_run,
        receipt_span,
        run_points,
        run_receipts,
    )
    from sightings.solutions.retail.config import load_retail_config
    from sightings.solutions.retail.cvat import read_tracks_file
    from sightings.solutions.retail.pipeline import inputs_hash, open_warehouse
    from sightings.solutions.retail.purchases import read_receipts
    from sightings.solutions.retail.schedule import read_schedule

    cfg = load_retail_config(config)
    shifts = read_schedule(cfg.schedule) if cfg.schedule else None  # the sellers named as in the run
    truth_data = read_tracks_file(gt)
    with open_warehouse(cfg, path=warehouse) as wh:
        run = read_run(wh, run_id)
        if pipeline is None:
            ours, seen_fps = run_points(wh, run_id)
        else:
            if fps is None:
                raise InputError("--pipeline needs --fps (the video's frame rate)", where="--fps")
            ours, seen_fps = points_from_mot(read_tracks_file(pipeline), fps=fps), fps
        margin = max(cfg.purchases.window_before_s, cfg.purchases.window_after_s)
        stored = run_receipts(wh, run, margin_s=margin)
        if receipts is None:
            bought = stored
        else:  # the file's receipts the run's span can join (others would only inflate the count)
            start, end = receipt_span(run, margin_s=margin)
            bought = [r for r in read_receipts(receipts) if start <= r.ts <= end]
    rate = fps or seen_fps
    if rate is None:
        raise InputError("cannot tell the video's frame rate from the run's tracks; give --fps", where="--fps")
    report = compare_tracks(
        ours,
        points_from_mot(truth_data, fps=rate),
        video=run.video_file,
        duration_s=run.duration_s,
        config=cfg,
        receipts=bought,
        shifts=shifts,
        pipeline_step_s=1.0 / run.analysis_fps if run.analysis_fps > 0 else None,
    )
    # the run's resume key folds in the receipts and schedule it joined (inputs_hash)
    same_config = run.config_hash in (cfg.analysis_hash(), inputs_hash(cfg.analysis_hash(), stored, shifts))
    mean = report.mean_abs_deviation
    met = None if mean is None else mean <= goal
    if json_out:
        echo_json(
            {
                "run_id": run_id,
                **report.as_dict(),
                "goal_pct": goal,
                "goal_met": met,
                "receipts": len(bought),
                "same_config": same_config,
            }
        )
        return
    from rich.table import Table

    table = Table(title=f"retail accuracy: {run_id} vs {gt.name}")
    for column in ("metric", "ground truth", "pipeline", "deviation %", "with corrected ids, %"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    fixed = report.true_identities_deviation_pct
    for name, row in report.as_dict()["metrics"].items():
        dev, dev_fixed = row["deviation_pct"], fixed.get(name)
        cells = ["n/a" if d is None else f"{d:+.1f}" for d in (dev, dev_fixed)]
        table.add_row(name, _fmt(row["ground_truth"]), _fmt(row["pipeline"]), *cells)
    console.print(table)
    verdict = "n/a" if met is None else ("met" if met else "not met")
    typer.echo(
        f"mean |deviation|: {'n/a' if mean is None else f'{mean:.1f} %'} (goal ≤ {goal:g} %: {verdict}); "
        f"receipts: {len(bought)}"
    )
    typer.echo(_error_split(mean, report.true_identities_deviation))
    typer.echo(f"sellers: ground truth {list(report.sellers[0])}, pipeline {list(report.sellers[1])}")
    if not same_config:
        typer.echo("note: this config is not the one the run used (its analysis hash differs); the metrics may differ")
