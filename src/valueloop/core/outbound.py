"""The outbound-connection guard: the one way Valueloop dials an address that a user (not the operator) supplied.

Warehouses today; Jira, Confluence, outbound webhooks and other integrations later. Nothing else opens sockets to
user-supplied addresses: callers ask ``check_target`` for the checked addresses and connect to those (database
drivers through ``libpq_address``), or send HTTP through ``http_request``.

Invariants:
- A target is checked, then connected to *by address*: a name is resolved once (by the resolver configured in
  ``settings.OUTBOUND_RESOLVER``) and the connection goes to the addresses that were checked, so a second DNS
  answer (rebinding) is never used.
- Refused unless the operator lists them in ``VALUELOOP_OUTBOUND_ALLOW`` (``settings.OUTBOUND_ALLOW``: host names,
  addresses, CIDR networks): loopback, private, link-local, multicast, reserved and otherwise not publicly
  routable addresses. Never allowed, listed or not: the unspecified address (0.0.0.0, ::) and the cloud-metadata
  endpoints (``METADATA_ADDRESSES``).
- A name is refused when any one of its addresses is refused: a mixed answer is rebinding waiting to happen.
- Addresses are classified after canonicalisation: IPv4-mapped IPv6 (``::ffff:127.0.0.1``) is the IPv4 address it
  maps; 6to4 and NAT64 addresses are judged by the IPv4 address they carry; the legacy IPv4 spellings that
  ``inet_aton`` accepts (``2130706433``, ``0x7f000001``, ``0177.0.0.1``, ``127.1``) are the address they spell. A
  host that looks numeric but spells no address is refused, never handed to a resolver.
- HTTP: http and https only; every hop of a redirect is checked again (each is a new request through
  ``GuardedTransport``); TLS is verified against the host name (kept in SNI and in the Host header); connect and
  read timeouts, an overall deadline and a cap on the decoded body; proxies from the environment are ignored.
- Refusals (``OutboundRefused``, a 422 naming the field) say why; a permitted connection that fails raises
  ``OutboundFailed`` (502) with a generic message, and the details go to the ``valueloop.outbound`` log.
"""

from __future__ import annotations

import functools
import ipaddress
import json as jsonlib
import logging
import re
import socket
import ssl
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from .errors import DomainError, Invalid

logger = logging.getLogger("valueloop.outbound")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Instance-metadata endpoints hand out the server's cloud credentials: AWS (IMDS, ECS, EKS pod identity, IPv6 IMDS),
# GCP, Azure (IMDS and the WireServer, which sits in public address space), OpenStack, Oracle, Alibaba.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",
        "169.254.170.2",
        "169.254.170.23",
        "fd00:ec2::254",
        "fd00:ec2::23",
        "168.63.129.16",
        "192.0.0.192",
        "100.100.100.200",
    )
)
UNSPECIFIED, METADATA = "unspecified", "cloud metadata"
NEVER_ALLOWED = frozenset({UNSPECIFIED, METADATA})
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

_LEGACY_PART = re.compile(r"0[xX][0-9a-fA-F]*|[0-9]+")
_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")

HTTP_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
HTTP_DEADLINE_SECONDS = 30.0
HTTP_MAX_BYTES = 10 * 1024 * 1024
HTTP_MAX_REDIRECTS = 5
HTTP_DEFAULT_PORTS = {"http": 80, "https": 443}


class OutboundRefused(Invalid):
    """The guard will not connect to a target. ``reason``: loopback, private, link-local, multicast, reserved,
    not publicly routable, unspecified, cloud metadata, unresolvable, malformed, port or scheme."""

    code = "outbound_refused"

    def __init__(self, message: str, *, reason: str, host: str, field: str = "host"):
        super().__init__(message, fields={field: message})
        self.reason = reason
        self.host = host


class OutboundFailed(DomainError):
    """A permitted connection failed (refused, timed out, TLS, too large). The message is generic on purpose: what
    a remote end answered is not shown to users (it turns the server into a port scanner); the log has it."""

    status = 502
    code = "outbound_failed"


# --- hosts and addresses ------------------------------------------------------------------------------------------


def _refuse(host: str, reason: str, message: str, field: str) -> OutboundRefused:
    return OutboundRefused(message, reason=reason, host=host, field=field)


def _legacy_ipv4(text: str) -> ipaddress.IPv4Address | bool | None:
    """The address an ``inet_aton`` spelling names; None when ``text`` is not numeric, False when it is numeric but
    names no address."""
    parts = text.split(".")
    if not all(_LEGACY_PART.fullmatch(p) for p in parts):
        return None
    if len(parts) > 4:
        return False
    values = []
    for part in parts:
        try:
            if part[:2].lower() == "0x":
                values.append(int(part[2:] or "0", 16))
            elif len(part) > 1 and part.startswith("0"):
                values.append(int(part, 8))
            else:
                values.append(int(part))
        except ValueError:  # 08, 09: octal spellings with a non-octal digit
            return False
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (4 - len(head)):
        return False
    number = last
    for i, value in enumerate(head):
        number |= value << (8 * (3 - i))
    return ipaddress.IPv4Address(number)


def _canonical_ip(ip: IPAddress) -> IPAddress:
    # An IPv4-mapped IPv6 address reaches the IPv4 host: judge and dial the IPv4 address.
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def canonical_host(host: str, *, field: str = "host") -> IPAddress | str:
    """An IP literal in any spelling as its address, else the lower-case ASCII (IDNA) name without a trailing dot.
    Raises ``OutboundRefused`` (malformed) for anything else."""
    raw = (host or "").strip()
    text = raw[1:-1] if raw.startswith("[") and raw.endswith("]") else raw
    malformed = _refuse(raw, "malformed", f"'{raw[:100]}' is not a valid host name or address.", field)
    if not text or len(text) > 253 or any(c.isspace() or ord(c) < 32 for c in text):
        raise malformed
    try:
        return _canonical_ip(ipaddress.ip_address(text))
    except ValueError:
        pass
    name = text[:-1] if text.endswith(".") else text
    legacy = _legacy_ipv4(name)
    if legacy is False:
        raise malformed
    if legacy is not None:
        return legacy
    try:
        name = name.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise malformed from None
    if len(name) > 253 or not all(_LABEL.fullmatch(label) for label in name.split(".")):
        raise malformed
    return name


def address_class(ip: IPAddress) -> str | None:
    """Why ``ip`` is not an ordinary public address (loopback, private, ...), or None when it is one."""
    ip = _canonical_ip(ip)
    if isinstance(ip, ipaddress.IPv6Address):
        carried = ip.sixtofour or (ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else None)
        if carried is not None:
            return address_class(carried)
        if ip.teredo is not None:
            return "reserved"
    if ip in METADATA_ADDRESSES:
        return METADATA
    if ip.is_unspecified:
        return UNSPECIFIED
    for reason, flag in (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
    ):
        if flag:
            return reason
    return None if ip.is_global else "not publicly routable"


# --- the operator's allow list and the resolver -------------------------------------------------------------------


@dataclass(frozen=True)
class AllowList:
    names: frozenset[str]
    networks: tuple[IPNetwork, ...]

    def allows(self, ip: IPAddress, name: str | None) -> bool:
        return (name is not None and name in self.names) or any(
            ip.version == net.version and ip in net for net in self.networks
        )


@functools.lru_cache(maxsize=8)
def parse_allow(entries: tuple[str, ...]) -> AllowList:
    """Parse ``VALUELOOP_OUTBOUND_ALLOW`` entries: host names, addresses and CIDR networks."""
    names: set[str] = set()
    networks: list[IPNetwork] = []
    for entry in entries:
        text = entry.strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text.strip("[]"), strict=False))
            continue
        except ValueError:
            pass
        try:
            parsed = canonical_host(text)
        except OutboundRefused:
            raise ImproperlyConfigured(
                f"VALUELOOP_OUTBOUND_ALLOW: {text!r} is neither a host name, an address nor a CIDR network."
            ) from None
        if isinstance(parsed, str):
            names.add(parsed)
        else:
            networks.append(ipaddress.ip_network(parsed))
    return AllowList(frozenset(names), tuple(networks))


def allow_list() -> AllowList:
    return parse_allow(tuple(settings.OUTBOUND_ALLOW))


class SystemResolver:
    """The operating system's resolver (``getaddrinfo``)."""

    def resolve(self, name: str, port: int) -> list[str]:
        return [info[4][0] for info in socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)]


class StaticResolver:
    """A fake for tests (settings-wired): names resolve from a table, any other name does not resolve."""

    def __init__(self, hosts: Mapping[str, Sequence[str]]):
        self.hosts = {name.lower(): list(addresses) for name, addresses in hosts.items()}

    def resolve(self, name: str, port: int) -> list[str]:
        try:
            return list(self.hosts[name])
        except KeyError:
            raise socket.gaierror(socket.EAI_NONAME, f"{name} is not in the test resolver's table") from None


def resolver():
    config = settings.OUTBOUND_RESOLVER
    return import_string(config["BACKEND"])(**config.get("OPTIONS", {}))


# --- the check ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A checked target: connect to ``addresses`` (in this order), never to ``host`` again."""

    host: str  # the canonical name, or the address when the target was an IP literal
    port: int
    addresses: tuple[str, ...]
    is_name: bool


def _not_allowed(host: str, reason: str, field: str, *, literal: bool) -> OutboundRefused:
    if reason in NEVER_ALLOWED:
        where = f"{host} ({reason} address)" if literal else f"{host}: it resolves to a forbidden address ({reason})"
        message = f"Valueloop never connects to {where}."
    elif literal:
        message = (
            f"{host} is not a public address ({reason}); this server connects to such addresses only when its "
            "operator lists them in VALUELOOP_OUTBOUND_ALLOW."
        )
    else:  # which address a name resolves to stays in the log: it describes the server's network
        message = (
            f"{host} resolves to an address that is not public; this server connects to such addresses only when "
            "its operator lists them in VALUELOOP_OUTBOUND_ALLOW."
        )
    return _refuse(host, reason, message, field)


def _refusal(ip: IPAddress, name: str | None, allow: AllowList) -> str | None:
    reason = address_class(ip)
    if reason is None or reason in NEVER_ALLOWED or not allow.allows(ip, name):
        return reason
    return None


def check_target(host: str, port: int, *, field: str = "host") -> Target:
    """Check ``host:port`` against the policy and resolve it once; raises ``OutboundRefused`` naming the reason."""
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise _refuse(str(host), "port", f"Port {port} is not a TCP port (1-65535).", field)
    parsed = canonical_host(host, field=field)
    allow = allow_list()
    if not isinstance(parsed, str):
        reason = _refusal(parsed, None, allow)
        if reason:
            logger.warning("outbound: refused %s port %s (%s)", parsed, port, reason)
            raise _not_allowed(str(parsed), reason, field, literal=True)
        return Target(str(parsed), port, (str(parsed),), is_name=False)
    try:
        answers = resolver().resolve(parsed, port)
        addresses = list(dict.fromkeys(_canonical_ip(ipaddress.ip_address(a)) for a in answers))
    except (OSError, UnicodeError, ValueError) as exc:
        logger.warning("outbound: %s did not resolve: %s", parsed, exc)
        addresses = []
    if not addresses:
        raise _refuse(parsed, "unresolvable", f"{parsed} could not be resolved to an address.", field)
    for ip in addresses:
        reason = _refusal(ip, parsed, allow)
        if reason:
            logger.warning("outbound: refused %s port %s (resolves to %s, %s)", parsed, port, ip, reason)
            raise _not_allowed(parsed, reason, field, literal=False)
    return Target(parsed, port, tuple(str(ip) for ip in addresses), is_name=True)


def libpq_address(target: Target) -> dict[str, str]:
    """libpq (psycopg) connection parameters that dial exactly the checked addresses: ``hostaddr`` is what libpq
    connects to, so it resolves nothing; ``host`` keeps the name for TLS verification (``sslmode=verify-full``)."""
    return {
        "host": ",".join([target.host] * len(target.addresses)),
        "hostaddr": ",".join(target.addresses),
        "port": str(target.port),
    }


# --- HTTP ---------------------------------------------------------------------------------------------------------


def _url_port(url: httpx.URL) -> int:
    return url.port or HTTP_DEFAULT_PORTS.get(url.scheme, 0)


def _check_scheme(url: httpx.URL, field: str) -> None:
    if url.scheme not in HTTP_DEFAULT_PORTS:
        raise _refuse(url.host, "scheme", f"Only http and https URLs are allowed, not {url.scheme or 'none'}.", field)


def _check_url(url: httpx.URL, field: str) -> Target:
    _check_scheme(url, field)
    return check_target(url.host, _url_port(url), field=field)


class GuardedTransport(httpx.HTTPTransport):
    """An httpx transport that checks every request's host and connects to the checked address.

    Each redirect hop is a request of its own, so it is checked again. The URL's host stays in the Host header and,
    for https, in SNI and certificate verification (httpcore's ``sni_hostname`` extension)."""

    def __init__(self, *, field: str = "url", **kwargs: Any):
        super().__init__(**kwargs)
        self.field = field

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        target = _check_url(request.url, self.field)
        extensions = dict(request.extensions)
        if request.url.scheme == "https" and target.is_name:
            extensions["sni_hostname"] = target.host
        failure: httpx.ConnectError | None = None
        for address in target.addresses:
            pinned = httpx.Request(
                request.method,
                request.url.copy_with(host=address),
                headers=request.headers,  # carries Host: the name, not the address
                stream=request.stream,
                extensions=extensions,
            )
            try:
                return super().handle_request(pinned)
            except httpx.ConnectError as exc:  # nothing was sent yet: try the next checked address
                failure = exc
        assert failure is not None
        raise failure


@dataclass(frozen=True)
class HttpResult:
    status: int
    headers: httpx.Headers
    content: bytes
    url: str  # after redirects

    def json(self) -> Any:
        return jsonlib.loads(self.content)


class _Limit(Exception):
    pass


def _safe_url(url: httpx.URL) -> str:
    # Logged URLs lose credentials and query strings (tokens travel there).
    return str(url.copy_with(username=None, password=None, query=None, fragment=None))


def _read_capped(response: httpx.Response, max_bytes: int, deadline: float) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _Limit(f"declared body of {declared} bytes is over the {max_bytes}-byte cap")
    body = bytearray()
    for chunk in response.iter_bytes():  # decoded: the cap also bounds what a compressed body expands to
        body += chunk
        if len(body) > max_bytes:
            raise _Limit(f"body over the {max_bytes}-byte cap")
        if time.monotonic() > deadline:
            raise _Limit("overall deadline passed")
    return bytes(body)


def http_request(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    content: bytes | str | None = None,
    json: Any = None,
    field: str = "url",
    timeout: httpx.Timeout = HTTP_TIMEOUT,
    deadline_seconds: float = HTTP_DEADLINE_SECONDS,
    max_bytes: int = HTTP_MAX_BYTES,
    max_redirects: int = HTTP_MAX_REDIRECTS,
    verify: bool | ssl.SSLContext = True,
) -> HttpResult:
    """Send one request through the guard, following at most ``max_redirects`` redirects (each hop checked), and
    read at most ``max_bytes`` of decoded body within ``deadline_seconds``.

    Raises ``OutboundRefused`` when the URL or a redirect hop is refused, ``OutboundFailed`` when the connection,
    TLS, a timeout, the deadline or the size cap fails (the details are logged, not returned)."""
    try:
        first = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        raise _refuse(str(url)[:100], "malformed", "Not a valid URL.", field) from None
    _check_scheme(first, field)  # the host is checked by the transport, once per hop
    deadline = time.monotonic() + deadline_seconds
    transport = GuardedTransport(field=field, verify=verify)
    with httpx.Client(transport=transport, trust_env=False, follow_redirects=False, timeout=timeout) as client:
        request = client.build_request(method, first, headers=headers, content=content, json=json)
        try:
            for _hop in range(max_redirects + 1):
                response = client.send(request, stream=True)
                try:
                    if response.next_request is None:
                        body = _read_capped(response, max_bytes, deadline)
                        return HttpResult(response.status_code, response.headers, body, str(response.url))
                finally:
                    response.close()  # a redirect's body is never read
                request = response.next_request
            raise _Limit(f"more than {max_redirects} redirects")
        except (httpx.HTTPError, _Limit) as exc:
            logger.warning("outbound: %s %s failed: %s: %s", method, _safe_url(request.url), type(exc).__name__, exc)
            message = f"Could not get an answer from {first.host}; the server log has the details."
            raise OutboundFailed(message) from None


def check_settings(**kwargs) -> list:
    """System check: the allow list parses."""
    from django.core.checks import Error

    try:
        allow_list()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), id="valueloop.E001")]
    return []
