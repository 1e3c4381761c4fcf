"""The one way Latchkey calls a URL an operator typed: the outbound-request guard.

A provider's issuer (and from it discovery, token, userinfo and JWKS), and later webhook URLs, are
supplied by whoever manages an application, so a request to them must not become a way into our own
network (server-side request forgery). Every such request goes through `fetch` (or `get`/`post`):

- https only, and the address it reaches must be public: loopback, private (RFC 1918, IPv6 ULA),
  carrier-grade NAT, link-local, cloud metadata (169.254.169.254, fd00:ec2::254), unspecified,
  multicast, documentation and other reserved addresses are refused (`OutboundRefused`).
  LATCHKEY_OUTBOUND_ALLOW_PRIVATE (development and tests only) also allows http, loopback and
  private addresses; metadata, link-local and the rest stay refused even then.
- The host name is resolved once, EVERY address it resolves to is checked (one bad address refuses
  the request: a name that mixes public and private answers is not to be trusted), and the request
  then connects to the first checked address itself, not to the name, so a second DNS answer cannot
  swap in another address between the check and the connection (DNS rebinding). The TLS handshake
  still sends and verifies the real host name (SNI and certificate), and the Host header is the
  name's. Limit: the address is pinned per request, not per connection attempt, so if that one
  address is down the request fails rather than trying the next; environment proxies (HTTPS_PROXY)
  are ignored, since a proxy would make the connection to the name for us, unchecked.
- Redirects are followed only to the same scheme, host and port (at most MAX_REDIRECTS), each hop
  checked again; a redirect elsewhere is refused. Webhooks follow none (`follow_redirects=False`).
- Connect and read timeouts come from settings, and the whole body must arrive within the read
  timeout in total (a server dripping one byte at a time cannot hold a worker); the body is capped
  at LATCHKEY_OUTBOUND_MAX_BYTES.

This module is plumbing: it imports no app (tests/config/test_layering.py).
"""

from __future__ import annotations

import ipaddress
import json
import socket
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

MAX_REDIRECTS = 3
_DEFAULT_PORTS = {"http": 80, "https": 443}
_METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
_PRIVATE = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")]
_CGNAT = ipaddress.ip_network("100.64.0.0/10")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class OutboundError(Exception):
    """An outbound request did not give an answer; `reason` says why in words a person can act on."""

    def __init__(self, reason: str, *, url: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.url = url


class OutboundRefused(OutboundError):
    """The guard refused the request: scheme, address, redirect or size against the rules above."""


class OutboundUnavailable(OutboundError):
    """The request was allowed but failed: timeout, connection refused, TLS error."""


@dataclass(frozen=True)
class OutboundResponse:
    """What came back (the body is read in full, within the cap)."""

    status_code: int
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes = b""

    def json(self) -> Any:
        try:
            return json.loads(self.content)
        except ValueError as exc:
            raise OutboundRefused(f"{self.url} did not answer with JSON.", url=self.url) from exc


# --- settings --------------------------------------------------------------------------------------


def allow_private() -> bool:
    return bool(getattr(settings, "LATCHKEY_OUTBOUND_ALLOW_PRIVATE", False))


def timeouts() -> tuple[float, float]:
    return (
        float(getattr(settings, "LATCHKEY_OUTBOUND_CONNECT_TIMEOUT", 3)),
        float(getattr(settings, "LATCHKEY_OUTBOUND_READ_TIMEOUT", 5)),
    )


def ca_bundle() -> str | bool:
    """The CA certificates to verify against: a file (an enterprise's own CA), or True for the public ones."""
    return getattr(settings, "LATCHKEY_OUTBOUND_CA_BUNDLE", "") or True


def max_bytes() -> int:
    return int(getattr(settings, "LATCHKEY_OUTBOUND_MAX_BYTES", 1024 * 1024))


# --- the rules -------------------------------------------------------------------------------------


def address_problem(address: IPAddress) -> str | None:
    """Why `address` may not be reached (None: it may). The classes are checked most specific first."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address_problem(address.ipv4_mapped)
    if address in _METADATA:
        return "a cloud metadata address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_loopback:
        return None if allow_private() else "a loopback address"
    if any(address in network for network in _PRIVATE):
        return None if allow_private() else "a private address"
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return "a shared (carrier-grade NAT) address"
    if not address.is_global:
        return "a reserved address"
    return None


def check_url(url: str) -> tuple[str, str, int]:
    """The rules a URL can be held to without the network (also used when an operator saves one):
    http(s) with a host, https unless LATCHKEY_OUTBOUND_ALLOW_PRIVATE, no user:password@, and a
    host that is an address or "localhost" must be allowed. Returns (scheme, host, port).
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise OutboundRefused(f"{url!r} is not a valid URL.", url=url) from exc
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host:
        raise OutboundRefused("The URL must be an absolute https URL.", url=url)
    if scheme != "https" and not allow_private():
        raise OutboundRefused("The URL must use https.", url=url)
    if parts.username is not None or parts.password is not None:
        raise OutboundRefused("The URL must not contain a user name or password.", url=url)
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        _refuse_address(literal, host, url)
    elif (host == "localhost" or host.endswith(".localhost")) and not allow_private():
        raise OutboundRefused(f"{host} is a loopback address.", url=url)
    return scheme, host, port or _DEFAULT_PORTS[scheme]


def _refuse_address(address: IPAddress, host: str, url: str) -> None:
    problem = address_problem(address)
    if problem:
        shown = host if host == str(address) else f"{host} ({address})"
        raise OutboundRefused(f"{shown} is {problem}, which Latchkey does not call.", url=url)


def resolve(host: str, port: int, url: str) -> list[IPAddress]:
    """Every address `host` resolves to, each checked; refused if any one is not allowed."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise OutboundUnavailable(f"{host} could not be resolved.", url=url) from exc
    addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))
    if not addresses:
        raise OutboundUnavailable(f"{host} has no address.", url=url)
    for address in addresses:
        _refuse_address(address, host, url)
    return addresses


# --- the request -----------------------------------------------------------------------------------


class _PinnedAdapter(HTTPAdapter):
    """Connects to an IP address while TLS sends and verifies `hostname` (urllib3's pool arguments)."""

    def __init__(self, hostname: str) -> None:
        self._hostname = hostname
        super().__init__(max_retries=0)

    def init_poolmanager(self, connections, maxsize, block=False, **pool_kwargs):
        pool_kwargs.update(server_hostname=self._hostname, assert_hostname=self._hostname)
        super().init_poolmanager(connections, maxsize, block=block, **pool_kwargs)


def _send_once(method: str, url: str, *, headers: dict[str, str], data: Any, deadline: float) -> OutboundResponse:
    scheme, host, port = check_url(url)
    address = resolve(host, port, url)[0]
    parts = urlsplit(url)
    pinned_host = f"[{address}]" if address.version == 6 else str(address)
    pinned_url = urlunsplit((scheme, f"{pinned_host}:{port}", parts.path or "/", parts.query, ""))
    host_header = host if port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    connect_timeout, read_timeout = timeouts()
    limit = max_bytes()
    with requests.Session() as session:
        session.trust_env = False  # no environment proxies or .netrc: the proxy would connect unchecked
        session.verify = ca_bundle()
        session.mount(f"{scheme}://", _PinnedAdapter(host))
        try:
            response = session.request(
                method,
                pinned_url,
                headers={**headers, "Host": host_header},
                data=data,
                timeout=(connect_timeout, read_timeout),
                allow_redirects=False,
                stream=True,
            )
        except requests.Timeout as exc:
            raise OutboundUnavailable(f"{host} did not answer in time.", url=url) from exc
        except requests.RequestException as exc:
            raise OutboundUnavailable(f"{host} could not be reached ({type(exc).__name__}).", url=url) from exc
        with response:
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > limit:
                raise OutboundRefused(f"The answer from {host} is larger than {limit} bytes.", url=url)
            body = bytearray()
            try:
                for chunk in response.iter_content(chunk_size=16384):
                    body += chunk
                    if len(body) > limit:
                        raise OutboundRefused(f"The answer from {host} is larger than {limit} bytes.", url=url)
                    if time.monotonic() > deadline:
                        raise OutboundUnavailable(f"{host} did not finish answering in time.", url=url)
            except requests.RequestException as exc:
                raise OutboundUnavailable(f"{host} did not finish answering ({type(exc).__name__}).", url=url) from exc
            return OutboundResponse(
                status_code=response.status_code, url=url, headers=dict(response.headers), content=bytes(body)
            )


def fetch(
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    data: Any = None,
    follow_redirects: bool = True,
) -> OutboundResponse:
    """Send one request to an operator-supplied URL under the rules above (see the module docstring).

    Raises OutboundRefused (the rules said no) or OutboundUnavailable (no answer in time); an HTTP
    error status is an answer, returned like any other. With `follow_redirects` False a redirect is
    returned as the answer (webhooks: a receiver that moved must be re-registered, never followed).
    """
    deadline = time.monotonic() + sum(timeouts())
    origin = check_url(url)
    current = url
    for _hop in range(MAX_REDIRECTS + 1):
        response = _send_once(method, current, headers=dict(headers or {}), data=data, deadline=deadline)
        location = response.headers.get("Location")
        if not follow_redirects or response.status_code not in (301, 302, 303, 307, 308) or not location:
            return response
        target = urljoin(current, location)
        if check_url(target) != origin:
            raise OutboundRefused(f"{url} redirected to another host ({urlsplit(target).netloc}).", url=url)
        current = target
        if response.status_code == 303 or (response.status_code in (301, 302) and method.upper() == "POST"):
            method, data = "GET", None
    raise OutboundRefused(f"{url} redirected more than {MAX_REDIRECTS} times.", url=url)


def get(url: str, *, headers: dict[str, str] | None = None) -> OutboundResponse:
    return fetch("GET", url, headers=headers)


def post(url: str, *, data: Any = None, headers: dict[str, str] | None = None) -> OutboundResponse:
    return fetch("POST", url, headers=headers, data=data)
