"""``sightings keys ...``: API keys with roles (read < write < admin), stored hashed; the audit log.

    sightings keys create --role write --name bot     # prints the key once
    sightings keys list [--json]
    sightings keys revoke KEY_ID
    sightings keys audit [--limit 50] [--key KEY_ID] [--json]

The keys live in ``security.keys_db`` (default ``<data_dir>/security.sqlite``); a running server sees a new or
revoked key on the next request.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import typer

from sightings.cli.common import console, echo_json, new_typer

__all__ = ["app"]

app = new_typer("API keys with roles (read, write, admin), stored hashed; the audit log of writes.")


def _store() -> Any:
    from sightings.api.auth import key_store
    from sightings.core.config import get_settings

    return key_store(get_settings())


@app.command("create")
def create(
    name: str = typer.Option(..., "--name", help="Who holds the key (a bot, a camera, a person)."),
    role: str = typer.Option("write", "--role", help="read | write | admin."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Create a key and print it once (only its hash is kept: copy it now)."""
    plain, record = _store().create(name, role)
    if json_out:
        echo_json({**asdict(record), "key": plain})
        return
    typer.echo(plain)
    note = f"key id {record.key_id}, role {record.role}, name {record.name!r}: shown once, keep it secret"
    typer.echo(note, err=True)


@app.command("list")
def list_keys(json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """The keys (ids, names, roles, revoked or not); never their secrets."""
    keys = _store().list_keys()
    if json_out:
        echo_json([asdict(k) for k in keys])
        return
    from rich.table import Table

    table = Table(title=f"{len(keys)} API key(s)")
    for col in ("id", "name", "role", "created", "revoked"):
        table.add_column(col)
    for k in keys:
        revoked = k.revoked_at.isoformat(timespec="seconds") if k.revoked_at else ""
        table.add_row(k.key_id, k.name, k.role, k.created_at.isoformat(timespec="seconds"), revoked)
    console.print(table)


@app.command("revoke")
def revoke(key_id: str = typer.Argument(..., help="The key's id (from `sightings keys list`).")) -> None:
    """Revoke a key (at once, also for a running server)."""
    record = _store().revoke(key_id)
    typer.echo(f"revoked {record.key_id} ({record.name}, {record.role})")


@app.command("audit")
def audit(
    limit: int = typer.Option(50, "--limit", min=1, max=100000, help="Newest entries to show."),
    key_id: str | None = typer.Option(None, "--key", help="Only this key id."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Who changed what, when: every write and delete through the API (refused ones too)."""
    entries = _store().audit_entries(limit=limit, key_id=key_id)
    if json_out:
        echo_json([asdict(e) for e in entries])
        return
    for e in entries:
        who = (f"{e.key_id} ({e.role})" if e.role else f"{e.key_id} (refused)") if e.key_id else "no key"
        typer.echo(f"{e.at.isoformat(timespec='seconds')} {who} {e.method} {e.path} → {e.status}")
