"""API keys with roles, stored hashed; the audit log; keys never logged; the keys CLI."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pets_factories import API_KEY, encode, photo_of

pytestmark = pytest.mark.hardening


def _post(api: Any, headers: dict[str, str], **form: Any) -> Any:
    files = [("photos", ("cat.png", encode(photo_of(7)), "image/png"))]
    return api.client.post("/v1/pets/posts", files=files, data={"kind": "found", **form}, headers=headers)


def test_roles_read_write_admin(pets_api: Any) -> None:
    r = _post(pets_api, pets_api.headers("read"))
    assert r.status_code == 403 and "needs 'write'" in r.json()["detail"]
    r = _post(pets_api, pets_api.headers("write"), text="Нашли кошку")
    assert r.status_code == 200, r.text
    post_id = r.json()["id"]
    assert pets_api.client.delete(f"/v1/pets/posts/{post_id}", headers=pets_api.headers("write")).status_code == 403
    assert pets_api.client.delete(f"/v1/pets/posts/{post_id}", headers={"X-API-Key": API_KEY}).status_code == 403
    assert pets_api.client.delete(f"/v1/pets/posts/{post_id}").status_code == 401
    r = pets_api.client.delete(f"/v1/pets/posts/{post_id}", headers=pets_api.headers("admin"))
    assert r.status_code == 200 and r.json()["embeddings"] == 1
    assert pets_api.client.get(f"/v1/pets/posts/{post_id}").status_code == 404


def test_configured_solution_keys_still_work_as_write_keys(pets_api: Any) -> None:
    assert _post(pets_api, {"X-API-Key": API_KEY}).status_code == 200
    assert _post(pets_api, {"X-API-Key": API_KEY + "x"}).status_code == 401
    assert _post(pets_api, {"X-API-Key": "sk_nope_nope"}).status_code == 401


def test_revoked_key_is_refused_at_once(pets_api: Any) -> None:
    from sightings.api.auth import key_store

    store = key_store(pets_api.settings)
    plain, record = store.create("temp", "write")
    assert _post(pets_api, {"X-API-Key": plain}).status_code == 200
    store.revoke(record.key_id)
    assert _post(pets_api, {"X-API-Key": plain}).status_code == 401
    assert [k.revoked_at is not None for k in store.list_keys() if k.key_id == record.key_id] == [True]
    refused = store.audit_entries(key_id=record.key_id)[0]  # newest first: the refused write names its key
    assert (refused.status, refused.role, refused.key_id) == (401, None, record.key_id)


def test_keys_are_stored_hashed_with_a_salt_each(tmp_path: Path) -> None:
    from sightings.api.auth import KeyStore
    from sightings.core.errors import InputError, NotFoundError

    store = KeyStore(tmp_path / "security.sqlite")
    a, rec_a = store.create("a", "read")
    b, _ = store.create("b", "read")
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    for plain in (a, b):
        assert plain.split("_", 2)[2].encode() not in raw  # no secret in clear, in the DB or its WAL
    assert store.verify(a) is not None and store.verify(a).role == "read"  # type: ignore[union-attr]
    assert store.verify(a[:-1] + ("x" if a[-1] != "x" else "y")) is None
    assert store.verify("garbage") is None
    with pytest.raises(InputError, match="role"):
        store.create("c", "root")
    with pytest.raises(NotFoundError):
        store.revoke("nosuchkey")
    assert rec_a.key_id in a


def test_audit_log_records_who_changed_what(pets_api: Any) -> None:
    from sightings.api.auth import key_store

    _post(pets_api, pets_api.headers("write"))
    _post(pets_api, {})
    entries = key_store(pets_api.settings).audit_entries()
    assert (entries[0].key_id, entries[0].status, entries[0].method) == (None, 401, "POST")
    write_id = pets_api.keys["write"].split("_")[1]
    assert (entries[1].key_id, entries[1].role, entries[1].path, entries[1].status) == (
        write_id,
        "write",
        "/v1/pets/posts",
        200,
    )
    pets_api.client.get("/v1/pets/posts/none")  # reads are not audited
    assert len(key_store(pets_api.settings).audit_entries()) == 2


def test_no_key_is_ever_logged(pets_api: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secret = pets_api.keys["write"]
    _post(pets_api, {"X-API-Key": secret}, text="Нашли кошку, тел. 8 916 123-45-67")
    _post(pets_api, {"X-API-Key": secret + "wrong"})
    _post(pets_api, {"X-API-Key": API_KEY})
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.args}" for r in caplog.records)
    assert caplog.records, "expected some DEBUG logs to search"
    for plain in (secret, secret.split("_", 2)[2], API_KEY):
        assert plain not in logged


def test_bot_tokens_are_secrets_not_shown_by_config_show(monkeypatch: pytest.MonkeyPatch) -> None:
    from sightings.cli import app

    monkeypatch.setenv("SIGHTINGS_PETS__BOTS__TELEGRAM_TOKEN", "123:very-secret-token")
    monkeypatch.setenv("SIGHTINGS_PETS__API_KEYS", '["plain-pets-key"]')
    result = CliRunner().invoke(app, ["config", "show", "--json"])
    assert result.exit_code == 0, result.output
    assert "very-secret-token" not in result.output and "plain-pets-key" not in result.output


def test_keys_cli_create_list_revoke_audit() -> None:
    from sightings.cli import app

    runner = CliRunner()
    created = runner.invoke(app, ["keys", "create", "--name", "bot", "--role", "write", "--json"])
    assert created.exit_code == 0, created.output
    import json

    info = json.loads(created.stdout)
    assert info["key"].startswith(f"sk_{info['key_id']}_") and info["role"] == "write"
    listed = runner.invoke(app, ["keys", "list", "--json"])
    assert info["key"] not in listed.stdout and info["key_id"] in listed.stdout
    assert runner.invoke(app, ["keys", "revoke", info["key_id"]]).exit_code == 0
    missing = runner.invoke(app, ["keys", "revoke", "nope"])
    assert missing.exit_code == 4 and "no such API key" in missing.output
    bad = runner.invoke(app, ["keys", "create", "--name", "x", "--role", "root"])
    assert bad.exit_code == 2 and "role" in bad.output
    assert runner.invoke(app, ["keys", "audit", "--json"]).exit_code == 0
