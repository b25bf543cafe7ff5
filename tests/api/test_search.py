"""GET /api/v1/search: relevance on a small fixed desk, filters, reach and bad input."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from db import search as db_search
from tests.api.helpers import (
    assert_problem,
    assign,
    create_ticket,
    eventually,
    issue_token,
    make_agent,
    make_team,
    post_message,
    set_status,
)
from tests.support import bearer

SEARCH = "/api/v1/search"
# A word of every ticket's first message: all of them once the projection has indexed them.
EVERY = "lamp OR refunded OR invoice OR expired OR label OR subscription OR Kaufpreises " \
        "OR kangaroo"
DESK = {  # name: (subject, first message)
    "damaged": ("Refund for a damaged package",
                "The package arrived damaged and the lamp inside is broken. I want my money "
                "back."),
    "twice": ("Charged twice", "I see the charge twice on my card, was one of them refunded?"),
    "invoice": ("Invoice address wrong", "Please change the billing address on invoice 4411."),
    "password": ("Password reset not working", "The reset link says it has expired already."),
    "label": ("Where is my shipping label", "I still have not received the shipping label "
                                            "for my return."),
    "scattered": ("Question about a return", "The label on the box says shipping was paid by "
                                             "the sender."),
    "subscription": ("Cancel plan", "I would like to end my subscription at the end of the "
                                    "month."),
    "german": ("Lieferung beschädigt", "Die Lieferung kam beschädigt an, bitte um "
                                       "Rückerstattung des Kaufpreises."),
}


@dataclass
class Desk:
    http: httpx.AsyncClient
    refs: dict[str, str]
    team_a: str
    team_b: str
    agent_a: dict[str, Any]

    async def search(self, q: str, token: str | None = None, **params: Any) -> httpx.Response:
        return await self.http.get(SEARCH, params={"q": q, **params},
                                   headers=bearer(token) if token else {})

    async def found(self, q: str, token: str | None = None, **params: Any) -> list[str]:
        """The refs of the desk's tickets found, best first."""
        response = await self.search(q, token, **params)
        assert response.status_code == 200, response.text
        by_ref = {v: k for k, v in self.refs.items()}
        return [by_ref.get(i["public_ref"], i["public_ref"]) for i in response.json()["items"]]


async def build_desk(http: httpx.AsyncClient) -> Desk:
    agent = await make_agent(http, team="A", email="a@helpdesk.example")
    team_b = (await make_team(http, "B"))["id"]
    refs = {}
    for name, (subject, body) in DESK.items():
        made = await create_ticket(http, subject=subject, body=body, team_id=agent["team_id"],
                                   customer_email=f"{name}@example.com")
        refs[name] = made["public_ref"]
    other = await create_ticket(http, subject="Kangaroo plush missing", team_id=team_b,
                                body="The kangaroo plush was not in the box.",
                                customer_email="b@example.com", tags=["vip"])
    refs["team_b"] = other["public_ref"]
    desk = Desk(http=http, refs=refs, team_a=agent["team_id"], team_b=team_b, agent_a=agent)
    await eventually(lambda: _all_indexed(desk))
    return desk


async def _all_indexed(desk: Desk) -> bool:
    return len(await desk.found(EVERY, limit=100)) == len(DESK) + 1


async def test_the_best_match_ranks_first(http):
    desk = await build_desk(http)

    assert (await desk.found("damaged package"))[0] == "damaged"
    assert (await desk.found("invoice billing address"))[0] == "invoice"
    assert (await desk.found("password reset"))[0] == "password"


async def test_words_are_stemmed_so_refunds_finds_refunded(http):
    desk = await build_desk(http)

    assert set(await desk.found("refunds")) == {"damaged", "twice"}
    # The subject weighs more than a word in a message.
    assert (await desk.found("refunds"))[0] == "damaged"


async def test_phrases_prefixes_exclusion_and_or(http):
    desk = await build_desk(http)

    assert set(await desk.found("shipping label")) == {"label", "scattered"}
    assert await desk.found('"shipping label"') == ["label"]
    assert await desk.found("subscr*") == ["subscription"]
    assert await desk.found("refund -damaged") == ["twice"]
    assert set(await desk.found("password OR invoice")) == {"password", "invoice"}
    # Operators of to_tsquery in the query are words, never syntax.
    assert (await desk.search("pass:* & ! | ( refu*")).status_code == 200


async def test_a_phrase_needs_its_words_side_by_side_wherever_they_stand(http):
    desk = await build_desk(http)
    # An agent's search walks its team's newest messages first; an admin's uses the index.
    for token in (None, desk.agent_a["token"]):
        assert await desk.found('"label for my return"', token) == ["label"]  # stop words
        assert await desk.found('"shipping was paid"', token) == ["scattered"]
        assert await desk.found('"paid shipping"', token) == []  # not in that order
        assert await desk.found('"billing address" "invoice 4411"', token) == ["invoice"]
        assert await desk.found('"billing address" "invoice 4412"', token) == []
        assert set(await desk.found('"shipping label" or expired', token)) == {
            "label", "password"}
        assert await desk.found("subscr*", token) == ["subscription"]


async def test_a_german_text_is_found_with_a_german_query(http):
    desk = await build_desk(http)

    assert await desk.found("beschädigte Lieferungen") == ["german"]
    assert await desk.found("Rückerstattung") == ["german"]


async def test_a_snippet_marks_the_words_and_names_the_message(http):
    desk = await build_desk(http)
    await post_message(http, desk.refs["invoice"], body="<b>bold</b> says Tom & Jerry")

    async def marked() -> bool:
        items = (await desk.search("bold")).json()["items"]
        return bool(items)
    await eventually(marked)
    item = (await desk.search("bold")).json()["items"][0]

    assert item["public_ref"] == desk.refs["invoice"]
    snippet = item["match"]["snippet"]
    # Only our own <mark> is markup: the message's text is escaped (its tags dropped).
    assert "<b>" not in snippet and "<mark>bold</mark>" in snippet, snippet
    assert "Tom &amp; Jerry" in snippet, snippet
    assert item["match"]["visibility"] == "public" and item["match"]["message_id"]
    subject_only = (await desk.search("cancel")).json()["items"][0]
    assert subject_only["match"] == {"message_id": None, "visibility": None,
                                     "snippet": "<mark>Cancel</mark> plan"}


async def test_control_characters_in_the_text_never_become_marks(http):
    # ts_headline marks matches with \x02 and \x03; the same characters in a message must
    # not open or close a <mark> of their own.
    await create_ticket(http, subject="Odd bytes", customer_name="Ada Lovelace",
                        body="before \x03 stray \x02 zebrafish \x02 after \x03 end")

    async def found() -> bool:
        return bool((await http.get(SEARCH, params={"q": "zebrafish"})).json()["items"])
    await eventually(found)
    [hit] = (await http.get(SEARCH, params={"q": "zebrafish"})).json()["items"]

    snippet = hit["match"]["snippet"]
    assert snippet.count("<mark>") == snippet.count("</mark>") == 1, snippet
    assert "<mark>zebrafish</mark>" in snippet, snippet
    assert (hit["subject"], hit["customer_name"]) == ("Odd bytes", "Ada Lovelace")


async def test_filters_narrow_the_results(http):
    desk = await build_desk(http)
    assert (await set_status(http, desk.refs["twice"], "spam")).status_code == 200

    async def spam() -> bool:
        return await desk.found("refunds", status="spam") == ["twice"]
    await eventually(spam)
    assert await desk.found("refunds", status="new") == ["damaged"]
    assert await desk.found("kangaroo OR refunds", team_id=desk.team_b) == ["team_b"]
    assert await desk.found("kangaroo OR refunds", tag="vip") == ["team_b"]
    assert await desk.found("refunds", customer="twice@example.com") == ["twice"]


async def test_pages_follow_the_cursor_without_repeats(http):
    desk = await build_desk(http)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = (await desk.search(EVERY, **params)).json()
        seen += [i["public_ref"] for i in page["items"]]
        if not (cursor := page["next_cursor"]):
            break

    assert len(seen) == len(set(seen)) == len(DESK) + 1
    assert seen == [i["public_ref"] for i in (await desk.search(
        EVERY, limit=100)).json()["items"]]


async def test_an_agent_never_finds_another_teams_tickets(http):
    desk = await build_desk(http)
    token = desk.agent_a["token"]

    assert await desk.found("kangaroo", token) == []
    assert await desk.found("kangaroo") == ["team_b"]  # the admin finds it
    assert await desk.found("kangaroo", token, team_id=desk.team_b) == []


async def test_an_agents_common_words_come_from_its_teams_newest_messages(http, monkeypatch):
    monkeypatch.setattr(db_search, "WALK_FROM", 0.0)  # every word is walked
    monkeypatch.setattr(db_search, "COMMON", 1)  # and common: the walk answers
    desk = await build_desk(http)
    token = desk.agent_a["token"]

    assert await desk.found("refunds", token) == ["damaged", "twice"]
    assert await desk.found('"shipping label"', token) == ["label"]
    assert await desk.found("subscr*", token) == ["subscription"]
    assert await desk.found("refund -damaged", token) == ["twice"]
    assert await desk.found("kangaroo", token) == []
    assert await desk.found("refunds", token, customer="twice@example.com") == ["twice"]


async def test_a_ticket_moved_to_another_team_is_found_by_that_team_only(http):
    desk = await build_desk(http)
    agent_b = await make_agent(http, team="B", email="b@helpdesk.example", name="Bea")
    moved = await assign(http, desk.refs["label"], None, team_id=desk.team_b, reason="shipping")
    assert moved.status_code == 200, moved.text

    await eventually(lambda: _finds(desk, '"shipping label"', agent_b["token"], 1))
    assert await desk.found('"shipping label"', desk.agent_a["token"]) == []
    assert await desk.found("kangaroo", agent_b["token"]) == ["team_b"]


async def test_a_customer_finds_only_public_text_of_its_own_ticket(http):
    desk = await build_desk(http)
    ref = desk.refs["damaged"]
    note = await post_message(http, ref, body="zephyr internal: customer is a known abuser",
                              author_type=None, visibility="internal",
                              token=desk.agent_a["token"])
    assert note.status_code == 201, note.text
    await post_message(http, desk.refs["twice"], body="zephyr on another ticket")
    await eventually(lambda: _finds(desk, "zephyr", desk.agent_a["token"], 2))
    customer = await issue_token(http, "customer", ticket=ref)

    staff_hit = next(i for i in (await desk.search("zephyr", desk.agent_a["token"])).json()[
        "items"] if i["public_ref"] == ref)
    assert staff_hit["match"]["visibility"] == "internal"
    assert (await desk.search("zephyr", customer)).json()["items"] == []
    assert (await desk.search("abuser", customer)).json()["items"] == []
    assert await desk.found("damaged OR refunded OR charge", customer) == ["damaged"]
    hit = (await desk.search("package", customer)).json()["items"][0]
    assert "abuser" not in hit["match"]["snippet"]


async def _finds(desk: Desk, q: str, token: str, count: int) -> bool:
    return len(await desk.found(q, token)) == count


async def test_an_integration_token_may_not_search(http):
    token = await issue_token(http, "integration")

    response = await http.get(SEARCH, params={"q": "refund"}, headers=bearer(token))

    assert_problem(response, 403, "forbidden")


async def test_bad_input_is_a_problem(http):
    assert_problem(await http.get(SEARCH, params={"q": "   "}), 422, "empty-query")
    assert_problem(await http.get(SEARCH), 422, "invalid-body")
    assert_problem(await http.get(SEARCH, params={"q": "-refund"}), 422, "empty-query")
    assert_problem(await http.get(SEARCH, params={"q": "x" * 501}), 422, "invalid-body")
    assert_problem(await http.get(SEARCH, params={"q": "refund", "cursor": "nope"}), 400,
                   "bad-cursor")
    assert_problem(await http.get(SEARCH, params={"q": "refund", "status": "nope"}), 422,
                   "invalid-body")
