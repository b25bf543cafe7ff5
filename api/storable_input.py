"""Text the database cannot store is refused at the door, for every route at once.

A NUL (U+0000) or a lone surrogate (`"\\ud800"` in JSON) in any string of a request, once
accepted, fails every write that carries it: an insert answers 500, and a ticket command
would retry its projection for ever. Checking each model and each parameter by hand would
miss the next one added, so this middleware checks the path, every query parameter and
every JSON or form body (keys and values, at any depth) before a route runs, and answers
422 `invalid-text` naming each place (`["body", "subject"]`, `["query", "tag"]`).

Mail (`message/rfc822`) is not refused: a sender would only retry it. Mail intake cleans
it instead (domain/text.py: `storable`). Slack's and Twilio's deliveries are not refused
either, for the same reason (a refused event is retried, then lost): their routes clean the
text after checking the signature, which covers the bytes as sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import Problem, problem_response
from domain.text import is_storable, storable, unstorable_paths

Loc = tuple[str | int, ...]
FORM = "application/x-www-form-urlencoded"
# Mail is cleaned; the one route taking files (the ticket page's composer) checks its text
# fields itself (web/pages/ticket_commands.py).
UNCHECKED_BODIES = ("message/rfc822", "multipart/")
# Machines' deliveries, cleaned by their routes once the signature is checked.
CLEANED_PATHS = ("/api/v1/channels/slack/", "/api/v1/channels/sms/")
MESSAGE = "text holds a NUL character or a lone surrogate, which cannot be stored"


class RefuseUnstorableText:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CLEANED_PATHS):
            await self.app(scope, receive, send)
            return
        found = [*_in_path(scope), *_in_query(scope)]
        content_type = _header(scope, b"content-type").lower()
        if found or not _has_body(scope) or content_type.startswith(UNCHECKED_BODIES):
            await self._answer(found, scope, receive, send)
            return
        messages = await _read_body(receive)
        body = b"".join(m.get("body", b"") for m in messages)
        found = list(_in_body(body, content_type))

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self._answer(found, scope, replay, send)

    async def _answer(self, found: list[Loc], scope: Scope, receive: Receive,
                      send: Send) -> None:
        if not found:
            await self.app(scope, receive, send)
            return
        await problem_response(unstorable_problem(found))(scope, receive, send)


def unstorable_problem(found: list[Loc]) -> Problem:
    where = ", ".join(".".join(map(str, loc)) for loc in found[:10])
    errors = [{"loc": list(loc), "msg": MESSAGE, "type": "invalid_text"} for loc in found[:50]]
    return Problem(422, "invalid-text", "Text cannot be stored", f"{where}: {MESSAGE}",
                   errors=errors)


def _in_path(scope: Scope) -> Iterator[Loc]:
    if not is_storable(scope["path"]):
        yield ("path",)


def _in_query(scope: Scope) -> Iterator[Loc]:
    query = scope.get("query_string", b"").decode("latin-1")
    yield from _in_pairs("query", parse_qsl(query, keep_blank_values=True))


def _in_pairs(where: str, pairs: list[tuple[str, str]]) -> Iterator[Loc]:
    for name, value in pairs:
        if not (is_storable(name) and is_storable(value)):
            yield (where, storable(name))


def _in_body(body: bytes, content_type: str) -> Iterator[Loc]:
    if content_type.startswith(FORM):
        yield from _in_pairs("body", parse_qsl(body.decode("latin-1"), keep_blank_values=True))
        return
    try:
        document: Any = json.loads(body)
    except (ValueError, RecursionError):
        return  # not JSON: the route's own parsing refuses it (400/422)
    try:
        for path in unstorable_paths(document):
            yield ("body", *path)
    except RecursionError:
        yield ("body",)  # nested deeper than anyone's real request: refused whole


def _has_body(scope: Scope) -> bool:
    length = _header(scope, b"content-length")
    return (length.isdigit() and int(length) > 0) or bool(_header(scope, b"transfer-encoding"))


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return ""


async def _read_body(receive: Receive) -> list[Message]:
    """Every message up to the body's end (or the client's disconnect), to hand on as read.

    Bounded by the size and time limits of the middleware around this one (api.request_body).
    """
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body"):
            return messages
