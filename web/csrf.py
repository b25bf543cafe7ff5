"""CSRF protection for the workspace, by starlette-csrf's double-submit cookie.

Every state-changing request under /app must send the `csrftoken` cookie's value back in the
`X-CSRFToken` header (web/static/pages.js adds it to every htmx request); a cross-site form
cannot read the cookie, so it cannot. The JSON API is exempt: it authenticates by bearer
token, which a browser never attaches on its own.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response
from starlette_csrf import CSRFMiddleware

from api.problems import problem_response
from services.problems import Problem
from services.signing_keys import signing_secret
from settings import Settings

COOKIE = "csrftoken"
HEADER = "x-csrftoken"
# The help form's own POSTs (web/pages/help_form.py). A form framed on a shop's site cannot
# rely on our cookie there (browsers block third-party cookies), so a double-submit cookie
# would refuse every honest customer. What protects them is the form's own key: signed with
# the server secret when the form was drawn, it is the submission's Idempotency-Key and only
# ever opens a ticket as the customer the form names; a cross-site post gains nothing more
# than filling in the form itself would.
HELP_FORM_POSTS = re.compile(r"^/help(/suggest)?$")


class WorkspaceCsrf(CSRFMiddleware):
    def _get_error_response(self, request: Request) -> Response:
        return problem_response(Problem(
            403, "csrf", "Page out of date",
            "this request did not carry the page's CSRF token; reload the page and try again"))


def csrf_options(settings: Settings) -> dict[str, object]:
    # A rating link's POST is exempt as well: its signed token (services/satisfaction.py) is
    # the authorization, it is opened from a mail with no session or cookie, and all it can
    # do is record one rating of the ticket it names, once (a forged cross-site post would
    # need the token, which only the customer's mail holds). The chat's calls carry no
    # cookie at all: a conversation secret and an allowed Origin (api/chat_origins.py).
    exempt = [re.compile(r"^/api/"), re.compile(r"^/help/rate/"), HELP_FORM_POSTS,
              re.compile(r"^/chat/")]
    return {"secret": signing_secret(settings, "csrf"), "exempt_urls": exempt,
            "cookie_name": COOKIE, "header_name": HEADER, "cookie_samesite": "lax",
            "cookie_secure": settings.secure_cookies}
