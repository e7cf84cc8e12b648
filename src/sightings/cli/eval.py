"""``sightings eval``: score trackers and detectors against ground truth (MOT Challenge text files).

    sightings eval tracking --gt GT.txt --pred PRED.txt [--iou 0.5] [--keep-zero-marked] [--json]
    sightings eval detection --gt GT.txt --pred PRED.txt [--drop-zero-marked] [--json]
    sightings eval reid DATASET [--embedder NAME] [--seed 0] [--out DIR] [--json]   (in cli/identity.py)

Metric libraries load inside the commands (the ``eval`` extra), so ``sightings --help`` stays fast. Errors
are raised as :class:`~sightings.core.errors.SightingsError`; the root group prints them on one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from sightings.cli.common import console, echo_json, err_console, new_typer

if TYPE_CHECKING:
    from sightings.evaluate.mot_io import MotData

__all__ = ["app"]

app = new_typer("Evaluate trackers, detectors and re-identification against ground truth.")

_GT_HELP = "Ground truth, MOT Challenge format (frame,id,x,y,w,h,conf,class,visibility)."


def _ratio(v: float) -> str:
    return f"{v:.3f}"


def _read(path: Path) -> MotData:
    """Read a MOT file, noting on stderr when it has no rows (valid: a tracker that found nothing)."""
    from sightings.evaluate.mot_io import read_mot

    data = read_mot(path)
    if data.is_empty:
        err_console.print(f"note: {path} has no rows")
    return data


@app.command("tracking")
def tracking_cmd(
    *,
    gt: Path = typer.Option(..., "--gt", help=_GT_HELP),
    pred: Path = typer.Option(..., "--pred", help="Tracker output, MOT Challenge format (frame,id,x,y,w,h,score,…)."),
    iou: float = typer.Option(0.5, "--iou", help="IoU a match needs for MOTA/IDF1 (HOTA averages 0.05…0.95)."),
    keep_zero_marked: bool = typer.Option(
        False, "--keep-zero-marked", help="Keep ground-truth rows with conf 0 (dropped by default, as MOT tools do)."
    ),
    stride: int | None = typer.Option(
        None,
        "--stride",
        min=1,
        help="Score the ground truth only on every N-th frame, from the predictions' first (a `track --stride N` "
        "run). Default: the predictions' own frame spacing, said in a note; 1 = every frame.",
    ),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """HOTA, DetA, AssA, LocA (TrackEval) and MOTA, MOTP, IDF1, ID switches … (py-motmetrics) of one sequence."""
    from sightings.core.errors import InputError
    from sightings.evaluate.tracking import evaluate_tracking, frame_spacing

    if not 0.0 < iou <= 1.0:
        raise InputError(f"must be in (0, 1], got {iou:g}", where="--iou")
    gt_data, pred_data = _read(gt), _read(pred)
    step = stride if stride is not None else frame_spacing(pred_data)
    if step > 1 and not pred_data.is_empty:
        first = int(pred_data.frame.min())
        kept = (gt_data.frame - first) % step == 0
        if stride is None:
            typer.echo(
                f"note: predictions lie on one frame in {step} (frames {first}, {first + step}, …); the ground truth "
                f"is scored on those frames ({int(kept.sum())} of {len(gt_data)} boxes). --stride 1 scores every frame",
                err=True,
            )
        gt_data = gt_data.select(kept)
    if not gt_data.is_empty and not pred_data.is_empty and int(pred_data.frame.max()) > int(gt_data.frame.max()):
        typer.echo(
            f"note: predictions run to frame {int(pred_data.frame.max())} but ground truth stops at frame "
            f"{int(gt_data.frame.max())}; boxes after it count as false positives",
            err=True,
        )
    report = evaluate_tracking(gt_data, pred_data, iou_threshold=iou, drop_zero_marked_gt=not keep_zero_marked)
    if json_out:
        echo_json({"gt": str(gt), "pred": str(pred), **report.to_dict()})
        return
    from rich.table import Table

    r = report
    rows: list[tuple[str, str, str]] = [
        ("HOTA", _ratio(r.hota), "√(DetA·AssA), mean over α 0.05…0.95"),
        ("DetA", _ratio(r.deta), f"DetRe {r.detre:.3f} · DetPr {r.detpr:.3f}"),
        ("AssA", _ratio(r.assa), f"AssRe {r.assre:.3f} · AssPr {r.asspr:.3f}"),
        ("LocA", _ratio(r.loca), "mean IoU of HOTA matches"),
        ("MOTA", _ratio(r.mota), f"1 − (FN+FP+IDsw)/GT, IoU ≥ {r.iou_threshold:g}"),
        ("MOTP", _ratio(r.motp), "mean IoU of matches"),
        ("IDF1", _ratio(r.idf1), f"IDP {r.idp:.3f} · IDR {r.idr:.3f}"),
        ("ID switches", str(r.num_switches), ""),
        ("fragmentations", str(r.num_fragmentations), ""),
        ("recall", _ratio(r.recall), ""),
        ("precision", _ratio(r.precision), ""),
        ("false positives", str(r.num_false_positives), ""),
        ("misses (FN)", str(r.num_misses), ""),
        (
            "MT / PT / ML",
            f"{r.mostly_tracked} / {r.partially_tracked} / {r.mostly_lost}",
            "mostly / partly tracked, lost",
        ),
        ("GT / pred ids", f"{r.num_gt_ids} / {r.num_pred_ids}", ""),
        ("GT / pred boxes", f"{r.num_gt_dets} / {r.num_pred_dets}", f"{r.num_gt_ignored} GT boxes ignored (conf 0)"),
        ("frames", str(r.num_frames), ""),
    ]
    table = Table(title=f"tracking: {pred} vs {gt}", title_justify="left")
    table.add_column("metric", style="bold")
    table.add_column("value", justify="right")
    table.add_column("meaning", style="dim")
    for row in rows:
        table.add_row(*row)
    console.print(table)


@app.command("detection")
def detection_cmd(
    gt: Path = typer.Option(..., "--gt", help=_GT_HELP),
    pred: Path = typer.Option(
        ..., "--pred", help="Detections, MOT format (frame,id,x,y,w,h,score[,class]); id unused."
    ),
    drop_zero_marked: bool = typer.Option(
        False, "--drop-zero-marked", help="Drop ground-truth rows with conf 0 instead of treating them as crowd."
    ),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """COCO-style AP@0.5, AP@0.75 and mAP@0.5:0.95 (pycocotools), each frame an image."""
    from sightings.evaluate.detection import evaluate_detection

    report = evaluate_detection(_read(gt), _read(pred), zero_marked_as_crowd=not drop_zero_marked)
    if json_out:
        echo_json({"gt": str(gt), "pred": str(pred), **report.to_dict()})
        return
    from rich.table import Table

    table = Table(title=f"detection: {pred} vs {gt}", title_justify="left")
    for name, justify in (("class", "left"), ("AP@0.5", "right"), ("AP@0.75", "right"), ("mAP@0.5:0.95", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]  # literal justify values
    table.add_column("GT", justify="right")
    table.add_column("pred", justify="right")
    if report.class_aware:
        for c in report.per_class:
            table.add_row(
                str(c.class_id), _ratio(c.ap50), _ratio(c.ap75), _ratio(c.map50_95), str(c.num_gt), str(c.num_pred)
            )
    table.add_row(
        "all" if report.class_aware else "all (one class)",
        _ratio(report.ap50),
        _ratio(report.ap75),
        _ratio(report.map50_95),
        str(report.num_gt),
        str(report.num_pred),
        style="bold",
    )
    console.print(table)
    console.print(
        f"{report.num_frames} frames; AR {report.ar:.3f}; {report.num_gt_ignored} GT boxes marked conf 0 "
        + ("dropped" if drop_zero_marked else "treated as crowd (ignored)")
    )
