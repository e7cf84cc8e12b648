"""One error hierarchy for the whole project.

    SightingsError                      base; ``str(err)`` is one line: "<where>: <reason>"
    ├── InputError                      bad user input: file, image, video, CSV, value (CLI exit 2, HTTP 422)
    │   ├── MediaError                  a file that is not decodable media (corrupt, truncated, wrong type)
    │   ├── UnsupportedMediaError       decodable container but a codec/format we cannot read (HTTP 415)
    │   └── TooLargeError               over a configured size limit (HTTP 413)
    ├── ConfigError                     a bad configuration value or an unknown backend name (exit 3)
    ├── NotFoundError                   a file, model, identity or record that does not exist (exit 4, HTTP 404)
    ├── BackendError                    a backend failed while running (exit 5, HTTP 502)
    │   └── BackendUnavailableError     an optional dependency/server/model is missing (install hint) (HTTP 503)
    └── IntegrityError                  a checksum or stored-data consistency check failed (exit 6)

Every error carries ``where`` (a file path, a config field, a URL) and ``reason``; the CLI prints
``str(err)`` on one line and exits with ``err.exit_code``; the API maps ``err.http_status``.
"""

from __future__ import annotations

from os import PathLike

__all__ = [
    "BackendError",
    "BackendUnavailableError",
    "ConfigError",
    "InputError",
    "IntegrityError",
    "MediaError",
    "NotFoundError",
    "SightingsError",
    "TooLargeError",
    "UnsupportedMediaError",
]


class SightingsError(Exception):
    """Base of every error the project raises on purpose."""

    exit_code: int = 1
    http_status: int = 500

    def __init__(self, reason: str, *, where: str | PathLike[str] | None = None, hint: str | None = None) -> None:
        self.reason = reason
        self.where = None if where is None else str(where)
        self.hint = hint
        super().__init__(self.__str__())

    def __str__(self) -> str:
        """``where: reason (hint)`` on one line: line breaks that came in with a reason (a third-party message quoting
        damaged input, say) are written as ``\\n``."""
        text = f"{self.where}: {self.reason}" if self.where else self.reason
        if self.hint:
            text = f"{text} ({self.hint})"
        return text.replace("\r", "\\r").replace("\n", "\\n")


class InputError(SightingsError):
    """The input given by a user is invalid."""

    exit_code = 2
    http_status = 422


class MediaError(InputError):
    """A file is not readable media: empty, truncated, corrupt, or of another type."""


class UnsupportedMediaError(InputError):
    """Media of a type or codec we do not support."""

    http_status = 415


class TooLargeError(InputError):
    """Input over a configured size limit."""

    http_status = 413


class ConfigError(SightingsError):
    """A configuration value is invalid, or a backend name is unknown."""

    exit_code = 3
    http_status = 500


class NotFoundError(SightingsError):
    """A file, model or record does not exist."""

    exit_code = 4
    http_status = 404


class BackendError(SightingsError):
    """A backend failed while doing its work."""

    exit_code = 5
    http_status = 502


class BackendUnavailableError(BackendError):
    """An optional dependency, model or server is not available."""

    http_status = 503


class IntegrityError(SightingsError):
    """A checksum or a consistency check of stored data failed."""

    exit_code = 6
    http_status = 500
