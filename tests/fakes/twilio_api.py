"""A local stand-in for Twilio's Messages API (api.twilio.com), on loopback.

Speaks what we call of it, as Twilio documents it: `POST /2010-04-01/Accounts/{AccountSid}/
Messages.json` with HTTP basic auth (AccountSid:AuthToken) and form fields (To, From or
MessagingServiceSid, Body, StatusCallback); answers 201 with the Message resource as JSON
(sid "SM…", status "queued"), or Twilio's error JSON (`code`, `message`, `more_info`,
`status`) with its HTTP status. It records every request so tests can check exactly what was
sent, and can be told to fail (down, rate limited, or refusing a number).
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

from aiohttp import web

from tests.fakes.loopback import serving

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "f" * 32
KNOWN_FIELDS = frozenset({"To", "From", "MessagingServiceSid", "Body", "StatusCallback"})
ERRORS = {
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    21211: "The 'To' number is not a valid phone number.",
    21602: "Message body is required.",
    21603: "The 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    21617: "The concatenated message body exceeds the 1600 character limit.",
}


@dataclass
class Request:
    account_sid: str
    auth: tuple[str, str] | None
    form: dict[str, list[str]]
    status: int = 0
    sid: str | None = None


@dataclass
class FakeTwilio:
    account_sid: str = ACCOUNT_SID
    auth_token: str = AUTH_TOKEN
    requests: list[Request] = field(default_factory=list)
    # While set (and `fail_times` is not used up), every request is answered with this HTTP
    # status and Twilio's error JSON: 500/503 Twilio down, 429 rate limited (code 20429).
    fail_with: int | None = None
    fail_times: int | None = None  # None: for as long as fail_with is set
    # To number -> error code Twilio refuses it with (400): 21211 invalid, 21610 STOP.
    refuse: dict[str, int] = field(default_factory=dict)
    url: str = ""

    def messages(self) -> list[dict[str, str]]:
        """The messages Twilio accepted, in order, as single-valued forms plus their sid."""
        return [{k: v[0] for k, v in r.form.items()} | {"sid": str(r.sid)}
                for r in self.requests if r.status == 201]

    async def _create(self, request: web.Request) -> web.Response:
        form = await request.post()
        seen = Request(account_sid=request.match_info["account"], auth=_basic(request),
                       form={k: [str(v) for v in form.getall(k)] for k in set(form.keys())})
        self.requests.append(seen)
        status, answer = self._answer(seen)
        seen.status = status
        return web.json_response(answer, status=status)

    def _answer(self, r: Request) -> tuple[int, dict[str, Any]]:
        if r.auth != (self.account_sid, self.auth_token):
            return _error(401, 20003)
        if r.account_sid != self.account_sid:
            return _error(404, 20404)
        if self.fail_with is not None and self.fail_times != 0:
            if self.fail_times is not None:
                self.fail_times -= 1
            return _error(self.fail_with, 20429 if self.fail_with == 429 else None)
        unknown = set(r.form) - KNOWN_FIELDS
        single = {k: v[0] for k, v in r.form.items()}
        problem = _invalid(single, unknown)
        if problem is None and single["To"] in self.refuse:
            problem = self.refuse[single["To"]]
        if problem is not None:
            return _error(400, problem)
        r.sid = "SM" + secrets.token_hex(16)
        return 201, self._resource(r.sid, single)

    def _resource(self, sid: str, form: dict[str, str]) -> dict[str, Any]:
        now = formatdate(usegmt=True).replace("GMT", "+0000")
        base = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}"
        return {
            "account_sid": self.account_sid, "api_version": "2010-04-01",
            "body": form.get("Body", ""), "date_created": now, "date_updated": now,
            "date_sent": None, "direction": "outbound-api", "error_code": None,
            "error_message": None, "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"), "num_media": "0",
            "num_segments": "1", "price": None, "price_unit": "USD", "sid": sid,
            "status": "accepted" if "MessagingServiceSid" in form else "queued",
            "subresource_uris": {"media": f"{base}/Media.json"}, "to": form["To"],
            "uri": f"{base}.json",
        }


def _invalid(form: dict[str, str], unknown: set[str]) -> int | None:
    """Twilio's error code for a form it would refuse (None: acceptable)."""
    if unknown:
        raise AssertionError(f"the desk sent fields Twilio does not know: {sorted(unknown)}")
    if not form.get("To"):
        return 21604
    if not form.get("From") and not form.get("MessagingServiceSid"):
        return 21603
    if not form.get("Body"):
        return 21602
    if len(form["Body"]) > 1600:
        return 21617
    return None


def _error(status: int, code: int | None) -> tuple[int, dict[str, Any]]:
    return status, {"code": code, "message": ERRORS.get(code or 0, "Service unavailable"),
                    "more_info": f"https://www.twilio.com/docs/errors/{code}" if code else None,
                    "status": status}


def _basic(request: web.Request) -> tuple[str, str] | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme != "Basic":
        return None
    user, _, password = base64.b64decode(value).decode().partition(":")
    return user, password


@asynccontextmanager
async def fake_twilio() -> AsyncIterator[FakeTwilio]:
    """The fake, serving on a free loopback port; `fake.url` is the HELPDESK_TWILIO_API_URL."""
    fake = FakeTwilio()
    app = web.Application()
    app.router.add_post("/2010-04-01/Accounts/{account}/Messages.json", fake._create)
    async with serving(app) as base:
        fake.url = base
        yield fake
