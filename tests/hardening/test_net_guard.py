"""The outbound-URL guard: schemes, private/loopback/link-local refusal, names resolving to them, redirects."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from sightings.core.errors import ConfigError, InputError
from sightings.core.net_guard import UrlPolicy, check_url, open_url

pytestmark = pytest.mark.hardening


def _public(_: str) -> list[str]:
    return ["93.184.216.34"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://localhost:8000/",
        "http://10.1.2.3/cam",
        "http://192.168.0.10/",
        "http://172.16.5.5/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[fe80::1]/",
        "http://0.0.0.0/",
        "http://100.64.0.1/",
    ],
)
def test_private_loopback_link_local_refused(url: str) -> None:
    with pytest.raises(InputError, match="private, loopback or link-local"):
        check_url(url, UrlPolicy())


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://x/", "ftp://example.org/a", "javascript:alert(1)", ""])
def test_schemes_outside_the_allow_list_refused(url: str) -> None:
    with pytest.raises(InputError, match="scheme"):
        check_url(url, UrlPolicy(resolver=_public))


def test_public_hosts_pass_and_names_are_resolved() -> None:
    assert check_url("https://example.org/cat.jpg", UrlPolicy(resolver=_public)) == "https://example.org/cat.jpg"
    rebinding = UrlPolicy(resolver=lambda h: ["93.184.216.34", "127.0.0.1"])  # any private address is enough
    with pytest.raises(InputError, match=r"127\.0\.0\.1"):
        check_url("https://evil.example/", rebinding)
    with pytest.raises(InputError, match=r"(?i)port"):
        check_url("http://example.org:99999/", UrlPolicy(resolver=_public))
    with pytest.raises(InputError, match="no host"):
        check_url("http:///path", UrlPolicy())


def test_configured_exceptions() -> None:
    assert check_url("http://127.0.0.1:9/", UrlPolicy(allow_private=True))
    lan = UrlPolicy(allowed_hosts=("10.20.0.0/16", "nvr.local"), resolver=lambda h: ["10.99.0.1"])
    assert check_url("rtsp://10.20.3.4/s", UrlPolicy(frozenset({"rtsp"}), allowed_hosts=("10.20.0.0/16",)))
    assert check_url("http://nvr.local/api", lan)
    with pytest.raises(InputError):
        check_url("http://10.21.0.1/", lan)
    with pytest.raises(ConfigError, match="allowed_url_hosts"):
        UrlPolicy(allowed_hosts=("10.0.0.0/99",))
    assert check_url("file:///data/a.mp4", UrlPolicy(frozenset({"file"})))


def test_policy_from_settings() -> None:
    from sightings.core.config import load_settings

    settings = load_settings(overrides={"security.allowed_url_hosts": ["cams.lan"], "security.outbound_timeout_s": 5})
    policy = UrlPolicy.from_settings(settings.settings, schemes=("https",))
    assert policy.schemes == frozenset({"https"}) and policy.allowed_hosts == ("cams.lan",) and policy.timeout_s == 5
    assert not policy.allow_private


class _Redirect(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(302)
        self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def redirecting() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Redirect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/a.mp4"
    server.shutdown()
    server.server_close()


def test_redirects_are_checked_too(redirecting: str) -> None:
    policy = UrlPolicy(allowed_hosts=("127.0.0.1",), timeout_s=2)  # the fake itself is allowed by configuration
    with pytest.raises(InputError, match=r"redirect.*169\.254\.169\.254"):
        open_url(redirecting, policy)
