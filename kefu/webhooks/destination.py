"""Where webhooks may go: public addresses only, unless the operator allows private ones.

A webhook URL is a request the server makes from inside the operator's network. Pointed at
169.254.169.254 (cloud metadata), at localhost or at an internal service, it would let whoever
holds an admin account (or has stolen one) reach what the firewall keeps out (server-side
request forgery; the receiver's answer is never read, but its status code and timing are). So
by default a URL whose host is, or resolves to, a loopback, private, link-local, shared,
reserved or multicast address is refused: at registration when the URL names such an address or
``localhost``, and at every delivery for every address its name resolves to. The delivery then
connects to the address that was checked (the name still goes in ``Host`` and in TLS's server
name, so certificates are verified against it), so a name that resolves elsewhere a moment later
(DNS rebinding) changes nothing, and redirects are never followed. Receivers on the operator's
own network: ``KEFU_WEBHOOK_ALLOW_PRIVATE=true``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit


class Refused(ValueError):
    """The destination is not a public address."""


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone says nothing here
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def refusal(url: str) -> str | None:
    """Why ``url`` cannot be registered (its host is a non-public address or localhost), or
    None. Names are checked when a delivery resolves them."""
    host = (urlsplit(url).hostname or "").rstrip(".")
    if not host:
        return "the URL has no host"
    if host == "localhost" or host.endswith(".localhost"):
        return f"{host} is this machine, not a public address"
    try:
        public = is_public(host)
    except ValueError:
        return None  # a name
    return None if public else f"{host} is not a public address"


@dataclass(frozen=True)
class Pinned:
    """A request to the checked address, carrying the original host."""

    url: str
    headers: dict[str, str]
    extensions: dict[str, Any] = field(default_factory=dict)


async def pin(url: str) -> Pinned:
    """Resolve ``url``'s host; :class:`Refused` unless every address is public."""
    parts = urlsplit(url)
    host = parts.hostname
    if not host:
        raise Refused("the URL has no host")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    why = refusal(url)
    if why is not None:
        raise Refused(why)
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port,
                                                             type=socket.SOCK_STREAM)
    except OSError as exc:
        raise Refused(f"{host} does not resolve ({exc.strerror or exc})") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
    private = [a for a in addresses if not is_public(a)]
    if private or not addresses:
        raise Refused(f"{host} resolves to {private[0] if private else 'nothing'}, not a public "
                      "address (KEFU_WEBHOOK_ALLOW_PRIVATE allows it)")
    address = addresses[0]
    netloc = f"[{address}]" if ":" in address else address
    if parts.port is not None:
        netloc = f"{netloc}:{parts.port}"
    host_header = host if parts.port is None else f"{host}:{parts.port}"
    if ":" in host:  # an IPv6 literal keeps its brackets in Host
        host_header = f"[{host}]" if parts.port is None else f"[{host}]:{parts.port}"
    return Pinned(urlunsplit(parts._replace(netloc=netloc)), {"Host": host_header},
                  {"sni_hostname": host} if parts.scheme == "https" else {})
