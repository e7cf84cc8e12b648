"""``sightings popularity``: dataset from content runs + snapshots, training, prediction JSON, synthetic data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from sightings.cli.common import console, echo_json, new_typer

__all__ = ["app"]

app = new_typer("Popularity: dataset from content runs + snapshots, GBM training, prediction JSON.")


def _print_counts(counts: dict[str, int]) -> None:
    from rich.table import Table

    table = Table(title="input handling (rows dropped, changed or flagged)")
    table.add_column("what")
    table.add_column("count", justify="right")
    for key, value in counts.items():
        if value:
            table.add_row(key, str(value))
    console.print(table)


@app.command("dataset")
def dataset(
    *,
    store: Path = typer.Option(
        ...,
        "--store",
        help="Result store of content runs (<store>/<platform>/<video>/<run>/), or a batch's OUT/runs/content.",
    ),
    snapshots: Path = typer.Option(
        ..., "--snapshots", help="Snapshots CSV/Parquet: platform_id, video_id, snapshot_at, views, likes, comments."
    ),
    videos: Path | None = typer.Option(
        None,
        "--videos",
        help="Video metadata CSV/Parquet (default: the snapshots "
        "file's columns): published_at, duration_sec, language, category, channel_id.",
    ),
    channels: Path | None = typer.Option(
        None, "--channels", help="Channel index CSV/Parquet: channel_id, subscribers, total_videos, created_at, as_of."
    ),
    youtube_api: bool = typer.Option(
        False,
        "--youtube-api",
        help="Fetch channels missing from the index from the YouTube Data API (key in $SIGHTINGS_YOUTUBE_API_KEY).",
    ),
    youtube_url: str | None = typer.Option(None, "--youtube-url", help="API base URL (default: googleapis.com)."),
    out: Path = typer.Option(..., "--out", help="Dataset file (.parquet); the metadata goes to <stem>.meta.json."),
    tolerance_h: float = typer.Option(
        36.0, "--tolerance-h", min=0.1, help="Interpolate between snapshots within this many hours of the horizon time."
    ),
    snap_h: float = typer.Option(6.0, "--snap-h", min=0.0, help="Else take the nearest snapshot within this many h."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Build the feature + target table: one row per video; dropped rows are counted and reported."""
    from sightings.solutions.popularity.dataset import DatasetInputs, DatasetOptions, build_dataset, write_dataset

    extra = None
    if youtube_api:
        extra = _fetch_channels(videos or snapshots, channels, youtube_url)
    result = build_dataset(
        DatasetInputs(store, snapshots, videos, channels, extra), DatasetOptions(tolerance_h=tolerance_h, snap_h=snap_h)
    )
    if result.n_rows == 0:  # nothing to train on: say why rather than write an empty table
        from sightings.core.errors import InputError

        dropped = ", ".join(f"{k} {v}" for k, v in sorted(result.counts.items()) if k.startswith("dropped") and v)
        raise InputError(
            f"no usable rows ({dropped or 'no snapshots'}); nothing written",
            where=out,
            hint="content runs are looked for as --store/<platform>/<video>/<run>/ (a batch: --store OUT/runs/content)",
        )
    path, side = write_dataset(result, out)
    summary = {
        "dataset": str(path),
        "metadata": str(side),
        "rows": result.n_rows,
        "config_hash": result.metadata["config_hash"],
        "counts": result.counts,
    }
    if json_out:
        echo_json(summary)
        return
    _print_counts(result.counts)
    console.print(
        f"{result.n_rows} rows → {path} (metadata {side}); config_hash {summary['config_hash'][:12]}", highlight=False
    )


def _fetch_channels(videos: Path, channels: Path | None, url: str | None) -> Any:
    from sightings.solutions.popularity.channels import ChannelIndex, load_channel_index
    from sightings.solutions.popularity.snapshots import CleaningCounts, load_videos
    from sightings.solutions.popularity.youtube_client import DEFAULT_BASE_URL, YouTubeChannelClient

    known = load_channel_index(channels) if channels is not None else ChannelIndex()
    wanted = {v.channel_id for v in load_videos(videos, CleaningCounts()).values() if v.channel_id}
    missing = sorted(c for c in wanted if c not in known)
    if url:  # the API key goes to this URL: the outbound guard first (security.allow_private_urls for a fake)
        from sightings.core.net_guard import UrlPolicy, check_url

        check_url(url, UrlPolicy.configured(), where="--youtube-url")
    fetched = YouTubeChannelClient(base_url=url or DEFAULT_BASE_URL).fetch(missing) if missing else {}
    console.print(f"YouTube API: {len(fetched)} of {len(missing)} missing channels found", highlight=False)
    return ChannelIndex(list(fetched.values()))


@app.command("train")
def train(
    config: Path = typer.Option(..., "--config", help="training.yaml (dataset, out, seed, model, split, ...)."),
    dataset: Path | None = typer.Option(None, "--dataset", help="Override the config's dataset file."),
    out: Path | None = typer.Option(None, "--out", help="Override the config's artifacts folder."),
    run_id: str | None = typer.Option(None, "--run-id", help="Run folder name (default: UTC time + config hash)."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output (metrics)."),
) -> None:
    """Train one model per target × horizon; artifacts in <out>/<run_id>/ (models, config.yaml, metrics, plots)."""
    from sightings.solutions.popularity.train import load_training_config
    from sightings.solutions.popularity.train import train as run_training

    cfg = load_training_config(
        config, dataset=str(dataset) if dataset else None, out=str(out) if out else None, run_id=run_id
    )
    result = run_training(cfg)
    if json_out:
        echo_json({"run_dir": str(result.run_dir), "timings": result.timings, **result.metrics})
        return
    from sightings.solutions.popularity.report import metrics_table

    console.print(metrics_table(result.metrics), highlight=False)
    console.print(f"artifacts → {result.run_dir} ({result.timings['total_s']:.1f} s)", highlight=False)


@app.command("predict")
def predict(
    run_dir: Path = typer.Argument(..., help="A content run folder (manifest.json + NPZ)."),
    *,
    model: Path = typer.Option(..., "--model", help="A training run folder: artifacts/<run_id>."),
    snapshots: Path | None = typer.Option(None, "--snapshots", help="Snapshots file: the video's first snapshot."),
    videos: Path | None = typer.Option(None, "--videos", help="Video metadata file (published_at, channel, ...)."),
    channels: Path | None = typer.Option(None, "--channels", help="Channel index (as of the first snapshot)."),
    out: Path | None = typer.Option(None, "--out", help="Also write the JSON to this file."),
) -> None:
    """Predict views/likes/comments growth at 7/14/21 days with intervals; prints deterministic JSON."""
    from sightings.core.atomic import atomic_write_text
    from sightings.solutions.popularity.artifacts import load_artifact
    from sightings.solutions.popularity.features import read_content_run
    from sightings.solutions.popularity.predict import inputs_from_files, predict_run, render_json

    artifact = load_artifact(model)
    content = read_content_run(run_dir)
    video, snapshot1, channel = inputs_from_files(
        content.platform_id, content.video_id, snapshots=snapshots, videos=videos, channels=channels
    )
    text = render_json(predict_run(run_dir, artifact, video=video, snapshot1=snapshot1, channel=channel))
    if out is not None:
        atomic_write_text(out, text)
    typer.echo(text, nl=False)


@app.command("synthetic")
def synthetic(
    out: Path = typer.Option(..., "--out", help="Folder for result_store/, snapshots.csv, videos.csv, channels.csv."),
    n_videos: int = typer.Option(300, "--videos", min=10, help="Number of videos."),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed → same files)."),
) -> None:
    """Generate a synthetic set with a planted signal (for trying the commands and for tests)."""
    from sightings.solutions.popularity.synthetic import make_synthetic_set

    data = make_synthetic_set(out, n_videos=n_videos, seed=seed)
    console.print(
        f"{data.n_videos} videos → store {data.store}, {data.snapshots.name}, {data.videos.name}, "
        f"{data.channels.name} in {data.root}",
        highlight=False,
    )
