"""Knowledge-base answers for a customer's draft: the JSON API's `POST /kb/suggest` and the
help form's live suggestions (web/pages/help_form.py) ask here, so both rank alike.

In degraded mode (services/intake_surge.py) both answer no articles, marked paused, and
record nothing: the ranking and its record are the costs a surge of drafts multiplies."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from db import kb
from db.models import KbArticle
from db.search import marked
from domain.search_language import SIMPLE, search_config
from services.desk import Desk
from services.intake_surge import suggestions_paused

# Why no articles were looked for (the JSON answer's `paused`): degraded mode.
Paused = Literal["surge"]


@dataclass(frozen=True)
class SuggestedArticle:
    id: uuid.UUID
    title: str
    snippet: str  # escaped text; the draft's words in <mark>…</mark>
    score: float


@dataclass(frozen=True)
class Suggestions:
    suggestion_id: uuid.UUID | None  # None: nothing was suggested (paused)
    articles: list[SuggestedArticle]
    paused: Paused | None = None


async def suggest_articles(desk: Desk, *, subject: str, body: str,
                           customer_email: str | None,
                           form_suggestion: uuid.UUID | None = None) -> Suggestions:
    """The three published articles closest to the draft, recorded as shown.

    `form_suggestion`: the help form's one suggestion for the form it drew; each pause in
    its typing updates that record rather than adding one (db/kb.py). None at all while
    intake surges."""
    if await suggestions_paused(desk.surge, desk.engine):
        return Suggestions(suggestion_id=None, articles=[], paused="surge")
    draft = f"{subject}\n{body}"
    config = search_config(draft)
    found = await kb.suggest(session=desk.session, draft=draft,
                             config=desk.settings.search_language if config == SIMPLE
                             else config)
    ids = [a.id for a in found]
    if form_suggestion is None:
        suggestion_id = await kb.record_suggestion(session=desk.session,
                                                   customer_email=customer_email,
                                                   article_ids=ids)
    else:
        suggestion_id = form_suggestion
        await kb.record_form_suggestion(session=desk.session, suggestion_id=suggestion_id,
                                        customer_email=customer_email, article_ids=ids)
    await desk.session.commit()
    return Suggestions(suggestion_id=suggestion_id, articles=[
        SuggestedArticle(id=a.id, title=a.title, snippet=marked(a.snippet), score=a.score)
        for a in found])


async def read_article(desk: Desk, article_id: uuid.UUID,
                       from_suggestion: uuid.UUID | None = None) -> KbArticle | None:
    """A published article for anyone to read (None: no such published article); opened
    from a suggestion, it is recorded as read there."""
    row = await kb.get_published_article(session=desk.session, article_id=article_id)
    if row is not None and from_suggestion is not None:
        await kb.record_read(session=desk.session, suggestion_id=from_suggestion,
                             article_id=article_id)
        await desk.session.commit()
    return row
