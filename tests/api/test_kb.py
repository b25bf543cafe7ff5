"""The knowledge base: admin CRUD and its audit, reading, suggestions for a draft, and the
deflection report."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.api.helpers import (
    as_,
    assert_problem,
    create_ticket,
    issue_token,
    make_agent,
    scalar,
)

ARTICLES = "/api/v1/admin/kb/articles"
SUGGEST = "/api/v1/kb/suggest"
REPORT = "/api/v1/reports/kb"
LIBRARY = {  # title: body
    "How to return a damaged item": "If your item arrived damaged or broken, start a return "
                                    "from your orders page; we refund once it is back.",
    "Resetting your password": "Use the reset link on the login page. The link expires "
                               "after one hour.",
    "Changing your billing address": "Update the address on invoices under Billing.",
    "Shipping times": "Parcels ship within two days; tracking arrives by email.",
}


async def add_article(http: httpx.AsyncClient, title: str, body: str, *,
                      published: bool = True, **fields: Any) -> dict[str, Any]:
    response = await http.post(ARTICLES, json={"title": title, "body": body,
                                               "published": published} | fields)
    assert response.status_code == 201, response.text
    return response.json()


async def library(http: httpx.AsyncClient) -> dict[str, str]:
    """The published articles, and one unpublished draft about returns: title → id."""
    ids = {title: (await add_article(http, title, body))["id"]
           for title, body in LIBRARY.items()}
    draft = await add_article(http, "Returns (draft, do not show)",
                              "Damaged item return refund broken damaged return",
                              published=False)
    return ids | {"draft": draft["id"]}


async def suggest(http: httpx.AsyncClient, subject: str, body: str,
                  token: str | None = None, **fields: Any) -> dict[str, Any]:
    response = await http.post(SUGGEST, json={"subject": subject, "body": body} | fields,
                               headers=as_(token))
    assert response.status_code == 200, response.text
    return response.json()


async def audit_of(http: httpx.AsyncClient, article_id: str) -> list[str]:
    items = (await http.get("/api/v1/admin/audit", params={
        "entity": "kb_article", "entity_id": article_id})).json()["items"]
    return [a["action"] for a in reversed(items)]


async def test_admins_write_articles_and_each_change_is_audited(http):
    made = await add_article(http, "Resetting your password", LIBRARY["Resetting your password"],
                             published=False, tags=["login"])
    path = f"{ARTICLES}/{made['id']}"
    assert made["search_config"] == "english" and made["tags"] == ["login"]

    patched = await http.patch(path, json={"published": True,
                                           "title": "Wie setze ich mein Passwort zurück?",
                                           "body": "Nutzen Sie den Link auf der Anmeldeseite. "
                                                   "Der Link ist eine Stunde lang gültig."})
    assert patched.status_code == 200, patched.text
    assert patched.json()["published"] is True
    assert patched.json()["search_config"] == "german"
    assert patched.json()["updated_at"] > made["updated_at"]
    assert (await http.get(path)).json() == patched.json()

    assert (await http.delete(path)).status_code == 204
    assert_problem(await http.get(path), 404, "not-found")
    assert await audit_of(http, made["id"]) == ["created", "updated", "deleted"]


async def test_the_list_pages_and_filters_by_published(http):
    ids = await library(http)
    seen: list[str] = []
    cursor = None
    while True:
        page = (await http.get(ARTICLES, params={"limit": 2} | (
            {"cursor": cursor} if cursor else {}))).json()
        seen += [a["id"] for a in page["items"]]
        if not (cursor := page["next_cursor"]):
            break

    assert sorted(seen) == sorted(ids.values())
    drafts = (await http.get(ARTICLES, params={"published": "false"})).json()["items"]
    assert [a["id"] for a in drafts] == [ids["draft"]]
    assert_problem(await http.get(ARTICLES, params={"cursor": "nope"}), 400, "bad-cursor")


async def test_only_admins_write_and_only_published_articles_are_read(http):
    ids = await library(http)
    agent = (await make_agent(http))["token"]
    published = f"/api/v1/kb/articles/{ids['Shipping times']}"
    draft = f"/api/v1/kb/articles/{ids['draft']}"

    assert_problem(await http.post(ARTICLES, json={"title": "x", "body": "y"},
                                   headers=as_(agent)), 403, "forbidden")
    assert (await http.get(published, headers=as_(agent))).json()["title"] == "Shipping times"
    assert_problem(await http.get(draft, headers=as_(agent)), 404, "not-found")
    assert (await http.get(draft)).status_code == 200  # an admin sees drafts
    assert_problem(await http.get(f"/api/v1/kb/articles/{uuid.uuid4()}"), 404, "not-found")


async def test_suggest_returns_the_three_best_published_articles(http):
    ids = await library(http)
    integration = await issue_token(http, "integration")

    found = await suggest(http, "My lamp arrived broken",
                          "The lamp I ordered arrived damaged. Can I return it for a refund?",
                          token=integration, customer_email="ada@example.com")

    titles = [a["title"] for a in found["articles"]]
    assert titles[0] == "How to return a damaged item"
    assert len(titles) <= 3 and "Returns (draft, do not show)" not in titles
    assert all(a["score"] > 0 for a in found["articles"])
    assert "<mark>" in found["articles"][0]["snippet"]
    assert found["articles"][0]["id"] == ids["How to return a damaged item"]
    uuid.UUID(found["suggestion_id"])

    password = await suggest(http, "Password", "I forgot my password and the reset link "
                                               "expired. Help with login please.")
    assert password["articles"][0]["title"] == "Resetting your password"
    nothing = await suggest(http, "Zebra", "quokka wombat")
    assert nothing["articles"] == []


async def test_deflection_is_counted_when_a_ticket_names_its_suggestion(http, engine):
    ids = await library(http)
    form = await issue_token(http, "integration")
    deflected = await suggest(http, "Billing address", "How do I change the address on my "
                                                       "invoice?", token=form)
    submitted = await suggest(http, "Broken", "My item arrived damaged, I want a refund.",
                              token=form)
    await suggest(http, "Zebra", "quokka wombat", token=form)  # nothing shown: not counted
    ticket = await create_ticket(http, kb_suggestion_id=submitted["suggestion_id"])
    # Unknown ids never fail intake; a second ticket does not steal the first one's count.
    await create_ticket(http, kb_suggestion_id=str(uuid.uuid4()))
    await create_ticket(http, kb_suggestion_id=submitted["suggestion_id"])

    report = (await http.get(REPORT)).json()

    assert (report["shown"], report["submitted"], report["deflected"]) == (2, 1, 1)
    assert report["deflection_rate"] == 0.5
    per_article = {a["title"]: (a["shown"], a["submitted"]) for a in report["articles"]}
    assert per_article["How to return a damaged item"] == (1, 1)
    assert per_article["Changing your billing address"][0] == 1
    assert deflected["articles"][0]["id"] == ids["Changing your billing address"]
    marked = await scalar(engine, "SELECT ticket_id FROM kb_suggestions WHERE id = :id",
                          id=submitted["suggestion_id"])
    assert str(marked) == ticket["ticket_id"]


async def test_the_report_is_for_staff_and_has_no_rate_without_suggestions(http):
    empty = (await http.get(REPORT, params={"start": "2020-01-01", "end": "2020-02-01"})).json()
    assert (empty["shown"], empty["deflection_rate"], empty["articles"]) == (0, None, [])
    agent = (await make_agent(http))["token"]
    assert (await http.get(REPORT, headers=as_(agent))).status_code == 200
    assert_problem(await http.get(REPORT, headers=as_(await issue_token(http, "integration"))),
                   403, "forbidden")
    assert_problem(await http.get(REPORT, params={"start": "2020-02-01", "end": "2020-01-01"}),
                   422, "invalid-range")
