"""Where provider requests may go, checked where the request is sent.

Two rules, one module:

* A provider address (an account's base URL, on save) and every connection we open (at
  connect time) must not reach this machine or the internal network: each resolved address is
  checked, and the address actually connected to is checked again, so a DNS answer that changes
  between the check and the call (rebinding) still cannot pass. Loopback is allowed only when
  ``ALLOW_LOOPBACK_PROVIDER_URLS`` is on (tests, the demo).
* A URL a provider sent us (a webhook's ``resource_url``, a next-page link) is parsed once, by
  urllib3's ``parse_url`` — the parser requests uses to send it — and is followed only when it
  names exactly the account's configured origin (scheme, host, port), with no credentials,
  backslashes or control characters. Only then does the request carry our auth.
"""
from __future__ import annotations

import ipaddress
import os
import re
import socket

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import LocationParseError, NewConnectionError
from urllib3.util import parse_url

from . import errors as e

DEFAULT_PORTS = {"http": 80, "https": 443}
# Backslash, space, C0 controls and DEL: one regex scan (a per-character Python loop was a tenth
# of a webhook intake's CPU, every webhook's resource_url being checked at intake).
_REFUSED_CHARS = re.compile(r"[\x00-\x20\x7f\\]")


class BlockedAddress(ValueError):
    """The host is, or resolves to, an address provider traffic must never reach."""


def loopback_allowed() -> bool:
    """The app's setting; outside an app (a script, a unit test) the same environment variable."""
    from flask import current_app, has_app_context

    if has_app_context():
        return bool(current_app.config.get("ALLOW_LOOPBACK_PROVIDER_URLS"))
    return os.environ.get("ALLOW_LOOPBACK_PROVIDER_URLS", "").strip().lower() in {"1", "true", "yes", "on"}


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    ip = ipaddress.ip_address(value.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def address_problem(value: str, *, allow_loopback: bool) -> str | None:
    """Why ``value`` (an IP address) must not be contacted, or None."""
    ip = _address(value)
    if ip.is_loopback:
        return None if allow_loopback else "this machine (loopback)"
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_private or ip.is_reserved or not ip.is_global:
        return "a private network address"
    return None


def is_loopback_name(host: str) -> bool:
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return _address(name).is_loopback
    except ValueError:
        return False


def check_host(host: str, port: int | None = None, *, allow_loopback: bool, resolve: bool = True) -> None:
    """Raise BlockedAddress when ``host`` is a blocked name or resolves to a blocked address.
    A name that does not resolve now is not refused here (DNS may be down at save time): the
    connection-time check still applies."""
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        if not allow_loopback:
            raise BlockedAddress(f"{host} is this machine (loopback)")
        return
    if not resolve:
        return
    try:
        infos = socket.getaddrinfo(name, port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, OSError):
        return
    for info in infos:
        problem = address_problem(info[4][0], allow_loopback=allow_loopback)
        if problem:
            raise BlockedAddress(f"{host} resolves to {problem}")


def parse_sent_url(url: str):
    """Parse ``url`` with urllib3 (requests' own parser) after refusing what parsers disagree on."""
    if not isinstance(url, str) or not url:
        raise ValueError("not a URL")
    if _REFUSED_CHARS.search(url):
        raise ValueError("backslashes, spaces and control characters are not allowed")
    try:
        parsed = parse_url(url)
    except LocationParseError:
        raise ValueError("not a valid URL") from None
    if parsed.scheme not in DEFAULT_PORTS or not parsed.host:
        raise ValueError("not an http(s) URL")
    if parsed.auth or "@" in (parsed.netloc or ""):
        raise ValueError("credentials in a URL are not allowed")
    return parsed


def origin(parsed) -> tuple[str, str, int]:
    return parsed.scheme, parsed.host.lower().rstrip("."), parsed.port or DEFAULT_PORTS[parsed.scheme]


def _in_family(parsed, base, family: tuple[str, ...]) -> bool:
    """Both the configured host and ``parsed`` are https on 443 under one declared domain
    (ShipStation's numbered API hosts): never for a custom address an admin typed."""
    def under(host: str) -> bool:
        return any(host.endswith("." + domain) or host == domain for domain in family)

    scheme, host, port = origin(parsed)
    b_scheme, b_host, b_port = origin(base)
    return (scheme, port, b_scheme, b_port) == ("https", 443, "https", 443) and under(b_host) and under(host)


def own_url(base_url: str, url: str, family: tuple[str, ...] = ()) -> str:
    """``url`` as it will be sent, when it points at the configured ``base_url``'s origin (or,
    for a provider declaring a host ``family``, another https host of that family while the
    configured one is too); otherwise e.ProviderRejected (nothing is sent, no credentials leave)."""
    try:
        parsed = parse_sent_url(url)
    except ValueError as exc:
        raise e.ProviderRejected(f"Refusing to call a URL the provider sent: {exc}.") from None
    base = parse_url(base_url)
    if origin(parsed) != origin(base) and not _in_family(parsed, base, family):
        raise e.ProviderRejected(
            f"Refusing to call {parsed.host}: only the account's configured host "
            f"{parse_url(base_url).host} receives our credentials.")
    return parsed.url


def sendable_url(url: str) -> str:
    """``url`` as urllib3 will send it, or e.ProviderRejected when it is ambiguous."""
    try:
        return parse_sent_url(url).url
    except ValueError as exc:
        raise e.ProviderRejected(f"Refusing to call a URL the provider sent: {exc}.") from None


def is_own_url(base_url: str, url: str, family: tuple[str, ...] = ()) -> bool:
    try:
        own_url(base_url, url, family)
        return True
    except e.ProviderRejected:
        return False


# ---- connection time ----------------------------------------------------------------------

class _PeerCheck:
    """Mixin: the socket is checked right after the TCP connect, before TLS or any byte is sent."""

    allow_loopback = False

    def _new_conn(self):
        sock = super()._new_conn()
        try:
            peer = sock.getpeername()[0]
        except OSError:
            return sock
        problem = address_problem(peer, allow_loopback=self.allow_loopback)
        if problem:
            sock.close()
            raise NewConnectionError(self, f"refused: {self.host} is {problem} ({peer})")
        return sock


class _GuardedHTTPConnection(_PeerCheck, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_PeerCheck, HTTPSConnection):
    pass


class GuardedAdapter(HTTPAdapter):
    """A requests adapter whose connections refuse blocked peer addresses after connecting
    (the address really used, whatever DNS answered earlier)."""

    def __init__(self, allow_loopback: bool, **kwargs):
        self.allow_loopback = allow_loopback
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        loopback = self.allow_loopback

        class HTTPPool(HTTPConnectionPool):
            ConnectionCls = type("Conn", (_GuardedHTTPConnection,), {"allow_loopback": loopback})

        class HTTPSPool(HTTPSConnectionPool):
            ConnectionCls = type("Conn", (_GuardedHTTPSConnection,), {"allow_loopback": loopback})

        self.poolmanager.pool_classes_by_scheme = {"http": HTTPPool, "https": HTTPSPool}


def guard_session(session, allow_loopback: bool | None = None) -> None:
    adapter = GuardedAdapter(loopback_allowed() if allow_loopback is None else allow_loopback)
    session.mount("http://", adapter)
    session.mount("https://", adapter)


def guarded_session(allow_loopback: bool | None = None):
    """A requests Session whose connections pass the peer-address check."""
    import requests

    session = requests.Session()
    guard_session(session, allow_loopback)
    return session
