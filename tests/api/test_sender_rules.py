"""Allow- and blocklist (issue 20, item 4): which rule applies to a sender, the admin API
that keeps the list, and a forged known customer still failing authentication."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from db import sender_lists
from domain.mail_screening import (
    AuthResults,
    Listing,
    Reason,
    SpamScore,
    Thresholds,
    Verdict,
    decide,
    needs_score,
)
from domain.sender_patterns import BadPattern, candidates, normalize_pattern
from tests.api.helpers import as_, assert_problem, create_ticket, issue_token, make_agent

RULES = "/api/v1/admin/sender-rules"


def test_patterns_are_normalized_and_garbage_refused():
    assert normalize_pattern(" Ada@Shop.Example ") == "ada@shop.example"
    assert normalize_pattern("Sub.Shop.Example.") == "sub.shop.example"
    assert normalize_pattern("bücher.example") == "xn--bcher-kva.example"
    for bad in ("*.shop.example", "com", "a b@shop.example", "ada@", "@shop.example",
                "shop..example", "-shop.example", "ada@@shop.example", "", "a..b@shop.example"):
        with pytest.raises(BadPattern):
            normalize_pattern(bad)
    assert candidates("Eve@Mail.Sub.Shop.Example") == [
        "eve@mail.sub.shop.example", "mail.sub.shop.example", "sub.shop.example",
        "shop.example"]


async def _rule(session: AsyncSession, pattern: str, kind: str) -> None:
    await session.execute(text(
        "INSERT INTO sender_rules (id, pattern, kind) VALUES (:id, :p, :k)"),
        {"id": uuid.uuid4(), "p": pattern, "k": kind})


async def test_the_most_specific_rule_decides_and_a_block_beats_a_known_customer(
        engine: AsyncEngine):
    async with AsyncSession(engine) as session:
        await _rule(session, "shop.example", "block")
        await _rule(session, "friend@shop.example", "allow")
        await _rule(session, "partner.example", "allow")
        await _rule(session, "bad.partner.example", "block")
        await session.execute(text(
            "INSERT INTO customers (id, email) VALUES (:id, 'known@shop.example'),"
            " (:id2, 'grace@gmail.com')"), {"id": uuid.uuid4(), "id2": uuid.uuid4()})
        await session.commit()

        async def of(address: str | None) -> Listing | None:
            return await sender_lists.listing_of(session=session, address=address)

        assert await of("spammer@shop.example") is Listing.BLOCK
        assert await of("x@mail.shop.example") is Listing.BLOCK  # parent domain
        assert await of("known@shop.example") is Listing.BLOCK  # block beats known customer
        assert await of("Friend@Shop.Example") is Listing.ALLOW  # address before domain
        assert await of("anyone@eu.partner.example") is Listing.ALLOW
        assert await of("anyone@x.bad.partner.example") is Listing.BLOCK
        assert await of("grace@gmail.com") is Listing.ALLOW  # a known customer
        assert await of("stranger@gmail.com") is None  # not the whole free-mail domain
        assert await of("nobody@example") is None
        assert await of(None) is None and await of("   ") is None


async def test_a_sender_who_has_had_a_ticket_is_known(http, engine: AsyncEngine):
    await create_ticket(http, customer_email="Lin@Corp.Example")
    async with AsyncSession(engine) as session:
        assert await sender_lists.listing_of(session=session,
                                             address="lin@corp.example") is Listing.ALLOW
        assert await sender_lists.listing_of(session=session,
                                             address="other@corp.example") is None


def test_a_forged_known_customer_is_still_refused_or_held_by_dmarc():
    forged = AuthResults(spf="fail", dkim="none", dmarc="fail", dmarc_policy="reject",
                         from_domain="corp.example")
    assert needs_score(forged, Listing.ALLOW)  # the spam score is asked again
    refused = decide(auth=forged, spam=SpamScore(), listing=Listing.ALLOW,
                     thresholds=Thresholds())
    assert (refused.verdict, refused.reason) == (Verdict.REJECT, Reason.DMARC_REJECT)
    held = decide(auth=AuthResults(dmarc="fail", dmarc_policy="quarantine"),
                  spam=SpamScore(), listing=Listing.ALLOW, thresholds=Thresholds())
    assert (held.verdict, held.reason) == (Verdict.QUARANTINE, Reason.DMARC_QUARANTINE)
    genuine = AuthResults(spf="pass", dkim="pass", dmarc="pass", dmarc_policy="reject")
    assert not needs_score(genuine, Listing.ALLOW)


def test_an_allowlisted_from_nothing_vouches_for_is_scored_like_a_stranger_s():
    # A domain without DMARC: a known customer's address is anyone's to write in a From.
    bare = AuthResults(spf="none", dkim="none", dmarc="none", from_domain="corp.example")
    assert needs_score(bare, Listing.ALLOW)
    assert needs_score(AuthResults(dkim="pass", dkim_domains=("mailer.example",),
                                   from_domain="corp.example"), Listing.ALLOW)
    # The domain's own signature (or its parent's) vouches, as does a desk that switched
    # checking off behind a relay it trusts.
    for sender in ("corp.example", "eu.corp.example"):
        assert not needs_score(AuthResults(dkim="pass", dkim_domains=("corp.example",),
                                           from_domain=sender), Listing.ALLOW)
    assert not needs_score(AuthResults(source="off"), Listing.ALLOW)


async def test_admins_add_list_and_remove_rules_and_duplicates_conflict(http):
    grace = await make_agent(http, role="admin", email="admin@helpdesk.example")
    made = await http.post(RULES, json={"pattern": " Spam.Example ", "kind": "block",
                                        "note": "phishing wave"}, headers=as_(grace["token"]))
    assert made.status_code == 201, made.text
    rule = made.json()
    assert (rule["pattern"], rule["kind"], rule["origin"], rule["note"]) == (
        "spam.example", "block", "admin", "phishing wave")
    assert rule["created_by"] == grace["id"]
    assert (await http.post(RULES, json={"pattern": "ada@partner.example",
                                         "kind": "allow"})).status_code == 201
    assert_problem(await http.post(RULES, json={"pattern": "SPAM.example", "kind": "allow"}),
                   409, "conflict")
    for bad in ({"pattern": "*.spam.example", "kind": "block"},
                {"pattern": "com", "kind": "block"},
                {"pattern": "not an address", "kind": "block"},
                {"pattern": "x.example", "kind": "maybe"},
                {"pattern": "x.example", "kind": "block", "extra": 1}):
        assert_problem(await http.post(RULES, json=bad), 422, "invalid-body")
    blocks = (await http.get(RULES, params={"kind": "block"})).json()["items"]
    assert [r["pattern"] for r in blocks] == ["spam.example"]
    every = (await http.get(RULES)).json()["items"]
    assert [r["pattern"] for r in every] == ["ada@partner.example", "spam.example"]
    page = (await http.get(RULES, params={"limit": 1})).json()
    rest = (await http.get(RULES, params={"cursor": page["next_cursor"]})).json()
    assert [r["pattern"] for r in page["items"] + rest["items"]] == [
        "ada@partner.example", "spam.example"]
    assert_problem(await http.get(RULES, params={"kind": "maybe"}), 422, "invalid-body")
    audit = (await http.get("/api/v1/admin/audit")).json()["items"]
    assert any(a["entity"] == "sender-rule" and a["action"] == "created" for a in audit)
    assert (await http.delete(f"{RULES}/{rule['id']}")).status_code == 204
    assert_problem(await http.delete(f"{RULES}/{rule['id']}"), 404, "not-found")
    assert_problem(await http.delete(f"{RULES}/not-a-uuid"), 422, "invalid-body")


async def test_only_admins_keep_the_lists(http):
    agent = await make_agent(http)
    integration = await issue_token(http, "integration")
    for token in (agent["token"], integration):
        assert (await http.get(RULES, headers=as_(token))).status_code == 403
        assert (await http.post(RULES, json={"pattern": "x.example", "kind": "block"},
                                headers=as_(token))).status_code == 403
