"""``sightings retail ...``: seller analytics from store CCTV files.

sightings retail run DIR --store S [--day YYYY-MM-DD] [--receipts CSV] [--config retail.yaml] [--json]
sightings retail report --day YYYY-MM-DD [--store S] [--json]
sightings retail zones --camera ID --snapshot VIDEO|IMAGE --out zones.png [--config retail.yaml]
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


@app.command("run")
def run(
    folder: Path = typer.Argument(..., help="Folder of <store>_<camera>_<YYYYmmdd-HHMMSS><Z|±HHMM>.mp4 files."),
    *,
    store: str = typer.Option(..., "--store", help="Store id (files of other stores are left alone)."),
    day: str | None = typer.Option(None, "--day", help="Local day of the recordings, YYYY-MM-DD (default: all)."),
    receipts: Path | None = typer.Option(None, "--receipts", help="Receipts CSV: time, amount, register."),
    config: Path | None = _CONFIG,
    warehouse: Path | None = _WAREHOUSE,
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Process a store's videos; each video's rows replace its earlier ones (re-running never doubles)."""
    from sightings.solutions.retail.config import load_retail_config
    from sightings.solutions.retail.pipeline import open_warehouse, plan_folder, run_plan

    cfg = load_retail_config(config)
    plan = plan_folder(folder, store=store, day=_day(day), receipts_path=receipts)  # bad input fails here
    with open_warehouse(cfg, path=warehouse) as wh:
        result = run_plan(plan, config=cfg, warehouse=wh)
    payload = {
        "videos": list(result.videos),
        "skipped": [{"path": str(s.path), "reason": s.reason} for s in result.skipped],
        "failed": [{"path": p, "error": e} for p, e in result.failed],
        "receipts": result.receipts,
    }
    if json_out:
        echo_json(payload)
    else:
        from rich.table import Table

        table = Table(title=f"retail run: {store} {day or ''}")
        for col in ("video", "tracks", "sellers", "customers", "interactions", "successful", "ratio"):
            table.add_column(col)
        for v in result.videos:
            ratio = v["interaction_ratio"]
            table.add_row(
                Path(v["video"]).name,
                str(v["tracks"]),
                ", ".join(v["sellers"]) or "-",
                str(v["customers"]),
                str(v["interactions"]),
                str(v["successful_interactions"]),
                "-" if ratio is None else f"{ratio:.2f}",
            )
        console.print(table)
        for s in result.skipped:
            typer.echo(f"skipped {s.path}: {s.reason}", err=True)
        for p, e in result.failed:
            typer.echo(f"failed {p}: {e}", err=True)
    if result.failed:
        raise typer.Exit(1)


@app.command("report")
def report(
    day: str = typer.Option(..., "--day", help="UTC day, YYYY-MM-DD."),
    store: str | None = typer.Option(None, "--store", help="Only this store."),
    config: Path | None = _CONFIG,
    warehouse: Path | None = _WAREHOUSE,
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Day totals per seller and for the store, read from the warehouse."""
    from sightings.solutions.retail.config import load_retail_config
    from sightings.solutions.retail.pipeline import open_warehouse, read_report

    the_day = _day(day) or date.today()  # --day is required, so _day gives a date
    cfg = load_retail_config(config)
    with open_warehouse(cfg, path=warehouse) as wh:
        data = read_report(wh, day=the_day, store=store)
    if json_out:
        echo_json(data)
        return
    from rich.table import Table

    names = ("interactions", "successful_interactions", "served_customers", "revenue", "avg_interaction_s")
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

    out.parent.mkdir(parents=True, exist_ok=True)
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
