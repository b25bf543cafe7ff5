"""Test zones for mail authentication: a customer domain publishing SPF, DMARC and a DKIM
key in the local DNS server (tests/dns_server.py), and mail signed with that key."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import dkim

from tests.dns_server import LocalDns

KEYS = Path(__file__).resolve().parent / "fixtures" / "dkim"
PRIVATE_KEY = (KEYS / "test_key.pem").read_bytes()
PUBLIC_KEY = "".join(line for line in (KEYS / "test_key.pub").read_text().splitlines()
                     if not line.startswith("-----"))
SELECTOR = "s1"
# A documentation address (RFC 5737): the domain's only permitted sender, never loopback.
LISTED_IP = "192.0.2.10"


@dataclass(frozen=True)
class Domain:
    name: str
    policy: str

    def address(self, local: str = "ada") -> str:
        return f"{local}@{self.name}"


@contextmanager
def published_domain(dns: LocalDns, policy: str = "reject", *, spf: str | None = None,
                     dkim_key: bool = True) -> Iterator[Domain]:
    """A fresh domain (unique per test) with SPF `-all` for LISTED_IP only, a DMARC record
    of `policy` and the test DKIM key under selector s1."""
    name = f"cust-{uuid.uuid4().hex[:10]}.example"
    records = [(name, spf or f"v=spf1 ip4:{LISTED_IP} -all"),
               (f"_dmarc.{name}", f"v=DMARC1; p={policy}")]
    if dkim_key:
        records.append((f"{SELECTOR}._domainkey.{name}", f"v=DKIM1; k=rsa; p={PUBLIC_KEY}"))
    for host, value in records:
        dns.zones.add(host, value)
    try:
        yield Domain(name, policy)
    finally:
        for host, _ in records:
            dns.zones.remove(host)


def message(sender: str, *, to: str = "support@desk.example", subject: str = "Invoice 42",
            body: str = "Please correct the invoice.", extra: dict[str, str] | None = None
            ) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = f"Ada <{sender}>", to, subject
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2])
    msg["Date"] = "Fri, 04 Dec 2026 10:00:00 +0000"
    for name, value in (extra or {}).items():
        msg[name] = value
    msg.set_content(body)
    return bytes(msg).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def signed(raw: bytes, domain: str) -> bytes:
    """The mail with a DKIM-Signature of `domain` (selector s1, the test key) on top."""
    signature = dkim.sign(raw, SELECTOR.encode(), domain.encode(), PRIVATE_KEY,
                          include_headers=[b"from", b"to", b"subject", b"message-id", b"date"])
    return signature + raw
