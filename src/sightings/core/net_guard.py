"""The outbound-URL guard (SSRF): an allow-list of schemes, and no private, loopback or link-local address unless
configured; plus the one default timeout of outbound calls.

    policy = UrlPolicy.from_settings(settings, schemes=("http", "https"))
    check_url("http://169.254.169.254/latest", policy)    # InputError: a link-local address
    check_url("https://example.org/cat.jpg", policy)       # the URL, unchanged

Every address the host name resolves to is checked (a name that resolves to 127.0.0.1 is refused like the
address itself). ``security.allow_private_urls`` lifts the address rule for all hosts (tests with fakes on
127.0.0.1, a trusted LAN); ``security.allowed_url_hosts`` lifts it for named hosts or networks only (the camera
VLAN ``10.20.0.0/16``, ``nvr.local``). The scheme rule always applies.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sightings.core.errors import ConfigError, InputError

__all__ = ["DEFAULT_TIMEOUT_S", "UrlPolicy", "check_url", "is_public_address", "open_url"]

DEFAULT_TIMEOUT_S = 30.0

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str], Sequence[str]]


def _resolve(host: str) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as err:
        raise InputError(f"cannot resolve host {host!r} ({err})", where="url") from None
    return sorted({str(info[4][0]) for info in infos})


def is_public_address(address: IPAddress) -> bool:
    """A globally routable unicast address: not private, loopback, link-local, shared (CGNAT), multicast,
    reserved or unspecified (an IPv4-mapped IPv6 address is judged as its IPv4 address)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


@dataclass(frozen=True, slots=True)
class UrlPolicy:
    """Which URLs an outbound call may reach."""

    schemes: frozenset[str] = frozenset({"http", "https"})
    allow_private: bool = False
    allowed_hosts: tuple[str, ...] = ()
    timeout_s: float = DEFAULT_TIMEOUT_S
    resolver: Resolver = field(default=_resolve, compare=False)

    def __post_init__(self) -> None:
        for entry in self.allowed_hosts:
            if "/" in entry:
                try:
                    ipaddress.ip_network(entry, strict=False)
                except ValueError as err:
                    raise ConfigError(f"not a network: {err}", where="security.allowed_url_hosts") from None

    @classmethod
    def from_settings(cls, settings: Any, *, schemes: Iterable[str] = ("http", "https")) -> UrlPolicy:
        """The policy of ``settings.security`` for calls that may use ``schemes``."""
        sec = settings.security
        return cls(
            frozenset(s.lower() for s in schemes),
            sec.allow_private_urls,
            tuple(sec.allowed_url_hosts),
            sec.outbound_timeout_s,
        )

    @classmethod
    def configured(cls, *, schemes: Iterable[str] = ("http", "https")) -> UrlPolicy:
        """:meth:`from_settings` of the loaded settings (``get_settings()``): what the CLI and jobs check against."""
        from sightings.core.config import get_settings

        return cls.from_settings(get_settings(), schemes=schemes)

    def _host_allowed(self, host: str, addresses: Sequence[IPAddress]) -> bool:
        for entry in self.allowed_hosts:
            if "/" in entry:
                network = ipaddress.ip_network(entry, strict=False)
                if addresses and all(a in network for a in addresses):
                    return True
            elif entry.lower() == host:
                return True
        return False


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def check_url(url: str, policy: UrlPolicy, *, where: str = "url") -> str:
    """``url`` when ``policy`` lets an outbound call reach it; else InputError naming the rule it breaks."""
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError for a bad port
    except ValueError as err:
        raise InputError(f"not a valid URL ({err})", where=where) from None
    scheme = parts.scheme.lower()
    if scheme not in policy.schemes:
        allowed = ", ".join(sorted(policy.schemes))
        raise InputError(f"URL scheme {scheme or 'none'!r} is not allowed here (allowed: {allowed})", where=where)
    if scheme == "file":
        return url
    host = (parts.hostname or "").lower()
    if not host:
        raise InputError("URL has no host", where=where)
    if port == 0:
        raise InputError("URL port 0 is not allowed", where=where)
    if policy.allow_private:
        return url
    literal = _literal(host)
    addresses = [literal] if literal is not None else [ipaddress.ip_address(a) for a in policy.resolver(host)]
    if not addresses:
        raise InputError(f"host {host!r} resolves to no address", where=where)
    if policy._host_allowed(host, addresses):
        return url
    bad = [a for a in addresses if not is_public_address(a)]
    if bad:
        hint = "set security.allow_private_urls or list the host in security.allowed_url_hosts"
        reason = f"URL host {host!r} is a private, loopback or link-local address ({bad[0]}): refused"
        raise InputError(reason, where=where, hint=hint)
    return url


def open_url(url: str, policy: UrlPolicy, *, where: str = "url", timeout_s: float | None = None) -> Any:
    """``urllib.request.urlopen`` of a checked URL, with the policy's timeout; every redirect is checked too."""
    import urllib.request

    check_url(url, policy, where=where)

    class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
        def redirect_request(  # noqa: PLR0917 - urllib's signature
            self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str
        ) -> Any:
            check_url(newurl, policy, where=f"{where} (redirect)")
            return super().redirect_request(req, fp, code, msg, headers, newurl)

    opener = urllib.request.build_opener(_CheckedRedirects)
    return opener.open(url, timeout=timeout_s if timeout_s is not None else policy.timeout_s)
