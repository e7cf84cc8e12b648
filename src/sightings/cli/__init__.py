"""The ``sightings`` command: ``sightings <noun> <verb>``; each group lives in its own module."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from sightings import __version__
from sightings.cli.common import SightingsGroup, echo_json

__all__ = ["app", "main"]

app = typer.Typer(
    name="sightings",
    cls=SightingsGroup,
    help="Turn photos and video into sightings: who or what was seen, where, when, and how sure we are.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"sightings {__version__}")
        raise typer.Exit()


def _parse_sets(values: list[str]) -> dict[str, Any]:
    import yaml

    out: dict[str, Any] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="--set")
        out[key.strip()] = yaml.safe_load(raw) if raw else ""
    return out


@app.callback()
def _root(
    config: Path | None = typer.Option(
        None, "--config", "-c", help="Config file (YAML or TOML). Default: $SIGHTINGS_CONFIG or ./sightings.yaml."
    ),
    set_: list[str] = typer.Option(
        [], "--set", help="Override one setting, e.g. --set server.port=9000 (repeatable; beats file and env)."
    ),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    from sightings.core import config as cfg

    cfg.set_config_file(config, _parse_sets(set_))


config_app = typer.Typer(help="Show and check the configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")


@config_app.command("show")
def config_show(json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Print the effective configuration and where each value came from (default, file, env, --set)."""
    from sightings.core.config import get_loaded_settings

    loaded = get_loaded_settings()
    values = loaded.values
    if json_out:
        echo_json(
            {
                "config_file": loaded.config_file,
                "values": {k: {"value": v, "source": loaded.sources.get(k, "default")} for k, v in values.items()},
            }
        )
        return
    from rich.table import Table

    from sightings.cli.common import console

    table = Table(title=f"sightings config (file: {loaded.config_file or 'none'})")
    for col in ("setting", "value", "source"):
        table.add_column(col)
    for key, value in values.items():
        table.add_row(key, str(value), loaded.sources.get(key, "default"))
    console.print(table)


@config_app.command("check")
def config_check() -> None:
    """Validate the configuration; exit non-zero with one line naming the bad value."""
    from sightings.core.config import get_loaded_settings

    loaded = get_loaded_settings()
    typer.echo(f"ok: configuration is valid (file: {loaded.config_file or 'none'})")


@app.command("serve")
def serve(
    host: str | None = typer.Option(None, help="Interface to bind (default: server.host, 127.0.0.1)."),
    port: int | None = typer.Option(None, help="TCP port (default: server.port, 8000)."),
    reload: bool = typer.Option(False, help="Reload on code changes (development)."),
    compute_processes: int | None = typer.Option(
        None,
        "--compute-processes",
        min=0,
        max=64,
        help="Worker processes that compute wildlife predictions (default: server.compute_processes, one per core "
        "when there are at least 2; 0: in the server process).",
    ),
) -> None:
    """Start the HTTP API and web UI (FastAPI + uvicorn). OpenAPI docs at /docs, health at /health."""
    import os

    import uvicorn

    from sightings.core.config import get_loaded_settings, get_settings

    if compute_processes is not None:  # the app reads its settings itself (and a --reload child from the environment)
        os.environ["SIGHTINGS_SERVER__COMPUTE_PROCESSES"] = str(compute_processes)
        get_settings.cache_clear()
        get_loaded_settings.cache_clear()
    settings = get_settings()
    bind_host = host or settings.server.host
    bind_port = port or settings.server.port
    workers = settings.server.resolved_compute_processes()
    computing = f"{workers} prediction worker processes" if workers else "predictions in the server process"
    typer.echo(
        f"sightings {__version__}: serving on http://{bind_host}:{bind_port} (docs at /docs; {computing})", err=True
    )
    uvicorn.run("sightings.api.app:create_app", factory=True, host=bind_host, port=bind_port, reload=reload)


def _add_groups() -> None:
    from sightings.cli import batch, identity, media, models
    from sightings.cli import eval as eval_cli
    from sightings.cli.explain import explain
    from sightings.cli.media_dedup import dedup
    from sightings.cli.track import track

    media.app.command("dedup")(dedup)
    app.command("track")(track)
    app.command("explain")(explain)
    app.add_typer(media.app, name="media")
    app.add_typer(models.app, name="models")
    eval_cli.app.command("reid")(identity.eval_reid)
    app.add_typer(eval_cli.app, name="eval")
    app.add_typer(identity.app, name="identity")
    app.add_typer(batch.app, name="batch")
    from sightings.cli import content

    app.add_typer(content.app, name="content")
    from sightings.cli import wildlife

    app.add_typer(wildlife.app, name="wildlife")
    from sightings.cli import pets

    app.add_typer(pets.app, name="pets")
    from sightings.cli import retail

    app.add_typer(retail.app, name="retail")
    from sightings.cli import popularity

    app.add_typer(popularity.app, name="popularity")
    from sightings.cli import admin, keys

    app.add_typer(keys.app, name="keys")
    app.command("purge")(admin.purge)
    app.command("repair")(admin.repair)
    from sightings.cli import demo

    app.add_typer(demo.app, name="demo")


_add_groups()


def main() -> None:
    """Console entry point; SIGTERM stops a command as Ctrl-C does (clean-ups run, exit 143)."""
    import signal

    from sightings.cli.common import raise_terminated

    signal.signal(signal.SIGTERM, raise_terminated)
    app()
