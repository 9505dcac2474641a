"""Client addresses behind reverse proxies: which hops are trusted, and who the client is.

Only proxies the operator lists (`PROCTOR_TRUSTED_PROXIES`: addresses or networks) are
believed about the client: the address is the right-most one in `X-Forwarded-For` that is
not itself a trusted proxy. A client talking to the app directly cannot plant an address,
since its own peer address is not trusted and the header is then ignored.
"""

from __future__ import annotations

import ipaddress

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(spec: str) -> tuple[Network, ...]:
    """``"10.0.1.1, 10.0.2.0/24"`` as networks; raises ValueError naming a bad entry."""
    nets = []
    for part in (p.strip() for p in spec.split(",")):
        if part:
            try:
                nets.append(ipaddress.ip_network(part, strict=False))
            except ValueError as exc:
                raise ValueError(f"not an address or network: {part!r}") from exc
    return tuple(nets)


def _trusted(address: str, nets: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in nets)


def client_address(peer: str, forwarded_for: str, nets: tuple[Network, ...]) -> str:
    """The client's address: the peer, unless the peer is a trusted proxy."""
    if not nets or not _trusted(peer, nets):
        return peer
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        if not _trusted(hop, nets):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # a malformed header: keep the proxy's own address
    return peer
