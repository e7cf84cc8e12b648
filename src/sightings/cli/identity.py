"""``sightings eval reid`` and ``sightings identity ...``: re-identification evaluation and metric heads.

    sightings eval reid DATASET [--embedder NAME] [--set key=value] [--seed 0] [--out DIR] [--json]
    sightings identity fit-head DATASET --embedder NAME --out HEAD_PATH [--method lda] [--json]

DATASET is a folder with one sub-folder of images per identity, a folder holding ``labels.csv``, or a CSV
(``image,identity[,split]``, paths relative to the CSV). Protocol and metrics: docs/reid-evaluation.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import typer

from sightings.cli.common import console, echo_json, key_value_options, new_typer, track_progress

if TYPE_CHECKING:
    import numpy.typing as npt

    from sightings.evaluate.reid_data import ReidDataset

__all__ = ["app", "eval_reid"]

app = new_typer("Identity engine: fit metric heads on labelled crops (more commands come with the matcher).")

_DATASET_HELP = "A folder per identity, a folder with labels.csv, or a CSV (image,identity[,split])."
_SET_HELP = "Embedder option KEY=VALUE (repeatable), e.g. --set head=heads/lions-lda."


def _features(
    dataset: ReidDataset, embedder_name: str, options: dict[str, Any], *, quiet: bool
) -> tuple[npt.NDArray[np.float32], float, list[npt.NDArray[np.uint8]]]:
    """Load every image and embed it (progress bars on stderr); returns the vectors, seconds per image, images."""
    from sightings.core.registry import EMBEDDERS
    from sightings.evaluate.reid import embed_images
    from sightings.evaluate.reid_data import load_reid_images

    embedder = EMBEDDERS.create(embedder_name, **options)
    images = load_reid_images(
        dataset, progress=lambda idx: track_progress(idx, "loading images", len(idx), quiet=quiet)
    )
    features, per_image = embed_images(
        embedder, images, progress=lambda b: track_progress(b, f"embedding ({embedder_name})", len(b), quiet=quiet)
    )
    return features, per_image, images


def _two_stage(features: npt.NDArray[np.float32], images: list[npt.NDArray[np.uint8]], matcher: Any, top: int) -> Any:
    """The matcher's scorer (global cosine + local re-rank), timed per query like the embedding scorer."""
    from sightings.identity.rerank import RerankSettings, TwoStageScorer

    return TwoStageScorer(features, lambda i: matcher.extract(images[i]), matcher, RerankSettings(rerank=top))


def _check_fraction(value: float, name: str) -> None:
    from sightings.core.errors import InputError

    if not 0.0 < value <= 1.0:
        raise InputError(f"must be in (0, 1], got {value:g}", where=name)


def eval_reid(
    dataset: Path = typer.Argument(..., metavar="DATASET", help=_DATASET_HELP),
    *,
    embedder: str = typer.Option("color-texture", "--embedder", "-e", help="Embedder registry name."),
    set_: list[str] = typer.Option([], "--set", help=_SET_HELP),
    seed: int = typer.Option(0, "--seed", help="Seed of the query/gallery/open-set split."),
    method: str = typer.Option("isotonic", "--calibration", help="Calibration: isotonic or platt."),
    top_k: int = typer.Option(5, "--top-k", help="Candidate identities per query in the calibration pairs."),
    target_precision: float = typer.Option(
        0.95, "--target-precision", help="Precision the open-set threshold is chosen for (on the calibration part)."
    ),
    query_fraction: float = typer.Option(0.3, "--query-fraction", help="Share of each identity's images as queries."),
    open_fraction: float = typer.Option(
        0.1, "--open-fraction", help="Share of identities held out of the gallery (their queries must be 'unknown')."
    ),
    rerank: str | None = typer.Option(
        None,
        "--rerank",
        help="Second stage: re-rank each query's closest gallery images with this local matcher (e.g. rootsift).",
    ),
    rerank_top: int = typer.Option(10, "--rerank-top", help="Gallery images per query that get local matching."),
    rerank_set: list[str] = typer.Option(
        [],
        "--rerank-set",
        help="Local matcher option KEY=VALUE (repeatable), e.g. --rerank-set max_side=240 (the wildlife default).",
    ),
    out: Path | None = typer.Option(None, "--out", "-o", help="Folder for metrics.json, cmc.png, reliability.png."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Rank-1/5/10, mAP, CMC, ECE + reliability, precision/recall at the open-set threshold, TPR@95% precision."""
    from sightings.core.errors import InputError
    from sightings.evaluate.reid import EmbeddingScorer, evaluate_reid, write_reid_outputs
    from sightings.evaluate.reid_data import load_reid_dataset, split_reid
    from sightings.identity.calibration import METHODS, embedder_key

    if method not in METHODS:
        raise InputError(f"must be one of {', '.join(METHODS)}, got {method!r}", where="--calibration")
    if top_k < 1:
        raise InputError(f"must be >= 1, got {top_k}", where="--top-k")
    _check_fraction(target_precision, "--target-precision")
    if rerank_top < 0:
        raise InputError(f"must be >= 0, got {rerank_top}", where="--rerank-top")
    if out is not None:  # an --out that cannot be a folder fails before the evaluation, not after it
        from sightings.core.atomic import check_output_folder

        check_output_folder(out)
    options = key_value_options(set_, "--set")
    rerank_options = key_value_options(rerank_set, "--rerank-set")
    local_matcher = None
    if rerank is not None:
        from sightings.core.registry import LOCAL_MATCHERS

        # unknown names or options fail before any image is read
        local_matcher = LOCAL_MATCHERS.create(rerank, **rerank_options)
    elif rerank_options:
        raise InputError("needs --rerank (the local matcher these options are for)", where="--rerank-set")
    data = load_reid_dataset(dataset)
    split = split_reid(data, seed=seed, query_fraction=query_fraction, open_fraction=open_fraction)
    features, per_image, images = _features(data, embedder, options, quiet=quiet or json_out)
    scorer: Any = EmbeddingScorer(features, per_image)
    if local_matcher is not None:
        scorer = _two_stage(features, images, local_matcher, rerank_top)
    report = evaluate_reid(
        data,
        split,
        scorer,
        embedder=embedder_key(embedder, options),
        method=method,
        top_k=top_k,
        target_precision=target_precision,
    )
    written = write_reid_outputs(report, out) if out is not None else {}
    if json_out:
        echo_json({"dataset": str(dataset), **report.to_dict(), "outputs": {k: str(v) for k, v in written.items()}})
        return
    _print_report(report, dataset)
    if written:
        console.print(f"wrote {', '.join(str(p) for p in written.values())}")


def _print_report(report: Any, dataset: Path) -> None:
    from rich.table import Table

    r, c = report, report.closed
    rep, cal = r.report_part, r.calibration_part
    note = "" if r.threshold_achieved_on_calibration else " (target not reached on calibration: accepts nothing)"
    rows = [
        ("rank-1", f"{c.rank1:.3f}", f"{c.queries} known queries vs {rep['gallery']} gallery images"),
        ("rank-5", f"{c.rank5:.3f}", ""),
        ("rank-10", f"{c.rank10:.3f}", ""),
        ("mAP", f"{c.map:.3f}", ""),
        ("ECE", f"{r.ece:.3f}", f"{r.calibration_method}, 15 bins, top-{r.top_k_pairs} candidate identities per query"),
        (
            "threshold",
            f"{r.threshold:.3f}",
            f"P(same) chosen on calibration for {r.threshold_target_precision:.0%} precision{note}",
        ),
        (
            "precision @ threshold",
            f"{r.precision_at_threshold:.3f}" if r.accepted_at_threshold else "— (none accepted)",
            f"of the {r.accepted_at_threshold} accepted top-1 answers, those that are right",
        ),
        ("recall @ threshold", f"{r.recall_at_threshold:.3f}", "known queries answered with their own identity"),
        ("unknown accepted", f"{r.unknown_accepted_at_threshold:.3f}", f"of {rep['unknown_queries']} open-set queries"),
        ("open-set TPR @ 95% P", f"{r.open_set_tpr_at_95_precision:.3f}", "best threshold on the report part (oracle)"),
        ("queries/s", f"{r.queries_per_s:.1f}", "embed + score against the gallery"),
    ]
    table = Table(title=f"re-ID: {r.embedder} on {dataset}", title_justify="left")
    table.add_column("metric", style="bold")
    table.add_column("value", justify="right")
    table.add_column("meaning", style="dim")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    console.print(
        f"split ({r.partition}, seed {r.seed}): report {rep['queries']} queries ({rep['unknown_queries']} unknown, "
        f"{rep['open_identities']} held-out ids), {rep['gallery']} gallery; calibration {cal['queries']} queries, "
        f"{cal['gallery']} gallery"
    )


@app.command("fit-head")
def fit_head_cmd(
    dataset: Path = typer.Argument(..., metavar="DATASET", help=_DATASET_HELP),
    *,
    embedder: str = typer.Option(..., "--embedder", "-e", help="Base embedder registry name."),
    out: Path = typer.Option(..., "--out", "-o", help="Head path: writes PATH.json + PATH.npz."),
    set_: list[str] = typer.Option([], "--set", help="Base embedder option KEY=VALUE (repeatable)."),
    method: str = typer.Option(
        "lda", "--method", help="Head: lda (within-class whitening + between-class projection)."
    ),
    dim: int | None = typer.Option(
        None, "--dim", help="Output size (default: identities − 1, at most the input size)."
    ),
    shrinkage: float | None = typer.Option(
        None, "--shrinkage", help="Within-class covariance shrinkage in [0, 1] (default: chosen on the fitting part)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the split (and of the inner split choosing shrinkage)."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Fit a metric head on frozen features of one split; print rank-1/mAP before → after on the other split."""
    from sightings.core.errors import InputError
    from sightings.evaluate.reid_data import load_reid_dataset, split_reid
    from sightings.evaluate.reid_head import fit_head_on_split
    from sightings.identity.head import HEAD_METHODS

    if method not in HEAD_METHODS:
        raise InputError(f"must be one of {', '.join(HEAD_METHODS)}, got {method!r}", where="--method")
    if embedder == "projected":
        raise InputError("fit a head on a base embedder, not on 'projected'", where="--embedder")
    options = key_value_options(set_, "--set")
    data = load_reid_dataset(dataset)
    split = split_reid(data, seed=seed)
    features, _, _ = _features(data, embedder, options, quiet=quiet or json_out)
    result = fit_head_on_split(
        features, data, split, method=method, dim=dim, shrinkage=shrinkage, base_embedder=embedder, base_options=options
    )
    saved = result.head.save(out)
    use = f"--embedder projected --set head={saved.with_suffix('')}"
    b, a = result.before, result.after
    summary = {
        "dataset": str(dataset),
        "head": str(saved),
        "method": method,
        "base_embedder": embedder,
        "dim": result.head.dim,
        "shrinkage": result.head.fit_summary.get("shrinkage"),
        "shrinkage_inner_map": {str(k): v for k, v in result.shrinkage_scores.items()},
        "fit": {"part": split.partition, "samples": result.fit_samples, "identities": result.fit_identities},
        "report_queries": result.report_queries,
        "before": {"rank1": b.rank1, "rank5": b.rank5, "map": b.map},
        "after": {"rank1": a.rank1, "rank5": a.rank5, "map": a.map},
        "use": use,
    }
    if json_out:
        echo_json(summary)
        return
    from rich.table import Table

    table = Table(title=f"metric head ({method}, {result.head.dim}-d) on {embedder}", title_justify="left")
    for col in ("metric (report part)", "before", "after", "gain"):
        table.add_column(col, justify="left" if col.startswith("metric") else "right")
    for label, before, after in (("rank-1", b.rank1, a.rank1), ("rank-5", b.rank5, a.rank5), ("mAP", b.map, a.map)):
        table.add_row(label, f"{before:.3f}", f"{after:.3f}", f"{after - before:+.3f}")
    console.print(table)
    console.print(
        f"fitted on {result.fit_samples} images of {result.fit_identities} identities ({split.partition}); "
        f"shrinkage {summary['shrinkage']}; scored on {result.report_queries} queries of unseen identities"
    )
    console.print(f"saved {saved} (+ .npz); use it with: {use}")
