"""Sender rule patterns: an address (`ada@shop.example`) or a domain (`shop.example`), and
which rules may apply to one sender (issue 20, item 4). Pure rules, no I/O."""

from __future__ import annotations

import re

MAX_PATTERN = 320
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_TLD = re.compile(r"^([a-z]{2,63}|xn--[a-z0-9-]{1,59})$")
_LOCAL = re.compile(r"^[a-z0-9!#$%&'+/=?^_`{|}~.-]{1,64}$")

# Mail providers anyone can sign up with: blocking one of these blocks half the world, and
# allowing one lets anyone in. One-click spam offers only the address for them.
FREE_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "ymail.com", "outlook.com",
    "hotmail.com", "hotmail.co.uk", "live.com", "msn.com", "icloud.com", "me.com", "mac.com",
    "aol.com", "gmx.de", "gmx.net", "gmx.com", "web.de", "proton.me", "protonmail.com",
    "mail.com", "mail.ru", "yandex.ru", "yandex.com", "qq.com", "163.com", "126.com",
    "zoho.com", "fastmail.com", "t-online.de", "orange.fr", "free.fr", "libero.it",
})


class BadPattern(ValueError):
    """Not an address or a domain a rule can name (wildcards, spaces, a bare TLD...)."""


def normalize_domain(value: str) -> str:
    domain = value.strip().lower().rstrip(".")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise BadPattern(f"{value!r} is not a domain name") from None
    labels = domain.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels) \
            or not _TLD.match(labels[-1]) or len(domain) > 253:
        raise BadPattern(f"{value!r} is not a domain name (like shop.example)")
    return domain


def normalize_pattern(value: str) -> str:
    """The stored form of an address or a domain: lower case, IDNA; anything else refused."""
    text = value.strip()
    if not text or len(text) > MAX_PATTERN or any(c.isspace() for c in text):
        raise BadPattern("give one address (ada@shop.example) or one domain (shop.example)")
    if "*" in text or "?" in text:
        raise BadPattern("no wildcards: a domain rule covers the domain and its subdomains")
    if "@" not in text:
        return normalize_domain(text)
    local, _, domain = text.rpartition("@")
    local = local.lower()
    if not _LOCAL.match(local) or local.startswith(".") or local.endswith(".") or ".." in local:
        raise BadPattern(f"{value!r} is not an email address")
    return f"{local}@{normalize_domain(domain)}"


def is_address(pattern: str) -> bool:
    return "@" in pattern


def candidates(address: str) -> list[str]:
    """The patterns that may name this sender, most specific first: the address, its domain,
    then each parent domain down to (not including) the bare TLD."""
    address = address.strip().lower()
    _, at, domain = address.rpartition("@")
    if not at or not domain:
        return [address] if address else []
    labels = domain.rstrip(".").split(".")
    return [address] + [".".join(labels[i:]) for i in range(max(len(labels) - 1, 1))]


def domain_of(address: str) -> str:
    return address.strip().lower().rpartition("@")[2]


def is_free_mail(domain: str) -> bool:
    return domain.lower() in FREE_MAIL_DOMAINS
