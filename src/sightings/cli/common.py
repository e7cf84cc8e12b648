"""What every CLI sub-command shares: consoles, JSON output, progress bars, error handling."""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Iterable, Iterator
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from typer.core import TyperGroup

from sightings.core.errors import SightingsError

__all__ = [
    "SightingsGroup",
    "Terminated",
    "console",
    "echo_json",
    "err_console",
    "key_value_options",
    "new_progress",
    "new_typer",
    "raise_terminated",
    "track_progress",
]

T = TypeVar("T")

console = Console()
err_console = Console(stderr=True)


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, systemd, ``docker stop``) as an interrupt: the same clean-ups as Ctrl-C run (partial
    outputs removed, workers stopped) instead of the process vanishing mid-write."""


def raise_terminated(signum: int, frame: object) -> NoReturn:
    """A SIGTERM handler (installed by the console entry point) raising :class:`Terminated`."""
    raise Terminated


class SightingsGroup(TyperGroup):
    """Root command group: turns a :class:`SightingsError` into one line on stderr and its exit code."""

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]  # typer vendors click; its Context is a subclass
        try:
            return super().invoke(ctx)
        except SightingsError as err:
            typer.echo(f"error: {err}", err=True)
            ctx.exit(err.exit_code)
        except Terminated:
            typer.echo("error: terminated", err=True)
            ctx.exit(128 + signal.SIGTERM)
        except KeyboardInterrupt:
            typer.echo("error: interrupted", err=True)
            ctx.exit(130)


def new_typer(help_text: str, **kwargs: Any) -> typer.Typer:
    """A sub-command group with the project's defaults (no rich tracebacks, `-h` works)."""
    return typer.Typer(
        help=help_text,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
        **kwargs,
    )


def key_value_options(values: list[str], flag: str) -> dict[str, Any]:
    """``KEY=VALUE`` items of a repeatable option as a dict, each value read as YAML (``3`` a number, ``true`` a
    bool, ``a,b`` a string); an item without ``=`` is an InputError naming ``flag``."""
    import yaml

    from sightings.core.errors import InputError

    out: dict[str, Any] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"expected KEY=VALUE, got {item!r}", where=flag)
        out[key.strip()] = yaml.safe_load(raw) if raw else ""
    return out


def echo_json(obj: Any) -> None:
    """Print ``obj`` as JSON on stdout (for ``--json``)."""
    sys.stdout.write(json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def new_progress(*, quiet: bool = False) -> Progress:
    """The house progress bar: description, bar, done/total, elapsed, ETA; on stderr, hidden when ``quiet`` or when
    stderr is not a terminal."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        disable=quiet or not err_console.is_terminal,
        transient=True,
    )


def track_progress(
    items: Iterable[T], description: str, total: int | None = None, *, quiet: bool = False
) -> Iterator[T]:
    """Iterate with a rich progress bar on stderr (hidden with ``quiet`` or when stderr is not a terminal)."""
    progress = new_progress(quiet=quiet)
    with progress:
        yield from progress.track(items, total=total, description=description)
