"""/api/v1/admin/kb/articles: writing the knowledge base (customers read it at /kb).

An article's language is detected from its title and body on every write: it decides the
text search configuration its words are stemmed with (see domain/search_language.py).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import func

from api.admin.common import AdminDep, Limit, audit, decode, get_or_404, next_cursor
from api.deps import SessionDep
from api.kb import ArticleOut
from db import kb
from db.models import KbArticle
from domain.search_language import search_config
from services.schemas import Tag

router = APIRouter(prefix="/kb/articles", tags=["admin"])
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
ArticleBody = Annotated[str, StringConstraints(min_length=1, max_length=200_000)]


class ArticleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    body: ArticleBody
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    published: bool = False


class ArticlePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    body: ArticleBody | None = None
    tags: list[Tag] | None = Field(default=None, max_length=20)
    published: bool | None = None


class ArticlePage(BaseModel):
    items: list[ArticleOut]
    next_cursor: str | None


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ArticleOut)
async def create_article(body: ArticleIn, session: SessionDep, admin: AdminDep) -> KbArticle:
    row = KbArticle(id=uuid.uuid4(), **body.model_dump(),
                    search_config=search_config(f"{body.title}\n{body.body}"))
    session.add(row)
    audit(session, admin, "created", "kb_article", row.id, title=body.title,
          published=body.published)
    await session.commit()
    await session.refresh(row)
    return row


@router.get("", response_model=ArticlePage)
async def list_articles(session: SessionDep, _: AdminDep, limit: Limit = 50,
                        cursor: str | None = None,
                        published: Annotated[bool | None, Query()] = None) -> dict[str, Any]:
    after = decode(cursor, datetime.fromisoformat, uuid.UUID)
    rows = await kb.list_articles(session=session, published=published, limit=limit,
                                  after=tuple(after) if after else None)
    return {"items": rows, "next_cursor": next_cursor(rows, limit, "created_at", "id")}


@router.get("/{article_id}", response_model=ArticleOut)
async def get_article(article_id: uuid.UUID, session: SessionDep, _: AdminDep) -> KbArticle:
    return await get_or_404(session, KbArticle, article_id, "article")


@router.patch("/{article_id}", response_model=ArticleOut)
async def update_article(article_id: uuid.UUID, body: ArticlePatch, session: SessionDep,
                         admin: AdminDep) -> KbArticle:
    row = await get_or_404(session, KbArticle, article_id, "article")
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    for field, value in changes.items():
        setattr(row, field, value)
    if "title" in changes or "body" in changes:
        row.search_config = search_config(f"{row.title}\n{row.body}")
    row.updated_at = func.now()
    audit(session, admin, "updated", "kb_article", article_id,
          **{k: v for k, v in changes.items() if k != "body"},
          body_changed="body" in changes)
    await session.commit()
    await session.refresh(row)  # updated_at and the search vector were set by the database
    return row


@router.delete("/{article_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_article(article_id: uuid.UUID, session: SessionDep, admin: AdminDep) -> None:
    row = await get_or_404(session, KbArticle, article_id, "article")
    await session.delete(row)
    audit(session, admin, "deleted", "kb_article", article_id, title=row.title)
    await session.commit()
