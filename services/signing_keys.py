"""The keys API processes sign with (CSRF cookies, rating links): one root secret, one key
per purpose, so every process that shares the settings signs and verifies alike."""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import secrets

from settings import Settings

log = logging.getLogger("helpdesk.web")


def signing_secret(settings: Settings, purpose: str) -> str:
    """HELPDESK_SECRET_KEY, else a key derived from the admin token every process shares,
    else (a single process, say a test) a random one of this process.

    `purpose` keeps the keys apart: a CSRF token never passes for a rating link. The CSRF
    key keeps the shape it had before rating links existed (the secret key itself), so
    cookies issued by an older process still verify."""
    if settings.secret_key:
        return settings.secret_key if purpose == "csrf" else _derived(settings.secret_key,
                                                                      purpose)
    if settings.admin_token:
        return _derived(settings.admin_token, purpose)
    return _process_secret(purpose)


def _derived(root: str, purpose: str) -> str:
    return hmac.new(root.encode(), f"helpdesk {purpose}".encode(), hashlib.sha256).hexdigest()


@functools.cache
def _process_secret(purpose: str) -> str:
    log.warning("neither HELPDESK_SECRET_KEY nor HELPDESK_ADMIN_TOKEN is set: %s tokens are "
                "signed with a key of this process only (run one API process, or set one)",
                purpose)
    return secrets.token_urlsafe(32)
