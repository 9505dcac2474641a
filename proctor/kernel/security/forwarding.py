"""Who the client is behind a reverse proxy: trusting X-Forwarded-* only from our proxies.

Behind nginx every request arrives from nginx's address, so the sign-in budget per source
address, the addresses recorded on sessions and exam events, and the scheme the CSRF check
compares with would all be the proxy's. The proxy names the client in ``X-Forwarded-For``
and the scheme in ``X-Forwarded-Proto``; anybody else can send those headers too, so they
are believed only when the peer is one of the configured proxies, and the client is the
nearest address in the chain that is not one of them (what a client wrote further left
is ignored).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(spec: str) -> tuple[Network, ...]:
    """Comma-separated addresses or CIDR networks; ValueError naming a bad entry."""
    networks = []
    for entry in (e.strip() for e in spec.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError as exc:
            raise ValueError(f"not an address or network: {entry!r}") from exc
    return tuple(networks)


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_trusted(peer: str, trusted: tuple[Network, ...]) -> bool:
    """True when ``peer`` is one of our proxies."""
    address = _address(peer)
    return address is not None and any(address in network for network in trusted)


def client_address(peer: str, forwarded_for: Iterable[str], trusted: tuple[Network, ...]) -> str:
    """The client's address: ``peer`` itself unless it is one of our proxies.

    ``forwarded_for`` are the X-Forwarded-For header values in order. The chain is read from
    the right (nearest hop first), skipping our own proxies; the first other address is the
    client. Anything that is not an address there means the chain cannot be read: the peer
    is kept.
    """
    if not is_trusted(peer, trusted):
        return peer
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            return peer
        if not any(address in network for network in trusted):
            return str(address)
    # Every hop is one of our proxies (a request made by a proxy itself), or none was given.
    return str(_address(hops[0])) if hops else peer


def forwarded_scheme(
    peer: str, forwarded_proto: Iterable[str], trusted: tuple[Network, ...]
) -> str | None:
    """``http`` or ``https`` as our proxy saw it; None when there is nothing to believe."""
    if not is_trusted(peer, trusted):
        return None
    values = [v.strip().lower() for value in forwarded_proto for v in value.split(",")]
    return values[-1] if values and values[-1] in ("http", "https") else None
