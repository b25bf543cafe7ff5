"""The customer portal's sign-in by a one-time link: 15 minutes, single use, stored only by
hash, rate limited, the same answer for every address; and a signed-in customer reaching
their own tickets and nothing else."""

from __future__ import annotations

import asyncio
import hashlib
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from activities.mail import MailSender
from activities.portal_mail import PortalMailActivities
from adapters.email.smtp_client import SmtpConfig
from db import portal
from domain.access import Principal, TokenKind
from services.desk import Desk
from services.portal_tickets import list_tickets
from tests.api.helpers import create_ticket, post_message, rows, scalar, set_status
from tests.mail_sink import HOST, MailSink, listening
from tests.sockets import free_port
from workflows.portal_link import PortalLinkRequest

SIGN_IN = "/help/tickets/sign-in"
NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


async def csrf(http: httpx.AsyncClient) -> dict[str, str]:
    """The page's CSRF token, as pages.js sends it with every htmx POST."""
    await http.get(SIGN_IN)
    return {"X-CSRFToken": http.cookies["csrftoken"], "HX-Request": "true"}


async def ask(http: httpx.AsyncClient, email: str, headers: dict[str, str]) -> httpx.Response:
    return await http.post(SIGN_IN, data={"email": email}, headers=headers)


async def issue(engine: AsyncEngine, email: str = "ada@example.com", *,
                at: datetime = NOW, request_id: str = "r1") -> str:
    async with AsyncSession(engine) as session:
        token = await portal.add_link(session=session, request_id=request_id, email=email,
                                      ticket_ref=None, now=at,
                                      expires_at=at + timedelta(minutes=15))
        await session.commit()
    return token


async def consume(engine: AsyncEngine, token: str, at: datetime) -> tuple[str, str | None] | None:
    async with AsyncSession(engine) as session:
        used = await portal.consume_link(session=session, token=token, now=at)
        await session.commit()
    return used


async def test_a_link_works_within_fifteen_minutes_and_once(engine: AsyncEngine) -> None:
    late = await issue(engine, request_id="late")
    assert await consume(engine, late, NOW + timedelta(minutes=15, seconds=1)) is None
    token = await issue(engine)
    assert await consume(engine, token, NOW + timedelta(minutes=14)) == ("ada@example.com", None)
    assert await consume(engine, token, NOW + timedelta(minutes=14)) is None


async def test_of_two_racing_uses_of_a_link_exactly_one_signs_in(engine: AsyncEngine) -> None:
    token = await issue(engine)
    outcomes = await asyncio.gather(*(consume(engine, token, NOW) for _ in range(4)))
    assert sum(o is not None for o in outcomes) == 1


async def test_links_and_sessions_are_stored_only_by_hash(engine: AsyncEngine) -> None:
    token = await issue(engine)
    async with AsyncSession(engine) as session:
        secret = await portal.create_session(session=session, email="ada@example.com", now=NOW)
        await session.commit()
    stored = await rows(engine, "SELECT token_hash FROM portal_links UNION ALL "
                                "SELECT secret_hash FROM portal_sessions")
    assert sorted(h for (h,) in stored) == sorted(
        hashlib.sha256(s.encode()).hexdigest() for s in (token, secret))
    dump = " ".join(str(r) for r in await rows(engine, "SELECT * FROM portal_links") +
                    await rows(engine, "SELECT * FROM portal_sessions"))
    assert token not in dump and secret not in dump


async def test_only_a_known_address_gets_mail_and_a_retry_voids_the_earlier_link(
        http: httpx.AsyncClient, engine: AsyncEngine) -> None:
    await create_ticket(http, customer_email="ada@example.com")
    sink = MailSink(port=free_port())
    sender = MailSender(SmtpConfig(HOST, sink.port, security="none", timeout=5),
                        from_address="support@desk.example", from_name="Acme Support")
    mailer = PortalMailActivities(engine, sender)
    with listening(sink):
        assert not await mailer.send_portal_link(
            PortalLinkRequest("r-x", "nobody@example.com", "https://desk.example"))
        assert sink.received == []
        request = PortalLinkRequest("r-ada", "ada@example.com", "https://desk.example", "TKT-1")
        assert await mailer.send_portal_link(request)
        assert await mailer.send_portal_link(request)  # as a retry after a lost answer would
    first, second = (m.get_content() for m in sink.messages())
    links = [re.search(r"https://desk\.example/help/tickets/link/(\S+)", body) for body in
             (first, second)]
    assert all(links) and sink.messages()[0]["Auto-Submitted"] == "auto-generated"
    assert await consume(engine, links[0][1], datetime.now(UTC)) is None  # type: ignore[index]
    assert await consume(engine, links[1][1], datetime.now(UTC)) == (  # type: ignore[index]
        "ada@example.com", "TKT-1")


async def test_every_address_gets_the_same_answer(http: httpx.AsyncClient) -> None:
    await create_ticket(http, customer_email="ada@example.com")
    headers = await csrf(http)
    known, unknown = await ask(http, "ada@example.com", headers), \
        await ask(http, "nobody@example.com", headers)
    assert known.status_code == unknown.status_code == 200
    def masked(page: httpx.Response, email: str) -> str:
        return page.text.replace(email, "X").replace(email.replace("@", "%40"), "X")
    assert masked(known, "ada@example.com") == masked(unknown, "nobody@example.com")
    assert "Check your mail" in known.text


async def test_asking_too_often_is_refused_with_a_readable_page(http: httpx.AsyncClient) -> None:
    headers = await csrf(http)
    answers = [(await ask(http, "Eve@Example.com", headers)).status_code for _ in range(6)]
    assert answers == [200] * 5 + [429]
    refused = await ask(http, "eve@example.com", headers)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "Too many sign-in links" in refused.text
    assert refused.headers["content-type"].startswith("text/html")


async def test_a_post_without_the_pages_csrf_token_is_refused(http: httpx.AsyncClient) -> None:
    await http.get(SIGN_IN)
    assert (await http.post(SIGN_IN, data={"email": "ada@example.com"})).status_code == 403


async def test_portal_pages_carry_the_security_headers(http: httpx.AsyncClient) -> None:
    page = await http.get(SIGN_IN)
    policy = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert page.headers["cache-control"] == "no-store"


async def signed_in_as(http: httpx.AsyncClient, engine: AsyncEngine, email: str) -> None:
    async with AsyncSession(engine) as session:
        secret = await portal.create_session(session=session, email=email,
                                             now=datetime.now(UTC))
        await session.commit()
    http.cookies.set("helpdesk_portal", secret, path="/help/tickets")


async def test_a_customer_reaches_their_own_tickets_and_no_one_elses(
        http: httpx.AsyncClient, engine: AsyncEngine) -> None:
    own = await create_ticket(http, customer_email="ada@example.com", subject="My printer")
    other = await create_ticket(http, customer_email="bob@example.com", subject="Bob's secret")
    merged = await create_ticket(http, customer_email="ada@example.com", subject="Again")
    await set_status(http, merged["public_ref"], "duplicate", merge_into=other["ticket_id"])
    await post_message(http, own["public_ref"], body="Note: VIP", author_type=None,
                       visibility="internal")
    await signed_in_as(http, engine, "ada@example.com")

    listed = await http.get("/help/tickets")
    assert listed.status_code == 200 and "My printer" in listed.text
    assert "Bob's secret" not in listed.text
    page = await http.get(f"/help/tickets/{own['public_ref']}")
    assert page.status_code == 200 and "Note: VIP" not in page.text
    missing = await http.get("/help/tickets/TKT-999999")
    foreign = await http.get(f"/help/tickets/{other['public_ref']}")
    by_id = await http.get(f"/help/tickets/{other['ticket_id']}")
    assert missing.status_code == foreign.status_code == by_id.status_code == 404
    assert foreign.text == missing.text == by_id.text
    # Ada's ticket merged into Bob's: she is told it was merged, never shown his.
    gone = await http.get(f"/help/tickets/{merged['public_ref']}")
    assert gone.status_code == 410 and "Bob" not in gone.text
    assert other["public_ref"] not in gone.text


async def test_without_a_session_a_ticket_page_leads_to_sign_in_with_the_address(
        http: httpx.AsyncClient) -> None:
    answer = await http.get("/help/tickets/TKT-7?email=ada@example.com")
    assert answer.status_code == 303
    assert answer.headers["location"] == SIGN_IN + "?email=ada%40example.com&ticket=TKT-7"
    form = await http.get(answer.headers["location"])
    assert 'value="ada@example.com"' in form.text and 'value="TKT-7"' in form.text


@pytest.mark.parametrize("path", ["/help/tickets/link/nonsense", "/help/tickets/link/hdl_x"])
async def test_an_unknown_link_is_gone_and_offers_a_new_one(http: httpx.AsyncClient,
                                                            path: str) -> None:
    page = await http.get(path)
    assert page.status_code == 410 and "Mail me a new link" in page.text


async def test_an_expired_link_offers_to_mail_the_same_address_again(
        http: httpx.AsyncClient, engine: AsyncEngine) -> None:
    token = await issue(engine, at=datetime.now(UTC) - timedelta(minutes=16))
    page = await http.get(f"/help/tickets/link/{token}")
    assert page.status_code == 410
    assert 'name="email" value="ada@example.com"' in page.text
    used = await http.post(f"/help/tickets/link/{token}", headers=await csrf(http))
    assert used.status_code == 410 and "helpdesk_portal" not in used.headers.get("set-cookie", "")
    assert await scalar(engine, "SELECT count(*) FROM portal_sessions") == 0


async def test_the_list_pages_by_the_latest_change_the_customer_saw(
        http: httpx.AsyncClient, engine: AsyncEngine) -> None:
    refs = [(await create_ticket(http, customer_email="ada@example.com",
                                 subject=f"Question {n}"))["public_ref"] for n in range(3)]
    await post_message(http, refs[0], body="One more thing")  # now Ada's latest
    await post_message(http, refs[1], body="Desk-only", author_type=None,
                       visibility="internal")  # a note moves nothing she sees
    principal = Principal(token_id="portal-test", kind=TokenKind.CUSTOMER,
                          customer_email="ada@example.com")
    seen: list[str] = []
    cursor = None
    async with AsyncSession(engine, expire_on_commit=False) as session:
        desk = Desk(session=session, engine=engine, temporal=None,  # type: ignore[arg-type]
                    settings=None, limits=None)  # type: ignore[arg-type]
        while True:
            page = await list_tickets(desk, principal, cursor=cursor, limit=2)
            seen += [t.public_ref for t in page.items]
            if not (cursor := page.next_cursor):
                break
    assert seen == [refs[0], refs[2], refs[1]]

    await signed_in_as(http, engine, "ada@example.com")
    bad = await http.get("/help/tickets?cursor=garbage")
    assert bad.status_code == 400 and "Bad cursor" in bad.text
