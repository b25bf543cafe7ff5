"""The DNS server mail authentication asks (HELPDESK_DNS_RESOLVER), as written in settings."""

from __future__ import annotations

import ipaddress


def resolver_address(value: str) -> tuple[str, int] | None:
    """`host`, `host:port`, `[v6]:port` or a bare IPv6 address; None for empty (the system's
    resolver). ValueError for anything else: the resolver must be an IP address."""
    value = value.strip()
    if not value:
        return None
    host, port = value, 53
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        if rest:
            port = _port(rest.removeprefix(":"))
    elif value.count(":") == 1:
        host, _, rest = value.partition(":")
        port = _port(rest)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address with an optional port "
                         "(e.g. 127.0.0.1, 127.0.0.1:5353, [::1]:53)") from None
    return host, port


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 0 < port < 65536:
        raise ValueError(f"{text!r} is not a port (1-65535)")
    return port
