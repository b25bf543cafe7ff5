"""Twilio's webhook signature (`X-Twilio-Signature`), checked with the `twilio` library.

Twilio signs the full URL it requested plus the sorted form fields with the account's Auth
Token (HMAC-SHA1, base64). Behind a proxy the URL our server sees is not the one Twilio
called, so the URL to check is the public one when the desk has one (HELPDESK_PUBLIC_URL).
The signature carries no timestamp: a captured request stays valid for good, so replays are
caught by the MessageSid the desk stores once (db/sms.py), not here.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from twilio.request_validator import RequestValidator

SIGNATURE_HEADER = "X-Twilio-Signature"


def signed_url(request_url: str, public_url: str | None) -> str:
    """The URL Twilio signed: the request's path and query on the public origin, if any."""
    if not public_url:
        return request_url
    seen, public = urlsplit(request_url), urlsplit(public_url.rstrip("/"))
    return urlunsplit((public.scheme, public.netloc, public.path + seen.path, seen.query, ""))


def signature_valid(auth_token: str, url: str, params: dict[str, str],
                    signature: str | None) -> bool:
    """Whether `signature` is Twilio's for this URL and form (constant-time comparison)."""
    if not signature:
        return False
    return bool(RequestValidator(auth_token).validate(url, params, signature))


def signature_for(auth_token: str, url: str, params: dict[str, str]) -> str:
    """The signature Twilio would send (for the tests' signed requests, and tools)."""
    return str(RequestValidator(auth_token).compute_signature(url, params))
