"""A small authoritative DNS server on loopback, serving the test zones (dnslib, UDP).

Mail authentication looks up SPF, DKIM keys and DMARC policies; the tests point
HELPDESK_DNS_RESOLVER here (tests/conftest.py does so for the whole session), so no test asks
the machine's resolver (there is no network here, and that resolver may hang). A name the
zones do not hold is answered NXDOMAIN at once.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dnslib import QTYPE, RCODE, RR, TXT, A
from dnslib.server import BaseResolver, DNSServer

HOST = "127.0.0.1"


class Zones(BaseResolver):
    """name -> [(qtype, value)]; tests add and remove records while the server runs."""

    def __init__(self) -> None:
        self.records: dict[str, list[tuple[str, str]]] = {}
        self.lock = threading.Lock()
        self.asked: list[tuple[str, str]] = []

    def add(self, name: str, value: str, qtype: str = "TXT") -> None:
        with self.lock:
            self.records.setdefault(_key(name), []).append((qtype.upper(), value))

    def remove(self, name: str) -> None:
        with self.lock:
            self.records.pop(_key(name), None)

    def resolve(self, request: Any, handler: Any) -> Any:
        reply = request.reply()
        name = str(request.q.qname)
        qtype = QTYPE[request.q.qtype]
        with self.lock:
            self.asked.append((_key(name), qtype))
            found = list(self.records.get(_key(name), ()))
        if not found:
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        if any(kind == "SERVFAIL" for kind, _ in found):  # a name whose lookups fail
            reply.header.rcode = RCODE.SERVFAIL
            return reply
        for kind, value in found:
            if kind != qtype:
                continue
            if kind == "TXT":  # a TXT string holds 255 bytes: longer values are split
                chunks = [value[i:i + 255] for i in range(0, len(value), 255)] or [""]
                reply.add_answer(RR(name, QTYPE.TXT, rdata=TXT(chunks), ttl=60))
            elif kind == "A":
                reply.add_answer(RR(name, QTYPE.A, rdata=A(value), ttl=60))
        return reply


def _key(name: str) -> str:
    return name.lower().rstrip(".")


class _Quiet:
    """dnslib's logger, silenced (it prints every query by default)."""

    def __getattr__(self, _name: str) -> Any:
        return lambda *args, **kwargs: None


class LocalDns:
    def __init__(self) -> None:
        self.zones = Zones()
        self.server = DNSServer(self.zones, address=HOST, port=0, logger=_Quiet())
        self.port: int = self.server.server.server_address[1]

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    def start(self) -> LocalDns:
        self.server.start_thread()
        return self

    def stop(self) -> None:
        self.server.stop()
        self.server.server.server_close()


@contextmanager
def silent_dns() -> Iterator[str]:
    """A UDP port that takes queries and never answers: a resolver that times out."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, 0))
        yield f"{HOST}:{sock.getsockname()[1]}"
