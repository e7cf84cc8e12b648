"""API keys with roles (read < write < admin), stored hashed, and the audit log of writes.

    sightings keys create --role write --name bot      # prints the key once: sk_<id>_<secret>
    router.post("/posts", dependencies=[Depends(require_role("write", legacy=pets_keys, env=...))])

Keys live in ``security.keys_db`` (default ``<data_dir>/security.sqlite``, SQLite in WAL mode): the id in clear
(for lookup), the secret only as a salted scrypt hash. A key is ``sk_<id>_<secret>``; the id is also what the
audit log and the rate limiter name. The older per-solution keys (``wildlife.api_keys``, ``pets.api_keys``:
plain secrets from the environment or a secret file) keep working as **write** keys of their own solution.

Answers: no key at all on the server → 403 naming the variable to set; a missing or wrong key → 401; a key whose
role is too low → 403. Keys are compared in constant time and never logged (only their id is).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Header, HTTPException, Request
from pydantic import SecretStr

from sightings.core.errors import BackendUnavailableError, InputError, NotFoundError
from sightings.core.sqlite_wal import enable_wal

__all__ = [
    "AUDIT_SCOPE",
    "ROLES",
    "ApiKey",
    "AuditEntry",
    "KeyStore",
    "Principal",
    "check_api_key",
    "key_store",
    "require_role",
]

ROLES = ("read", "write", "admin")
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
AUDIT_SCOPE = "sightings.audit"  # ASGI scope key the security middleware (api/limits.py) reads after the answer

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, salt BLOB NOT NULL, hash BLOB NOT NULL,
    created_at TEXT NOT NULL, revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, key_id TEXT, role TEXT, method TEXT NOT NULL,
    path TEXT NOT NULL, status INTEGER NOT NULL, client TEXT
);
CREATE INDEX IF NOT EXISTS ix_audit_log_at ON audit_log (at);
"""


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InputError(f"must be one of {', '.join(ROLES)}, got {role!r}", where="role")
    return role


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A stored key (never its secret)."""

    key_id: str
    name: str
    role: str
    created_at: datetime
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Principal:
    """Who made a request: a stored key's id, or ``config:<solution>`` for a key from the settings."""

    key_id: str
    role: str
    name: str

    def allows(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audited request: who (key id), what (method, path, status), when."""

    at: datetime
    key_id: str | None
    role: str | None
    method: str
    path: str
    status: int
    client: str | None


def _hash(secret: str, salt: bytes) -> bytes:
    return hashlib.scrypt(secret.encode("utf-8"), salt=salt, **_SCRYPT)


def _parse_time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


class KeyStore:
    """API keys (hashed) and the audit log in one SQLite file (WAL; safe across processes)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as db:
                db.executescript(_SCHEMA)
        except sqlite3.Error as err:
            raise BackendUnavailableError(f"cannot open the key store: {err}", where=self.path) from None
        self._verified: dict[tuple[str, bytes], bool] = {}  # scrypt is slow on purpose: remember results
        self._lock = threading.Lock()

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
        try:
            enable_wal(db)
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA busy_timeout=10000")
            yield db
        finally:
            db.close()

    # ------------------------------------------------------------------ keys
    def create(self, name: str, role: str) -> tuple[str, ApiKey]:
        """A new key: ``(plain key, record)``; the plain key is shown this once and stored only hashed."""
        check_role(role)
        if not name.strip() or len(name) > 128:
            raise InputError("a key needs a name of 1-128 characters", where="name")
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        salt = secrets.token_bytes(16)
        now = datetime.now(UTC)
        with self._connect() as db:
            db.execute(
                "INSERT INTO api_keys (key_id, name, role, salt, hash, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (key_id, name.strip(), role, salt, _hash(secret, salt), now.isoformat()),
            )
        return f"sk_{key_id}_{secret}", ApiKey(key_id, name.strip(), role, now)

    def list_keys(self, *, include_revoked: bool = True) -> list[ApiKey]:
        sql = "SELECT key_id, name, role, created_at, revoked_at FROM api_keys"
        if not include_revoked:
            sql += " WHERE revoked_at IS NULL"
        with self._connect() as db:
            rows = db.execute(sql + " ORDER BY created_at").fetchall()
        return [ApiKey(r[0], r[1], r[2], datetime.fromisoformat(r[3]), _parse_time(r[4])) for r in rows]

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key at once (every process: the row is read on each request)."""
        with self._connect() as db:
            done = db.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL",
                (datetime.now(UTC).isoformat(), key_id),
            ).rowcount
        found = [k for k in self.list_keys() if k.key_id == key_id]
        if not found:
            raise NotFoundError("no such API key", where=f"key {key_id}")
        if not done and found[0].revoked_at is None:  # pragma: no cover - a race with another revoke
            raise NotFoundError("key could not be revoked", where=f"key {key_id}")
        return found[0]

    def has_active_keys(self) -> bool:
        with self._connect() as db:
            return db.execute("SELECT 1 FROM api_keys WHERE revoked_at IS NULL LIMIT 1").fetchone() is not None

    def verify(self, given: str) -> Principal | None:
        """The key's principal, or ``None`` for an unknown, wrong or revoked key."""
        parts = given.split("_", 2)
        if len(parts) != 3 or parts[0] != "sk" or not parts[1] or not parts[2]:
            return None
        key_id, secret = parts[1], parts[2]
        with self._connect() as db:
            row = db.execute(
                "SELECT name, role, salt, hash FROM api_keys WHERE key_id = ? AND revoked_at IS NULL", (key_id,)
            ).fetchone()
        if row is None:
            return None
        name, role, salt, stored = row
        memo = (key_id, hashlib.sha256(given.encode("utf-8")).digest())
        with self._lock:
            ok = self._verified.get(memo)
        if ok is None:
            ok = hmac.compare_digest(_hash(secret, salt), stored)
            with self._lock:
                if len(self._verified) > 10_000:
                    self._verified.clear()
                self._verified[memo] = ok
        return Principal(key_id, role, name) if ok else None

    # ------------------------------------------------------------------ audit log
    def audit(
        self, *, key_id: str | None, role: str | None, method: str, path: str, status: int, client: str | None
    ) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT INTO audit_log (at, key_id, role, method, path, status, client) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (datetime.now(UTC).isoformat(), key_id, role, method, path[:500], status, client),
            )

    def audit_entries(self, *, limit: int = 100, key_id: str | None = None) -> list[AuditEntry]:
        sql = "SELECT at, key_id, role, method, path, status, client FROM audit_log"
        args: tuple[Any, ...] = ()
        if key_id is not None:
            sql += " WHERE key_id = ?"
            args = (key_id,)
        with self._connect() as db:
            rows = db.execute(sql + " ORDER BY id DESC LIMIT ?", (*args, limit)).fetchall()
        return [AuditEntry(datetime.fromisoformat(r[0]), *r[1:]) for r in rows]


def keys_db_path(settings: Any) -> Path:
    """``security.keys_db``, default ``<data_dir>/security.sqlite``."""
    path: Path | None = settings.security.keys_db
    return path if path is not None else Path(settings.data_dir) / "security.sqlite"


_STORES: dict[Path, KeyStore] = {}
_STORES_LOCK = threading.Lock()


def key_store(settings: Any) -> KeyStore:
    """The key store of these settings (one per file per process)."""
    path = keys_db_path(settings)
    with _STORES_LOCK:
        store = _STORES.get(path)
        if store is None:
            store = _STORES[path] = KeyStore(path)
        return store


def _legacy_principal(keys: Sequence[SecretStr], given: str, name: str) -> Principal | None:
    for key in keys:
        plain = key.get_secret_value()
        if plain and secrets.compare_digest(given.encode("utf-8"), plain.encode("utf-8")):
            digest = base64.b32encode(hashlib.sha256(plain.encode("utf-8")).digest()).decode()[:8].lower()
            return Principal(f"config-{name}-{digest}", "write", f"{name}.api_keys")
    return None


def authenticate(
    request: Request,
    given: str | None,
    role: str,
    *,
    legacy: Sequence[SecretStr] = (),
    legacy_name: str = "",
    env: str = "",
) -> Principal:
    """The principal of ``given`` allowed ``role``, or an HTTPException (401/403)."""
    audit = request.scope.get(AUDIT_SCOPE)
    if isinstance(audit, dict) and role != "read":
        audit["role_needed"] = role
    store = key_store(request.app.state.settings)
    if not legacy and not store.has_active_keys():
        where = f"set {env} or create one with `sightings keys create`" if env else "`sightings keys create`"
        raise HTTPException(403, f"no API keys are configured on this server ({where})")
    principal = None
    if given:
        principal = _legacy_principal(legacy, given, legacy_name) or store.verify(given)
    if principal is None:
        parts = (given or "").split("_", 2)
        if isinstance(audit, dict) and len(parts) == 3 and parts[0] == "sk" and parts[1]:
            audit["claimed_key_id"] = parts[1][:32]  # a revoked or wrong key is audited by the id it claims
        raise HTTPException(401, "missing or wrong X-API-Key header", headers={"WWW-Authenticate": "X-API-Key"})
    if isinstance(audit, dict):
        audit["principal"] = principal
    if not principal.allows(role):
        raise HTTPException(403, f"key {principal.key_id} has role {principal.role!r}; this needs {role!r}")
    return principal


def require_role(
    role: str, *, legacy: Callable[[Any], Sequence[SecretStr]] | None = None, name: str = "", env: str = ""
) -> Callable[..., Principal]:
    """A FastAPI dependency: a key of at least ``role``. ``legacy(settings)`` gives the solution's configured
    plain keys (accepted as write keys; ``env`` names their variable in the 403 answer)."""
    check_role(role)

    def dependency(request: Request, x_api_key: Annotated[str | None, Header()] = None) -> Principal:
        keys = legacy(request.app.state.settings) if legacy is not None else ()
        return authenticate(request, x_api_key, role, legacy=keys, legacy_name=name, env=env)

    dependency.__name__ = f"require_{role}"
    return dependency


def check_api_key(keys: Sequence[SecretStr], given: str | None, *, env: str) -> None:
    """The older check (configured plain keys only): 403 when none is configured, 401 when ``given`` is not one."""
    plain = [k.get_secret_value() for k in keys]
    if not plain:
        raise HTTPException(403, f"no API keys are configured on this server (set {env})")
    if not given or not any(secrets.compare_digest(given.encode(), k.encode()) for k in plain):
        raise HTTPException(401, "missing or wrong X-API-Key header", headers={"WWW-Authenticate": "X-API-Key"})
