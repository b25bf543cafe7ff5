"""Live chat's endpoints (/chat/{site}/...), as a site's page calls them from a browser:
only the site's own origins get through, identity is verified by the site's signature, a
retried start opens one ticket, a conversation's secret reaches its one ticket, and the
stream carries the public side of the conversation, never an internal note."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from db import chat
from db.tokens import hash_token
from domain.origins import identity_signature
from tests.api import test_email_outbound as outbound
from tests.api.helpers import (
    TICKETS,
    as_,
    assert_problem,
    assign,
    eventually,
    make_agent,
    rows,
    scalar,
    set_status,
)
from tests.api.streams import Event, Stream
from tests.api.test_admission import small_api
from tests.api.test_email_intake import deliver
from tests.api.test_email_outbound import arrived, delivery, reply_to
from tests.mail_sink import listening

# The mail desk and its SMTP sink, as the outbound mail tests have them.
desk, sink = outbound.desk, outbound.sink
SHOP = "https://shop.example"
EVIL = "https://evil.example"
SITES = "/api/v1/admin/sites"


async def make_site(http: httpx.AsyncClient, key: str = "shop", *, team: str = "Chat",
                    **fields: Any) -> dict[str, Any]:
    agent = await make_agent(http, team=team, email=f"{key}-agent@helpdesk.example")
    made = await http.post(SITES, json={"key": key, "name": key.title(),
                                        "allowed_origins": [SHOP], "team_id": agent["team_id"]}
                           | fields)
    assert made.status_code == 201, made.text
    return made.json() | {"agent": agent}


def from_(origin: str | None = SHOP, **headers: str) -> dict[str, str]:
    """A browser's call from a page of `origin` (no Origin: not a browser's cross-site call)."""
    return ({"Origin": origin} if origin else {}) | headers


async def start(http: httpx.AsyncClient, site: str = "shop", *, key: str | None = None,
                origin: str | None = SHOP, **body: Any) -> httpx.Response:
    payload = {"email": "ada@example.com", "name": "Ada", "message": "Hello, anyone there?"}
    return await http.post(f"/chat/{site}/conversations", json=payload | body,
                           headers=from_(origin, **{"Idempotency-Key": key or str(uuid.uuid4())}))


async def started(http: httpx.AsyncClient, site: str = "shop", **body: Any) -> dict[str, Any]:
    response = await start(http, site, **body)
    assert response.status_code == 201, response.text
    assert response.headers["access-control-allow-origin"] == SHOP
    return response.json()


async def tickets_count(engine) -> int:
    return await scalar(engine, "SELECT count(*) FROM intake_keys")


async def test_an_allowed_origin_gets_cors_and_its_preflight_answered(http):
    await make_site(http)
    preflight = await http.options("/chat/shop/conversations", headers=from_(
        SHOP, **{"Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type,idempotency-key"}))
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == SHOP
    assert "Origin" in preflight.headers["vary"]
    assert "POST" in preflight.headers["access-control-allow-methods"]
    allowed = preflight.headers["access-control-allow-headers"].lower()
    assert {"content-type", "idempotency-key", "x-chat-secret"} <= set(allowed.split(", "))

    status = await http.get("/chat/shop/status", headers=from_(SHOP))
    assert status.status_code == 200
    assert status.headers["access-control-allow-origin"] == SHOP
    assert "Origin" in status.headers["vary"]
    assert status.json() == {"online": False, "require_verified_identity": False}


async def test_another_origin_or_none_is_refused_and_nothing_is_done(http, engine):
    await make_site(http)
    for origin in (EVIL, "null", None, "https://shop.example.evil.example"):
        refused = await start(http, origin=origin)
        assert_problem(refused, 403, "origin-not-allowed")
        assert "access-control-allow-origin" not in refused.headers
        preflight = await http.options("/chat/shop/messages", headers=from_(origin))
        assert preflight.status_code == 403
        assert "access-control-allow-origin" not in preflight.headers
        assert (await http.get("/chat/shop/status", headers=from_(origin))).status_code == 403
    assert_problem(await start(http, "nosuchsite"), 404, "unknown-site")
    assert await tickets_count(engine) == 0
    assert await scalar(engine, "SELECT count(*) FROM chat_conversations") == 0


async def test_a_start_opens_a_chat_ticket_for_the_sites_team_once_per_key(http, engine):
    site = await make_site(http)
    key = str(uuid.uuid4())
    first = await started(http, key=key)
    again = await started(http, key=key)  # the answer was lost; the widget retries
    assert again["ticket"]["public_ref"] == first["ticket"]["public_ref"]
    assert await tickets_count(engine) == 1
    ticket = (await http.get(f"{TICKETS}/{first['ticket']['public_ref']}")).json()
    assert (ticket["channel"], ticket["team_id"]) == ("chat", site["team_id"])
    assert ticket["customer_email"] == "ada@example.com"
    assert "identity-unverified" in ticket["tags"]
    # The retry's secret replaced the first one.
    assert (await read(http, first["secret"])).status_code == 401
    assert (await read(http, again["secret"])).json()["ticket"] == again["ticket"]
    # The same key with another message is another request: refused, not a second ticket.
    assert_problem(await start(http, key=key, message="Other"), 409, "idempotency-key-reused")


async def read(http: httpx.AsyncClient, secret: str, site: str = "shop") -> httpx.Response:
    return await http.get(f"/chat/{site}/conversation",
                          headers=from_(SHOP, **{"X-Chat-Secret": secret}))


async def test_a_signed_address_is_verified_and_a_bad_signature_refused(http):
    site = await make_site(http)
    signed = identity_signature(site["identity_secret"], "Ada@Example.com")
    verified = await started(http, email="ada@example.com", signature=signed)
    assert verified["identity_verified"] is True
    ticket = (await http.get(f"{TICKETS}/{verified['ticket']['public_ref']}")).json()
    assert "identity-verified" in ticket["tags"]

    forged = await start(http, email="eve@example.com", signature=signed)
    assert_problem(forged, 403, "identity-not-verified")
    assert forged.headers["access-control-allow-origin"] == SHOP  # the widget reads why
    assert_problem(await start(http, signature="00" * 32), 403, "identity-not-verified")


async def test_a_site_that_requires_verified_identity_refuses_anonymous_visitors(http, engine):
    site = await make_site(http, "members", require_verified_identity=True)
    status = (await http.get("/chat/members/status", headers=from_(SHOP))).json()
    assert status["require_verified_identity"] is True
    assert_problem(await start(http, "members"), 403, "identity-required")
    assert await tickets_count(engine) == 0
    signed = identity_signature(site["identity_secret"], "ada@example.com")
    assert (await started(http, "members", signature=signed))["identity_verified"] is True


async def test_a_conversation_secret_reaches_its_own_ticket_only(http):
    await make_site(http)
    await make_site(http, "blog")
    ada = await started(http, message="Ada's question")
    bob = await started(http, email="bob@example.com", name="Bob", message="Bob's question")

    assert (await read(http, bob["secret"])).json()["ticket"] == bob["ticket"]
    assert (await read(http, bob["secret"], "blog")).status_code == 401  # another site's
    assert (await read(http, "hdchat_" + "x" * 43)).status_code == 401
    assert (await http.get("/chat/shop/conversation", headers=from_(SHOP))).status_code == 401

    posted = await http.post("/chat/shop/messages", json={"body": "Bob again"},
                             headers=from_(SHOP, **{"X-Chat-Secret": bob["secret"]}))
    assert posted.status_code == 201, posted.text
    assert posted.json()["author_type"] == "customer"
    bodies = [m["body"] for m in (await http.get(
        f"{TICKETS}/{ada['ticket']['public_ref']}/messages")).json()["items"]]
    assert bodies == ["Ada's question"]


async def test_a_retried_message_is_stored_once(http):
    await make_site(http)
    conv = await started(http)
    for _ in range(2):
        posted = await http.post("/chat/shop/messages",
                                 json={"body": "Twice?", "client_id": "m-0001-retry"},
                                 headers=from_(SHOP, **{"X-Chat-Secret": conv["secret"]}))
        assert posted.status_code == 201, posted.text
    items = (await http.get(f"{TICKETS}/{conv['ticket']['public_ref']}/messages")).json()
    assert [m["body"] for m in items["items"]] == ["Hello, anyone there?", "Twice?"]


async def test_the_stream_carries_public_replies_and_never_a_note(http, live):
    site = await make_site(http)
    agent = as_(site["agent"]["token"])
    conv = await started(http, message="Where is my parcel?")
    ref = conv["ticket"]["public_ref"]
    url = await stream_url(http, conv["secret"])
    async with live.stream("GET", url, headers=from_(SHOP)) as response:
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == SHOP
        stream = Stream(response)
        try:
            hello, ticket = await stream.next(), await stream.next()
            assert (hello.event, hello.data) == ("hello", {"online": False})
            assert ticket.event == "ticket" and ticket.data["public_ref"] == ref
            first = await next_message(stream)
            assert first.data["body"] == "Where is my parcel?"
            assert set(first.data) == {"id", "seq", "author_type", "body", "created_at"}

            note = await http.post(f"{TICKETS}/{ref}/messages", headers=agent, json={
                "body": "SECRET: refund fraud suspected", "visibility": "internal"})
            assert note.status_code == 201, note.text
            reply = await http.post(f"{TICKETS}/{ref}/messages", headers=agent,
                                    json={"body": "It ships today."})
            assert reply.status_code == 201, reply.text
            answer = await next_message(stream)
            assert answer.data["body"] == "It ships today."
            assert answer.data["seq"] == 2  # numbered among the public ones: no gap
            assert answer.data["author_type"] == "agent"

            await assign(http, ref, site["agent"]["id"])
            for move in ("in_progress", "resolved"):
                moved = await http.post(f"{TICKETS}/{ref}/status", headers=agent,
                                        json={"status": move})
                assert moved.status_code == 200, moved.text
            while (event := await stream.next()).data.get("status") != "resolved":
                assert event.event == "ticket"
            assert all("SECRET" not in str(e.data) for e in stream.pending())
        finally:
            stream.task.cancel()


async def next_message(stream: Stream) -> Event:
    """The next message the stream sends; the ticket's status events in between (push
    assignment may move it) are passed over."""
    while (event := await stream.next()).event != "message":
        assert event.event == "ticket", event
    return event


async def stream_url(http: httpx.AsyncClient, secret: str, site: str = "shop") -> str:
    made = await http.post(f"/chat/{site}/stream-url",
                           headers=from_(SHOP, **{"X-Chat-Secret": secret}))
    assert made.status_code == 200, made.text
    return str(made.json()["url"])


async def test_a_stream_url_is_signed_short_lived_and_never_holds_the_secret(http, live):
    await make_site(http)
    await make_site(http, "blog")
    conv = await started(http)
    url = await stream_url(http, conv["secret"])
    assert url.startswith("/chat/shop/stream?token=") and conv["secret"] not in url
    token = url.partition("token=")[2]
    conv_id, expires, mac = token.split(".")
    assert 0 < int(expires) - time.time() <= 60

    for bad in (f"{conv_id}.{int(expires) + 3600}.{mac}",  # a longer life, unsigned
                f"{conv_id}.{int(time.time()) - 1}.{mac}", "nope", f"{uuid.uuid4()}.1.00"):
        refused = await live.get(f"/chat/shop/stream?token={bad}", headers=from_(SHOP))
        assert_problem(refused, 401, "unknown-conversation")
    elsewhere = await live.get(url.replace("/shop/", "/blog/"), headers=from_(SHOP))
    assert_problem(elsewhere, 401, "unknown-conversation")
    other = await live.get(url, headers=from_(EVIL))
    assert_problem(other, 403, "origin-not-allowed")
    assert (await http.post("/chat/shop/stream-url", headers=from_(SHOP, **{
        "X-Chat-Secret": "hdchat_nope"}))).status_code == 401


async def test_a_connected_widget_marks_the_ticket_and_a_closed_one_clears_it(http, live,
                                                                              engine):
    await make_site(http)
    conv = await started(http)

    async def connected() -> bool:
        return bool(await scalar(engine, "SELECT count(*) FROM chat_conversations "
                                         "WHERE stream_seen_at > now() - interval '30 s'"))
    url = await stream_url(http, conv["secret"])
    async with live.stream("GET", url, headers=from_(SHOP)) as response:
        stream = Stream(response)
        await stream.next()
        assert await connected()
        stream.task.cancel()

    async def gone() -> bool:
        return not await connected()
    await eventually(gone)


async def test_a_reply_is_mailed_only_while_the_widget_is_closed_and_the_answer_threads_back(
        desk, sink, engine):
    with listening(sink):
        async with desk() as room:
            site = await make_site(room.http)
            agent = as_(site["agent"]["token"])
            conv = await started(room.http, message="Is the blue coat back in stock?")
            ref = conv["ticket"]["public_ref"]
            [conv_id] = [r[0] for r in await rows(
                engine, "SELECT id FROM chat_conversations WHERE secret_hash = :h",
                h=hash_token(conv["secret"]))]

            async def widget(seen: datetime | None) -> None:  # what the stream's beat does
                async with AsyncSession(engine) as session:
                    assert await chat.beat(session=session, conversation_id=conv_id,
                                           secret_hash=hash_token(conv["secret"]), seen=seen)

            await widget(datetime.now(UTC))
            live_answer = await post(room, ref, "Checking now.", agent)
            await widget(None)  # the customer closed the page
            mailed_answer = await post(room, ref, "Yes, since this morning.", agent)
            await arrived(sink, 1)

            assert [m.get_content().strip() for m in sink.messages()] == [
                "Yes, since this morning."]
            assert (await delivery(engine, live_answer["message_id"]))[0] is None
            assert mailed_answer["delivery"]["status"] == "queued"
            [sent] = sink.messages()
            assert sent["To"].endswith("<ada@example.com>")
            # The customer answers by email: the same ticket, as for any ticket.
            reply = await deliver(room, reply_to(sent, "Great, ordering one."))
            assert (reply["outcome"], reply["public_ref"]) == ("threaded_in_reply_to", ref)


async def post(room, ref: str, text: str, agent: dict[str, str]) -> dict[str, Any]:
    answer = await room.http.post(f"{TICKETS}/{ref}/messages", headers=agent,
                                  json={"body": text})
    assert answer.status_code == 201, answer.text
    return answer.json()


async def test_open_chat_streams_take_no_place_from_other_requests(http, dev_client, engine,
                                                                   database_url):
    """Every page a visitor has open holds a stream: they must not fill the API's places."""
    await make_site(http)
    conv = await started(http)
    async with small_api(dev_client, engine, database_url, queue=0) as small:
        url = await stream_url(small, conv["secret"])
        async with small.stream("GET", url, headers=from_(SHOP)) as stream:
            assert stream.status_code == 200
            assert (await small.get("/chat/shop/status", headers=from_(SHOP))).status_code == 200


async def test_a_resolved_chat_offers_its_rating_page_until_it_is_rated(http):
    site = await make_site(http)
    chat = await started(http)
    ref = chat["ticket"]["public_ref"]
    assert (await read(http, chat["secret"])).json()["rating_path"] is None  # not resolved
    assert (await assign(http, ref, site["agent"]["id"])).status_code == 200
    for status in ("in_progress", "resolved"):
        assert (await set_status(http, ref, status)).status_code == 200
    path = (await read(http, chat["secret"])).json()["rating_path"]
    assert path.startswith("/help/rate/")
    rated = await http.post(path, data={"rating": "good", "comment": "quick"})
    assert rated.status_code == 200, rated.text
    assert (await read(http, chat["secret"])).json()["rating_path"] is None
    assert (await http.get(f"{TICKETS}/{ref}")).json()["satisfaction"]["rating"] == "good"
