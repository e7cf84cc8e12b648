"""``sightings batch run`` / ``sightings batch status``: one job over a list of videos, unattended.

Exit codes of ``batch run``: 0 every video ended done, empty or skipped (a permanent input error, with its
reason); 1 some videos failed or timed out after their retries; 2 bad input (the list, the output folder);
3 bad configuration (unknown job or executor, bad job options, a setup error that stopped the batch);
4 the list or config file does not exist; 5 a backend is unavailable (e.g. Ray not installed).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import typer

from sightings.cli.common import console, echo_json, err_console, new_typer

__all__ = ["app"]

EXIT_SOME_FAILED = 1

app = new_typer("Run a job over a list of videos (idempotent, resumable, parallel) and follow its progress.")


class _Bar:
    """A rich progress bar with ETA on stderr, fed by the runner's progress callback; warnings printed once."""

    def __init__(self, total: int, job: str, quiet: bool) -> None:
        from sightings.cli.common import new_progress

        self.progress = new_progress(quiet=quiet)
        self.task = self.progress.add_task(f"batch {job}", total=total)
        self.job = job
        self.quiet = quiet
        self.warned: set[str] = set()
        self.base: int | None = None

    def __call__(self, state: Mapping[str, Any]) -> None:
        counts = state["counts"]
        if self.base is None:  # runs complete before this command do not count toward its speed (ETA)
            self.base = int(state["ended"])
            self.progress.update(self.task, completed=0, total=state["total"] - self.base)
        bad = counts.get("failed", 0) + counts.get("timeout", 0)
        self.progress.update(
            self.task,
            completed=int(state["ended"]) - self.base,
            description=f"batch {self.job}: {counts.get('done', 0) + counts.get('empty', 0)} done, "
            f"{counts.get('skipped', 0)} skipped, {bad} failed",
        )
        for warning in state.get("warnings", []):
            if warning not in self.warned and not self.quiet:
                self.warned.add(warning)
                err_console.print(f"[yellow]warning:[/] {warning}")


@app.command("run")
def run(
    *,
    list_file: Path = typer.Option(..., "--list", "-l", help="videos.csv or .json: path|url, platform_id, video_id."),
    job: str = typer.Option(..., "--job", "-j", help="Job name (track, probe, ...; solutions add theirs)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (runs/, state.jsonl, progress.json)."),
    job_config: Path | None = typer.Option(
        None, "--config", "-c", help="The job's options: a YAML/JSON/TOML mapping (hashed into the run key)."
    ),
    workers: int | None = typer.Option(None, "--workers", "-w", min=1, help="Videos at once (default: CPU count)."),
    executor: str | None = typer.Option(
        None,
        "--executor",
        help="local (process pool), ray, or inline (debugging). Default: the config's executor (local).",
    ),
    ray_address: str | None = typer.Option(
        None, "--ray-address", help="A running Ray cluster, e.g. ray://head:10001 or auto (implies --executor ray)."
    ),
    timeout_s: float = typer.Option(1800.0, "--timeout-s", help="Per-video time limit; a hung video is killed."),
    retries: int = typer.Option(2, "--retries", min=0, help="Retries of a transient failure (OOM, network, timeout)."),
    backoff_s: float = typer.Option(2.0, "--backoff-s", min=0.0, help="First retry delay; doubles each retry."),
    retry_skipped: bool = typer.Option(
        False, "--retry-skipped", help="Also retry videos skipped earlier for a permanent error."
    ),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable summary on stdout."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar and no summary line."),
) -> None:
    """Run JOB over every video of the list; the same command resumes after an interruption."""
    from sightings.core.config import get_settings
    from sightings.runner.batch import BatchOptions, run_batch
    from sightings.runner.batch_list import read_batch_list
    from sightings.runner.jobs import read_job_config

    executor_options: dict[str, Any] = {}
    if executor is None:  # the settings' executor (`executor: {kind, options}`), with its options
        chosen = get_settings().executor
        executor, executor_options = chosen.kind, dict(chosen.options)
    if ray_address is not None:
        if executor not in ("local", "ray"):
            raise typer.BadParameter("--ray-address needs --executor ray", param_hint="'--ray-address'")
        if executor != "ray":
            executor, executor_options = "ray", {}
        executor_options["address"] = ray_address
    options = read_job_config(job_config) if job_config is not None else {}
    batch_options = BatchOptions(
        executor=executor,
        workers=workers,
        executor_options=executor_options,
        timeout_s=timeout_s,
        retries=retries,
        backoff_s=backoff_s,
        retry_skipped=retry_skipped,
    )
    total = len(read_batch_list(list_file))  # bad lists fail here, before any worker starts
    bar = _Bar(total, job, quiet)
    with bar.progress:
        result = run_batch(list_file, job, options, out, batch_options, on_progress=bar)
    summary = result.summary
    if json_out:
        echo_json(
            {
                **summary.to_dict(),
                "out": str(result.out),
                "seconds": result.seconds,
                "attempted": result.attempted,
                "already_complete": result.already_complete,
            }
        )
    elif not quiet:
        for warning in summary.warnings:
            if warning not in bar.warned:
                err_console.print(f"[yellow]warning:[/] {warning}")
        console.print(
            f"{summary.one_line()} → {out} (this run: {result.attempted} attempts, "
            f"{result.already_complete} already complete, {result.seconds:.1f} s)",
            highlight=False,
            soft_wrap=True,
        )
    if summary.failed:
        raise typer.Exit(EXIT_SOME_FAILED)


MAX_PROBLEMS_SHOWN = 20


@app.command("status")
def status(
    out: Path = typer.Argument(..., metavar="OUT", help="The output folder of `sightings batch run`."),
    job: str | None = typer.Option(None, "--job", help="Job to report (default: the last batch run in OUT)."),
    all_configs: bool = typer.Option(False, "--all", help="Every job and config in OUT, not only the last batch."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Counts (done/empty/skipped/failed/pending), time per video, step success rates and warnings."""
    from sightings.core.errors import NotFoundError
    from sightings.runner.state import read_progress, read_state, summarise

    if not out.is_dir():
        raise NotFoundError("no such output folder", where=out)
    lines, torn = read_state(out)
    progress = read_progress(out)
    if progress is None and not lines:
        raise NotFoundError("no batch has run in this folder (no progress.json or state.jsonl)", where=out)
    last_job = progress.get("job") if progress else None
    ran = sorted({str(r.get("job")) for r in lines if r.get("job")} | ({str(last_job)} if last_job else set()))
    if job is not None and job not in ran:  # a typo would read as an empty batch
        raise NotFoundError(f"no {job!r} job has run here (jobs: {', '.join(ran) or 'none'})", where=out)
    config_hash = progress.get("config_hash") if progress and (job is None or job == last_job) else None
    chosen_job = None if all_configs else (job or last_job)
    total = progress.get("total") if progress and not all_configs and chosen_job == last_job else None
    summary = summarise(
        lines,
        job=chosen_job,
        config_hash=None if all_configs else config_hash,
        total=total,
        torn=torn,
    )
    if json_out:
        echo_json({**summary.to_dict(), "out": str(out), "progress": progress})
        return
    from rich.table import Table

    table = Table(title=f"batch {summary.job or 'all jobs'} in {out}", show_header=False)
    for name, count in summary.counts.items():
        table.add_row(name, str(count))
    table.add_row("total", str(summary.total))
    table.add_row("attempts", str(summary.attempts))
    if summary.mean_s is not None:
        table.add_row("time per video", f"mean {summary.mean_s:.3f} s, p95 {summary.p95_s:.3f} s")
    for step, rate in summary.step_success.items():
        table.add_row(f"step {step}", f"{rate:.1%} ok")
    console.print(table)
    if summary.problems:
        shown = summary.problems[:MAX_PROBLEMS_SHOWN]
        problems = Table(title="not done", title_justify="left")
        for column in ("video", "status", "kind", "reason"):
            problems.add_column(column, overflow="fold")
        for row in shown:
            problems.add_row(str(row["video"]), str(row["status"]), str(row["kind"] or ""), str(row["message"] or ""))
        console.print(problems)
        if len(summary.problems) > len(shown):
            console.print(f"… and {len(summary.problems) - len(shown)} more (--json lists all)")
    for warning in summary.warnings:
        err_console.print(f"[yellow]warning:[/] {warning}")
