"""CSRF protection for the workspace, by starlette-csrf's double-submit cookie.

Every state-changing request under /app must send the `csrftoken` cookie's value back in the
`X-CSRFToken` header (web/static/app.js adds it to every htmx request); a cross-site form
cannot read the cookie, so it cannot. The JSON API is exempt: it authenticates by bearer
token, which a browser never attaches on its own.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets

from starlette.requests import Request
from starlette.responses import Response
from starlette_csrf import CSRFMiddleware

from api.problems import problem_response
from services.problems import Problem
from settings import Settings

COOKIE = "csrftoken"
HEADER = "x-csrftoken"
log = logging.getLogger("helpdesk.web")


class WorkspaceCsrf(CSRFMiddleware):
    def _get_error_response(self, request: Request) -> Response:
        return problem_response(Problem(
            403, "csrf", "Page out of date",
            "this request did not carry the page's CSRF token; reload the page and try again"))


def csrf_options(settings: Settings) -> dict[str, object]:
    return {"secret": _secret(settings), "exempt_urls": [re.compile(r"^/api/"),
                                                          # no cookie: a secret + Origin
                                                          re.compile(r"^/chat/")],
            "cookie_name": COOKIE, "header_name": HEADER, "cookie_samesite": "lax",
            "cookie_secure": settings.secure_cookies}


def _secret(settings: Settings) -> str:
    """Every API process must sign alike: HELPDESK_SECRET_KEY, else one derived from the
    admin token they share, else (a single process, say a test) a random one."""
    if settings.secret_key:
        return settings.secret_key
    if settings.admin_token:
        return hmac.new(settings.admin_token.encode(), b"helpdesk csrf",
                        hashlib.sha256).hexdigest()
    log.warning("neither HELPDESK_SECRET_KEY nor HELPDESK_ADMIN_TOKEN is set: CSRF tokens are "
                "signed with a key of this process only (run one API process, or set one)")
    return secrets.token_urlsafe(32)
