"""The server's secret, which every API process must share: what the workspace's CSRF cookie
and the help form's keys are signed with.

HELPDESK_SECRET_KEY, else one derived from the admin token they share, else (a single
process, say a test) a random one made once per process.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets

from settings import Settings

log = logging.getLogger("helpdesk.web")
_PROCESS_ONLY = secrets.token_urlsafe(32)


def server_secret(settings: Settings) -> str:
    if settings.secret_key:
        return settings.secret_key
    if settings.admin_token:
        return hmac.new(settings.admin_token.encode(), b"helpdesk csrf",
                        hashlib.sha256).hexdigest()
    log.warning("neither HELPDESK_SECRET_KEY nor HELPDESK_ADMIN_TOKEN is set: CSRF tokens and "
                "help form keys are signed with a key of this process only (run one API "
                "process, or set one)")
    return _PROCESS_ONLY


def purpose_key(settings: Settings, purpose: str) -> bytes:
    """A key for one use only, derived from the server secret: a value signed for one
    purpose (a form key) never verifies as another (a CSRF token)."""
    return hmac.new(server_secret(settings).encode(), purpose.encode(), hashlib.sha256).digest()
