"""/api/v1/kb: published knowledge-base articles, and the articles suggested for a draft.

A customer about to open a ticket (portal, web form through an integration, or an agent
typing for them) sends the draft to `POST /kb/suggest`; the three best published articles come
back with the suggestion's id. A ticket opened anyway names it (`kb_suggestion_id`), which is
how `GET /reports/kb` tells deflected drafts from submitted ones. Under a surge of new tickets
none come back, with `"paused": "surge"` (services/intake_surge.py).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.auth import CurrentPrincipal
from api.deps import DeskDep, SessionDep
from api.openapi import problems
from api.problems import Problem
from db.models import KbArticle
from services.kb_suggestions import Paused, suggest_articles
from services.schemas import Body, Email

router = APIRouter(prefix="/kb", tags=["kb"])


class ArticleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    body: str
    tags: list[str]
    published: bool
    search_config: str
    created_at: datetime
    updated_at: datetime


class DraftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = ""
    body: Body
    customer_email: Email | None = None


class SuggestedOut(BaseModel):
    id: uuid.UUID
    title: str
    snippet: str = Field(description="escaped text; the draft's words in <mark>…</mark>")
    score: float


class SuggestionOut(BaseModel):
    suggestion_id: uuid.UUID | None = Field(
        description="send as kb_suggestion_id when the ticket is opened anyway; null while "
                    "suggestions are paused")
    articles: list[SuggestedOut]
    paused: Paused | None = Field(
        default=None, description="surge: the desk is in degraded mode under a surge of new "
                                  "tickets, and suggests nothing until it passes")


@router.get("/articles/{article_id}", response_model=ArticleOut, responses=problems(404, 422))
async def get_article(article_id: uuid.UUID, session: SessionDep,
                      principal: CurrentPrincipal) -> KbArticle:
    row = await session.get(KbArticle, article_id)
    # An unpublished draft is an admin's; to anyone else it does not exist.
    if row is None or not (row.published or principal.is_admin):
        raise Problem(404, "not-found", "Article not found", f"no article {article_id}")
    return row


@router.post("/suggest", status_code=status.HTTP_200_OK, response_model=SuggestionOut,
             responses=problems(422))
async def suggest(body: DraftIn, desk: DeskDep, principal: CurrentPrincipal) -> SuggestionOut:
    """The three published articles closest to the draft; the suggestion is recorded."""
    found = await suggest_articles(desk, subject=body.subject, body=body.body,
                                   customer_email=body.customer_email
                                   or principal.customer_email)
    return SuggestionOut(suggestion_id=found.suggestion_id, paused=found.paused, articles=[
        SuggestedOut(id=a.id, title=a.title, snippet=a.snippet, score=a.score)
        for a in found.articles])
