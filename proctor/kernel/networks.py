"""Network addresses as the detectors compare them.

An IPv6 host has many addresses: every device of a home its own, and a new one every day
with privacy extensions. Compared whole, one household looks like strangers and one PC
like a new place each day; compared by /64 (one home's or office's network), they look as
an IPv4 address does. Stored addresses stay as the server saw them.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache


@lru_cache(maxsize=1 << 16)
def _ipv6(ip: str) -> ipaddress.IPv6Address | None:
    try:
        return ipaddress.IPv6Address(ip.split("%", 1)[0])
    except ValueError:
        return None


def network_of(ip: str) -> str:
    """The address as the account graph sees it: an IPv4 address as it is, an IPv6 address
    as its /64. A /64 is one home's or office's network: each device in it has addresses
    of its own, and privacy extensions give it a new one every day, so the full IPv6
    address would split one household into strangers and one PC into a new place each
    day. An IPv4 address seen through IPv6 (``::ffff:a.b.c.d``) is that IPv4 address."""
    if ":" not in ip:
        return ip
    a = _ipv6(ip)
    if a is None:
        return ip
    if a.ipv4_mapped is not None:
        return str(a.ipv4_mapped)
    return str(ipaddress.IPv6Network((int(a) >> 64 << 64, 64)))


def city_of(ip: str) -> str:
    """The network region an address belongs to, standing for its city: the first two
    octets of an IPv4 address, the /32 of an IPv6 one (an operator's block; finer IPv6
    prefixes say nothing about a city, and a full address would be a new "city" every
    day)."""
    if ":" in ip:
        a = _ipv6(ip)
        if a is not None:
            if a.ipv4_mapped is not None:
                return city_of(str(a.ipv4_mapped))
            return str(ipaddress.IPv6Network((int(a) >> 96 << 96, 32)))
    parts = ip.split(".")
    return ".".join(parts[:2]) if len(parts) == 4 else ip
