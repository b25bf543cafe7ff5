"""Knowledge base: articles, the suggestions shown for a customer's draft, and deflection.

A suggestion is stored each time articles are shown for a draft; when the customer opens a
ticket anyway, the ticket names the suggestion (`kb_suggestion_id`) and it is marked
submitted. Shown but never submitted counts as deflected.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Float, cast, func, literal, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from db.models import KbArticle, KbSuggestion

MAX_LEXEMES = 64
SUGGESTIONS = 3
_HEADLINE = ("StartSel=\x02, StopSel=\x03, MaxWords=30, MinWords=12, MaxFragments=1")


async def list_articles(*, session: AsyncSession, published: bool | None, limit: int,
                        after: tuple[datetime, uuid.UUID] | None) -> Sequence[KbArticle]:
    """Newest first, keyset over (created_at, id)."""
    query = select(KbArticle).order_by(KbArticle.created_at.desc(), KbArticle.id.desc())
    if published is not None:
        query = query.where(KbArticle.published.is_(published))
    if after is not None:
        query = query.where(tuple_(KbArticle.created_at, KbArticle.id) < after)
    return (await session.scalars(query.limit(limit))).all()


@dataclass(frozen=True)
class Suggested:
    id: uuid.UUID
    title: str
    snippet: str  # ts_headline with \x02 … \x03 around matches (the API escapes and marks)
    score: float


async def suggest(*, session: AsyncSession, draft: str, config: str,
                  limit: int = SUGGESTIONS) -> list[Suggested]:
    """The published articles sharing most words with the draft: the draft's lexemes OR-ed
    (at most MAX_LEXEMES), ranked by ts_rank_cd where title words weigh most."""
    query = await _any_word_query(session, draft, config)
    if query is None:
        return []
    a = KbArticle
    score = cast(func.ts_rank_cd(a.search_tsv, query), Float)
    best = (select(a.id, a.title, a.body, a.search_config, score.label("score"))
            .where(a.published.is_(True), a.search_tsv.op("@@")(query))
            .order_by(score.desc(), a.id).limit(limit).subquery())
    rows = await session.execute(select(
        best.c.id, best.c.title, best.c.score,
        func.ts_headline(best.c.search_config, best.c.body, query, _HEADLINE))
        .order_by(best.c.score.desc(), best.c.id))
    return [Suggested(id=i, title=t, score=s, snippet=h) for i, t, s, h in rows.all()]


async def _any_word_query(session: AsyncSession, draft: str, config: str) -> Any | None:
    """The draft's own lexemes (in its language, then 'simple'), most frequent first, at most
    MAX_LEXEMES, quoted and joined by `|`: a tsquery cast from lexemes PostgreSQL produced
    itself, so nothing the customer typed is read as tsquery syntax."""
    found = await session.execute(text(
        "SELECT lexeme FROM ("
        " SELECT lexeme, cardinality(positions) AS n, 0 AS pass"
        "  FROM unnest(to_tsvector(CAST(:config AS regconfig), :draft))"
        " UNION ALL SELECT lexeme, cardinality(positions), 1"
        "  FROM unnest(to_tsvector('simple', :draft))) AS l"
        " GROUP BY lexeme ORDER BY min(pass), max(n) DESC, lexeme LIMIT :cap"),
        {"config": config, "draft": draft, "cap": MAX_LEXEMES})
    lexemes = [w for (w,) in found.all() if "\\" not in w and "'" not in w]
    if not lexemes:
        return None
    return cast(literal(" | ".join(f"'{w}'" for w in lexemes)), TSQUERY)


async def record_suggestion(*, session: AsyncSession, customer_email: str | None,
                            article_ids: list[uuid.UUID]) -> uuid.UUID:
    row = KbSuggestion(customer_email=customer_email, article_ids=article_ids)
    session.add(row)
    await session.flush()
    return row.id


async def mark_submitted(*, engine: AsyncEngine, suggestion_id: uuid.UUID,
                         ticket_id: uuid.UUID) -> None:
    """The customer opened a ticket after seeing these suggestions. Idempotent: the first
    ticket stays; an unknown id changes nothing."""
    async with engine.begin() as conn:
        await conn.execute(
            update(KbSuggestion)
            .where(KbSuggestion.id == suggestion_id, KbSuggestion.ticket_id.is_(None))
            .values(ticket_id=ticket_id, submitted_at=func.now()))


@dataclass(frozen=True)
class DeflectionReport:
    shown: int
    submitted: int
    per_article: list[dict[str, Any]]  # article_id, title, shown, submitted


async def deflection_report(*, session: AsyncSession, start: datetime | None,
                            end: datetime | None) -> DeflectionReport:
    """Suggestions that showed at least one article, created in [start, end)."""
    s = KbSuggestion
    window = [func.cardinality(s.article_ids) > 0]
    if start is not None:
        window.append(s.created_at >= start)
    if end is not None:
        window.append(s.created_at < end)
    submitted = func.count().filter(s.ticket_id.is_not(None))
    shown, sent = (await session.execute(select(func.count(), submitted).where(*window))).one()
    shown_ids = select(func.unnest(s.article_ids).label("article_id"), s.ticket_id) \
        .where(*window).subquery()
    rows = await session.execute(
        select(shown_ids.c.article_id, KbArticle.title, func.count(),
               func.count().filter(shown_ids.c.ticket_id.is_not(None)))
        .outerjoin(KbArticle, KbArticle.id == shown_ids.c.article_id)
        .group_by(shown_ids.c.article_id, KbArticle.title)
        .order_by(func.count().desc(), shown_ids.c.article_id))
    per_article = [{"article_id": a, "title": t, "shown": n, "submitted": k}
                   for a, t, n, k in rows.all()]
    return DeflectionReport(shown=shown, submitted=sent, per_article=per_article)
