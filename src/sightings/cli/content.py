"""``sightings content``: video content features — run, cuts, show, validate, modules."""

from __future__ import annotations

from pathlib import Path

import typer

from sightings.cli.common import console, echo_json, new_typer

__all__ = ["app"]

app = new_typer("Video content features: shots, pacing, quality, text, audio; versioned and validated.")


@app.command("run")
def run(
    video: Path = typer.Argument(..., help="Video file."),
    *,
    platform: str = typer.Option(..., "--platform", help="Platform id (folder name), e.g. youtube."),
    video_id: str = typer.Option(..., "--video-id", help="Video id on the platform (folder name)."),
    modules: str | None = typer.Option(None, "--modules", help="Comma-separated modules (default: all)."),
    out: Path = typer.Option(Path("result_store"), "--out", help="Result store folder."),
    fps: float = typer.Option(2.0, "--fps", min=0.01, max=60, help="Analysis frames per second (uniform part)."),
    workers: int = typer.Option(2, "--workers", min=1, max=32, help="Modules run in parallel on this many threads."),
    corpus: Path | None = typer.Option(
        None, "--corpus", help="Reference corpus folder for `uniqueness` (must exist unless --corpus-add)."
    ),
    corpus_add: bool = typer.Option(False, "--corpus-add", help="Add this video to the corpus afterwards."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Analyse one video → <out>/<platform>/<video-id>/<run-id>/ (manifest.json + one NPZ per module + frames/).

    A module that fails or has nothing to work on (no audio track, no model) is marked failed/skipped in the
    manifest; the others still run. Exit 0 even then — `sightings content validate RUN_DIR` judges the result.
    """
    from sightings.solutions.content.context import ContentOptions
    from sightings.solutions.content.pipeline import run_content

    chosen = [m.strip() for m in modules.split(",") if m.strip()] if modules is not None else None
    if chosen == []:  # "--modules ," would otherwise run them all under another config hash
        from sightings.core.errors import InputError

        raise InputError(
            "no module named; give names like cuts,pacing (sightings content modules lists them)", where="--modules"
        )
    if corpus is not None:  # checked before the video is decoded: a bad corpus would only fail one module
        from sightings.core.atomic import check_output_parent
        from sightings.core.errors import InputError, NotFoundError

        if corpus.exists() and not corpus.is_dir():
            raise InputError("is a file, expected the reference corpus folder", where=corpus)
        if not corpus.exists() and not corpus_add:
            raise NotFoundError("no such corpus folder (--corpus-add creates it with this video)", where=corpus)
        check_output_parent(corpus)
    options = ContentOptions.model_validate(
        {
            "modules": chosen,
            "analysis_fps": fps,
            "workers": workers,
            "corpus_dir": str(corpus) if corpus else None,
            "corpus_add": corpus_add,
        }
    )
    if chosen:
        from sightings.solutions.content.spec import get_module

        for name in chosen:
            get_module(name)
    result = run_content(video, platform_id=platform, video_id=video_id, options=options, store=out)
    if json_out:
        echo_json({"run_dir": str(result.run_dir), **result.manifest})
        return
    from rich.table import Table

    table = Table(title=f"content run → {result.run_dir}")
    for col in ("module", "status", "seconds", "reason"):
        table.add_column(col)
    for name, entry in result.manifest["modules"].items():
        style = {"ok": "green", "skipped": "yellow", "failed": "red"}.get(entry["status"], "")
        table.add_row(name, f"[{style}]{entry['status']}[/]", f"{entry['seconds']:.3f}", entry.get("reason", ""))
    console.print(table)
    m = result.manifest
    console.print(
        f"{m['n_shots']} shots, {m['source']['duration_s']:.1f} s of video in {m['timings']['total_s']:.2f} s "
        f"({m['x_real_time']}× real time); config_hash {m['config_hash'][:12]}",
        highlight=False,
    )
    for warning in m["warnings"]:
        console.print(f"[yellow]warning:[/] {warning}")


@app.command("cuts")
def cuts(
    video: Path = typer.Argument(..., help="Video file."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output (transitions with confidence)."),
    all_frames: bool = typer.Option(
        False,
        "--all-frames",
        help="Decode every frame (as `content run` does) instead of the reference frames only (~1.5× slower).",
    ),
) -> None:
    """Print the frame indices where a new shot starts (0 first), one per line; --json adds kinds and confidence.

    By default only reference frames are decoded (most B-frames are skipped): cuts land within a frame of where
    they are, at about 1.5× the speed."""
    from sightings.solutions.content.cuts import detect_cuts

    result = detect_cuts(video, all_frames=all_frames)
    if json_out:
        echo_json({"video": str(video), **result.to_dict()})
        return
    for frame in result.shot_starts:
        typer.echo(frame)


@app.command("show")
def show(
    run_dir: Path = typer.Argument(..., help="A run folder (holds manifest.json)."),
    png: Path | None = typer.Option(None, "--png", help="Timeline image path (default: RUN_DIR/timeline.png)."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable summary."),
) -> None:
    """Summarise a run and draw its timeline PNG (shots and cuts, energy/novelty/motion, loudness)."""
    from sightings.solutions.content.timeline import run_summary, write_timeline

    summary = run_summary(run_dir)
    image = write_timeline(run_dir, png)
    summary["timeline_png"] = str(image)
    if json_out:
        echo_json(summary)
        return
    console.print(
        f"{summary['video']}: {summary['duration_s']:.1f} s, {summary['shots']} shots, "
        f"{summary['x_real_time']}× real time",
        highlight=False,
    )
    for name, status in summary["modules"].items():
        console.print(f"  {name:<22} {status}", highlight=False)
    for key, value in summary["scalars"].items():
        console.print(f"  {key:<44} {value}", highlight=False)
    console.print(f"timeline: {image}", highlight=False)


@app.command("validate")
def validate(
    run_dir: Path = typer.Argument(..., help="A run folder (holds manifest.json)."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable report."),
) -> None:
    """Check a run: contract (manifest, NPZ keys, dtypes, shapes vs schemas) and quality (NaN/inf, ranges,
    empty series). Exit 0 when valid, 1 when any error is found."""
    from sightings.solutions.content.validate import validate_run

    report = validate_run(run_dir)
    if json_out:
        echo_json(report.to_dict())
    else:
        for issue in report.issues:
            colour = {"error": "red", "warning": "yellow"}.get(issue.level, "dim")
            console.print(f"[{colour}]{issue}[/]", highlight=False)
        verdict = "[green]valid[/]" if report.ok else f"[red]invalid: {len(report.errors)} errors[/]"
        console.print(
            f"{run_dir}: {verdict} ({report.modules_checked} modules, {report.arrays_checked} arrays checked)"
        )
    if not report.ok:
        raise typer.Exit(1)


@app.command("modules")
def modules_list(json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """List the feature modules with their versions, inputs and output keys."""
    from sightings.solutions.content.spec import get_module, module_names

    described = [get_module(n).describe() for n in module_names()]
    if json_out:
        echo_json(described)
        return
    for d in described:
        console.print(
            f"{d['name']:<22} v{d['version']}  inputs: {', '.join(d['inputs']):<24} keys: {', '.join(d['schema'])}",
            highlight=False,
        )
