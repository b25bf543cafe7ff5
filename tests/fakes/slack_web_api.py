"""A local stand-in for Slack's Web API (slack.com/api/), on loopback.

Speaks what we call of it, as Slack documents it: `POST /api/<method>` with the bot token as
`Authorization: Bearer`, arguments as JSON or form fields, answers `{"ok": true, ...}` or
`{"ok": false, "error": "..."}` with HTTP 200, and 429 with `Retry-After` when rate limited.
It records every call so tests can check what was posted, and can be told to fail.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.loopback import serving

BOT_TOKEN = "xoxb-test-" + "0" * 24


@dataclass
class Call:
    method: str
    args: dict[str, Any]


@dataclass
class FakeSlack:
    token: str = BOT_TOKEN
    calls: list[Call] = field(default_factory=list)
    # user id -> {"name": ..., "email": ...} for users.info and users.lookupByEmail
    users: dict[str, dict[str, str]] = field(default_factory=dict)
    # While set, every call is answered with this HTTP status (503: Slack down, 429: limited)
    # or, for a string, {"ok": false, "error": <it>}.
    fail_with: int | str | None = None
    url: str = ""

    def posts(self, channel: str | None = None) -> list[dict[str, Any]]:
        """chat.postMessage calls that Slack accepted, optionally to one channel or user."""
        return [c.args for c in self.calls if c.method == "chat.postMessage"
                and c.args.get("_accepted") and (channel is None or c.args["channel"] == channel)]

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        args = await _arguments(request)
        call = Call(method, args)
        self.calls.append(call)
        if isinstance(self.fail_with, int):
            headers = {"Retry-After": "1"} if self.fail_with == 429 else {}
            return web.Response(status=self.fail_with, text="unavailable", headers=headers)
        if isinstance(self.fail_with, str):
            return web.json_response({"ok": False, "error": self.fail_with})
        answer = self._answer(method, args)
        if answer.get("ok"):
            args["_accepted"] = True
        return web.json_response(answer)

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "chat.postMessage":
            if not args.get("channel") or not args.get("text"):
                return {"ok": False, "error": "no_text" if args.get("channel")
                        else "channel_not_found"}
            ts = f"{time.time():.6f}"
            return {"ok": True, "channel": args["channel"], "ts": ts,
                    "message": {"text": args["text"], "ts": ts,
                                "thread_ts": args.get("thread_ts")}}
        if method == "users.info":
            user = self.users.get(str(args.get("user")))
            if user is None:
                return {"ok": False, "error": "user_not_found"}
            return {"ok": True, "user": {"id": args["user"], "name": user.get("name"),
                                         "profile": {"real_name": user.get("name"),
                                                     "email": user.get("email")}}}
        if method == "users.lookupByEmail":
            for user_id, user in self.users.items():
                if user.get("email", "").lower() == str(args.get("email", "")).lower():
                    return {"ok": True, "user": {"id": user_id, "name": user.get("name")}}
            return {"ok": False, "error": "users_not_found"}
        return {"ok": False, "error": "unknown_method"}


async def _arguments(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        return dict(json.loads(await request.text() or "{}"))
    args: dict[str, Any] = dict(request.query)
    args.update({k: str(v) for k, v in (await request.post()).items()})
    return args


@asynccontextmanager
async def fake_slack() -> AsyncIterator[FakeSlack]:
    """The fake, serving on a free loopback port; `fake.url` is the HELPDESK_SLACK_API_URL."""
    fake = FakeSlack()
    app = web.Application()
    app.router.add_post("/api/{method}", fake._handle)
    app.router.add_get("/api/{method}", fake._handle)
    async with serving(app) as base:
        fake.url = f"{base}/api/"
        yield fake
