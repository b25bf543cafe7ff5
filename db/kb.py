"""Knowledge base: articles, the suggestions shown for a customer's draft, and deflection.

A suggestion is stored each time articles are shown for a draft (the help form keeps one per
drawn form, its articles extended as the customer types on); when the customer opens a
ticket anyway, the ticket names the suggestion (`kb_suggestion_id`) and it is marked
submitted. Shown but never submitted counts as deflected. An article opened from a
suggestion is recorded as read.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Float, any_, cast, func, literal, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import TSQUERY, insert
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


async def record_form_suggestion(*, session: AsyncSession, suggestion_id: uuid.UUID,
                                 customer_email: str | None,
                                 article_ids: list[uuid.UUID]) -> None:
    """The help form's one suggestion: made at its first pause, later pauses add the articles
    they show (each article once), so typing on never counts the form as shown twice. A
    suggestion already submitted stays as it was."""
    s = KbSuggestion
    stmt = insert(s).values(id=suggestion_id, customer_email=customer_email,
                            article_ids=article_ids)
    stmt = stmt.on_conflict_do_update(
        index_elements=[s.id], where=s.ticket_id.is_(None),
        set_={"article_ids": text("ARRAY(SELECT DISTINCT a FROM unnest("
                                  "kb_suggestions.article_ids || excluded.article_ids) AS a)"),
              "customer_email": func.coalesce(stmt.excluded.customer_email, s.customer_email)})
    await session.execute(stmt)


async def get_published_article(*, session: AsyncSession, article_id: uuid.UUID
                                ) -> KbArticle | None:
    row = await session.get(KbArticle, article_id)
    return row if row is not None and row.published else None


async def record_read(*, session: AsyncSession, suggestion_id: uuid.UUID,
                      article_id: uuid.UUID) -> None:
    """The customer opened one of the suggestion's articles (each counted once)."""
    s, article = KbSuggestion, literal(article_id)
    await session.execute(
        update(s).where(s.id == suggestion_id, article == any_(s.article_ids),
                        ~(article == any_(s.read_article_ids)))
        .values(read_article_ids=func.array_append(s.read_article_ids, article_id)))


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
    per_article: list[dict[str, Any]]  # article_id, title, shown, submitted, read
    read: int = 0  # suggestions of which the customer opened at least one article


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
    read = func.count().filter(func.cardinality(s.read_article_ids) > 0)
    shown, sent, opened = (await session.execute(
        select(func.count(), submitted, read).where(*window))).one()
    shown_ids = select(func.unnest(s.article_ids).label("article_id"), s.ticket_id,
                       s.read_article_ids).where(*window).subquery()
    rows = await session.execute(
        select(shown_ids.c.article_id, KbArticle.title, func.count(),
               func.count().filter(shown_ids.c.ticket_id.is_not(None)),
               func.count().filter(shown_ids.c.article_id == any_(shown_ids.c.read_article_ids)))
        .outerjoin(KbArticle, KbArticle.id == shown_ids.c.article_id)
        .group_by(shown_ids.c.article_id, KbArticle.title)
        .order_by(func.count().desc(), shown_ids.c.article_id))
    per_article = [{"article_id": a, "title": t, "shown": n, "submitted": k, "read": r}
                   for a, t, n, k, r in rows.all()]
    return DeflectionReport(shown=shown, submitted=sent, per_article=per_article, read=opened)
