"""Tokens and keys from settings: a ``SecretStr`` or a file (a Docker/Kubernetes secret); never logged.

token = read_secret(bots.vk_token, bots.vk_token_file, "pets.bots.vk_token")
redact("... bot123:ABC/getMe ...", [token])    # → "... bot***/getMe ..."
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pydantic import SecretStr

from sightings.core.errors import ConfigError

__all__ = ["read_secret", "redact"]


def read_secret(value: SecretStr | None, file: Path | None, where: str, *, required: bool = True) -> str | None:
    """The secret's text from ``value``, else from ``file`` (stripped); a :class:`ConfigError` when required and
    neither is set. The message names the setting and the environment variable, never the value."""
    if value is not None and value.get_secret_value().strip():
        return value.get_secret_value().strip()
    if file is not None:
        try:
            text = Path(file).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read the secret file: {exc.__class__.__name__}", where=f"{where}_file") from None
        if not text:
            raise ConfigError("the secret file is empty", where=f"{where}_file")
        return text
    if required:
        env = "SIGHTINGS_" + where.replace(".", "__").upper()
        raise ConfigError(f"not set (set {env} or {where}_file)", where=where)
    return None


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every secret replaced by ``***`` (error lines that may quote a URL holding a token)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
