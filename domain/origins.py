"""Web origins of the sites that may embed our form and chat widget.

An origin is what a browser sends in `Origin` and what CSP's frame-ancestors and CORS compare:
scheme, host and port, nothing else. We keep them normalized (lowercase, no default port, no
path) so a stored origin and a sent one compare as plain strings.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_origin(value: str) -> str:
    """`https://Shop.Example:443/` -> `https://shop.example`; ValueError for anything that is
    not an http(s) origin (a path, a query, credentials, a wildcard)."""
    parts = urlsplit(value.strip())
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) origin")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username \
            or "*" in parts.netloc:
        raise ValueError(f"{value!r}: an origin is scheme://host[:port] only")
    try:
        port = parts.port
    except ValueError as err:
        raise ValueError(f"{value!r}: bad port") from err
    host = parts.hostname.lower()
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    shown_port = "" if port in (None, DEFAULT_PORTS[parts.scheme]) else f":{port}"
    return f"{parts.scheme}://{host}{shown_port}"


def origin_allowed(origin: str | None, allowed: Iterable[str]) -> bool:
    """Whether a request's Origin header names one of a site's origins. A missing or
    malformed Origin (`null` from a sandboxed frame, say) is never allowed."""
    if not origin:
        return False
    try:
        return normalize_origin(origin) in set(allowed)
    except ValueError:
        return False


def frame_ancestors(allowed: Iterable[str]) -> str:
    """CSP frame-ancestors for a page that these origins (only) may frame."""
    origins = sorted(set(allowed))
    return " ".join(origins) if origins else "'none'"


def identity_signature(secret: str, email: str) -> str:
    """What a site's server computes to vouch for its signed-in user's address: the hex
    HMAC-SHA256 of the lowercased address with the site's identity secret."""
    return hmac.new(secret.encode(), email.strip().lower().encode(), hashlib.sha256).hexdigest()


def identity_verified(secret: str | None, email: str, signature: str | None) -> bool:
    """A signature checked in constant time; without a secret or a signature, unverified."""
    if not secret or not signature:
        return False
    return hmac.compare_digest(identity_signature(secret, email), signature.strip().lower())
