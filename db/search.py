"""Full-text search over tickets: subjects and messages, one ranked row per ticket.

How a search stays fast at a million messages: a GIN bitmap cannot stop early, so it only
answers words rare enough for their bitmap to be small. An agent's search (bounded by its
teams) for a word the planner estimates common (WALK_FROM of the messages) first walks each
team's newest messages and tickets (WINDOW, SUBJECT_WINDOW rows, newest first, by btree):
when COMMON of them match, the newest matches are the candidates, found after a few hundred
rows; otherwise, and for rarer words, the GIN indexes find them. Admins and customers go to
the indexes directly. Only a bounded candidate set (CANDIDATES messages,
CANDIDATES subjects, within the caller's reach and filters) is ranked with ts_rank_cd and
grouped per ticket; ts_headline, the costly part, runs for the returned page only. A query
matching more than CANDIDATES messages ranks the newest CANDIDATES of a team, or an arbitrary
CANDIDATES from the index (the rare, specific words people search for stay exact).

Pages are keyset over (score, ticket id): a later page may shift when new matches arrive.
"""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    cast,
    func,
    literal,
    null,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY, REGCONFIG, TSQUERY, UUID, aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from db.models import Ticket, TicketMessage
from db.queries import decode_cursor, encode_cursor

CANDIDATES = 200
# Within teams, a search first walks each team's newest rows: WINDOW messages and
# SUBJECT_WINDOW tickets, when the planner estimates the word in WALK_FROM of the messages
# or more. COMMON matches among them make the word common enough to rank those; fewer, and
# the GIN index answers (cheap then: the word is rarer).
WINDOW = 600
WALK_FROM = 0.02  # the share of messages (estimated) from which a word is walked
SUBJECT_WINDOW = 400
COMMON = 25
SUBJECT_WEIGHT = 2.0  # a word in the subject says more about a ticket than one in a reply
MAX_PREFIXES = 8
# ts_headline marks matches with these; the text is escaped, then they become <mark>.
_START, _STOP = "\x02", "\x03"
_HEADLINE = (f'StartSel="{_START}", StopSel="{_STOP}", MaxWords=30, MinWords=12, '
             "MaxFragments=2, FragmentDelimiter=\" … \"")
# A word ending in `*` is a prefix; `-word*` excludes the prefix.
_PREFIX = re.compile(r"(?:^|(?<=\s))(-?)([^\W_]\w*)\*(?=\s|$)")
_LEXEME = re.compile(r"[^\W_]+")
_EXCLUSION = re.compile(r'(?:^|(?<=\s))-(?:"([^"]*)"?|([^\s"]+))')


@dataclass(frozen=True)
class ParsedQuery:
    """The user's query: what websearch_to_tsquery reads, sanitized prefixes, exclusions."""

    words: str
    prefixes: tuple[str, ...]
    excluded: tuple[str, ...]  # words and phrases (`-word`, `-"a phrase"`)
    excluded_prefixes: tuple[str, ...]

    @property
    def finds_something(self) -> bool:
        """A word to look for, not only exclusions (which no index can answer)."""
        return bool(self.prefixes or _LEXEME.search(self.words))


def parse_query(q: str) -> ParsedQuery:
    prefixes: list[str] = []
    excluded_prefixes: list[str] = []
    excluded: list[str] = []

    def take_prefix(match: re.Match[str]) -> str:
        # Only letters and digits reach to_tsquery: no operator or quote of the user's.
        lexeme = "".join(_LEXEME.findall(match.group(2))).lower()
        found = excluded_prefixes if match.group(1) else prefixes
        if lexeme and len(prefixes) + len(excluded_prefixes) < MAX_PREFIXES:
            found.append(lexeme)
        return " "

    def take_exclusion(match: re.Match[str]) -> str:
        excluded.append(match.group(1) or match.group(2))
        return " "

    words = _PREFIX.sub(take_prefix, q).replace("*", " ")
    words = _EXCLUSION.sub(take_exclusion, words)
    return ParsedQuery(words=" ".join(words.split()), prefixes=tuple(prefixes),
                       excluded=tuple(excluded), excluded_prefixes=tuple(excluded_prefixes))


def tsquery(parsed: ParsedQuery, configs: Sequence[str]) -> ColumnElement[Any]:
    """`parsed` read with each configuration, OR-ed: a text matches in any of its languages.
    An exclusion is excluded in every configuration: a text stemmed one way must not match
    through another configuration's form of the excluded word."""
    combined = _one_config(parsed, configs[0])
    for config in configs[1:]:
        combined = combined.op("||")(_one_config(parsed, config))
    for config in configs:
        cfg = cast(literal(config), REGCONFIG)
        for text in parsed.excluded:
            # phraseto_tsquery reads plain text: the user's words are never tsquery syntax.
            combined = combined.op("&&")(
                func.tsquery_not(func.phraseto_tsquery(cfg, text, type_=TSQUERY)))
        for lexeme in parsed.excluded_prefixes:
            combined = combined.op("&&")(_prefix(cfg, lexeme, excluded=True))
    return combined


def _one_config(parsed: ParsedQuery, config: str) -> ColumnElement[Any]:
    cfg = cast(literal(config), REGCONFIG)
    query: ColumnElement[Any] = func.websearch_to_tsquery(cfg, parsed.words, type_=TSQUERY)
    for lexeme in parsed.prefixes:
        query = query.op("&&")(_prefix(cfg, lexeme))
    return query


def _prefix(cfg: ColumnElement[Any], lexeme: str, *, excluded: bool = False
            ) -> ColumnElement[Any]:
    # The lexeme is letters and digits only, and quoted: to_tsquery sees one term.
    return func.to_tsquery(cfg, f"{'!' if excluded else ''}'{lexeme}':*", type_=TSQUERY)


@dataclass(frozen=True)
class Hit:
    ticket: Ticket
    score: float
    snippet: str
    message_id: uuid.UUID | None
    visibility: str | None


def after(cursor: str) -> tuple[float, uuid.UUID]:
    """The position a cursor names. Raises ValueError for anything we did not issue."""
    parts = decode_cursor(cursor)
    if len(parts) != 3 or parts[0] != "search":
        raise ValueError("not a search cursor")
    return float(parts[1]), uuid.UUID(parts[2])


def cursor_of(hit: Hit) -> str:
    return encode_cursor("search", repr(hit.score), str(hit.ticket.id))


async def search(
    *, session: AsyncSession, query: ColumnElement[Any], bounds: list[ColumnElement[bool]],
    public_only: bool, limit: int, position: tuple[float, uuid.UUID] | None = None,
    teams: Sequence[uuid.UUID] | None = None,
) -> list[Hit]:
    """A page of tickets matching `query` within `bounds` (conditions on Ticket), best first.
    `public_only`: internal notes neither match nor show (customers). `teams`: the bounds
    keep to these teams' tickets, so their messages may be walked newest first."""
    if teams and await match_share(session=session, query=query) < WALK_FROM:
        teams = None  # a rare word: the index answers at once, a walk would be wasted
    rows = await session.execute(statement(query=query, bounds=bounds, public_only=public_only,
                                           limit=limit, position=position, teams=teams))
    return [Hit(ticket=t, score=score, snippet=marked(text), message_id=mid, visibility=vis)
            for t, score, mid, vis, text in rows.all()]


async def match_share(*, session: AsyncSession, query: ColumnElement[Any]) -> float:
    """The planner's estimate of the share of messages matching `query` (migration 0017's
    function: EXPLAIN over the column's statistics, about a millisecond)."""
    share = await session.scalar(select(func.ticket_messages_match_share(query)))
    return float(share or 0.0)


def statement(*, query: ColumnElement[Any], bounds: list[ColumnElement[bool]],
              public_only: bool, limit: int, position: tuple[float, uuid.UUID] | None,
              teams: Sequence[uuid.UUID] | None = None) -> Any:
    scored = _scored(query, bounds, public_only, teams)
    page = select(scored).order_by(scored.c.score.desc(), scored.c.ticket_id.desc())
    if position is not None:
        page = page.where(tuple_(scored.c.score, scored.c.ticket_id) < position)
    page_cte = page.limit(limit).cte("page")
    m = TicketMessage
    # Headlines for the page only: ts_headline re-parses the whole text, the dearest step.
    snippet = func.coalesce(
        func.ts_headline(m.search_config, _unmarked(m.body), query, _HEADLINE),
        func.ts_headline(Ticket.search_config, _unmarked(Ticket.subject), query, _HEADLINE))
    return (select(Ticket, page_cte.c.score, page_cte.c.message_id, m.visibility, snippet)
            .join(page_cte, page_cte.c.ticket_id == Ticket.id)
            .outerjoin(m, m.id == page_cte.c.message_id)
            .order_by(page_cte.c.score.desc(), Ticket.id.desc()))


def _unmarked(text: ColumnElement[str] | InstrumentedAttribute[str]) -> ColumnElement[str]:
    """The text without our headline markers: one in a message would open or close a <mark>
    of its own (and leave the real ones unbalanced)."""
    return func.translate(text, _START + _STOP, "")


def _by_index(query: ColumnElement[Any], bounds: list[ColumnElement[bool]],
              public_only: bool) -> Select[Any]:
    """Message matches from the GIN index: LIMIT without ORDER BY, its first CANDIDATES
    matches, each ranked once. Every match is in the bitmap first: cheap for rare words."""
    m = TicketMessage
    visible = [m.visibility == "public"] if public_only else []
    return (
        select(m.ticket_id, m.id.label("message_id"),
               cast(func.ts_rank_cd(m.search_tsv, query), Float).label("rank"))
        .join(Ticket, Ticket.id == m.ticket_id)
        .where(m.search_tsv.op("@@")(query), *visible, *bounds)
        .limit(CANDIDATES))


def _newest_messages(team: uuid.UUID, query: ColumnElement[Any],
                     bounds: list[ColumnElement[bool]], public_only: bool) -> Select[Any]:
    """The team's newest matching messages: its last WINDOW messages walked newest first
    (ix_ticket_messages_team_newest), stopping at CANDIDATES matches. A common word stops
    after a few hundred rows, where its GIN bitmap would hold a hundred thousand."""
    m = TicketMessage
    walk = (select(m.id, m.ticket_id, m.search_tsv, m.visibility)
            .where(m.team_id == team).order_by(m.created_at.desc()).limit(WINDOW)
            .subquery("walk"))
    visible = [walk.c.visibility == "public"] if public_only else []
    rank = cast(func.ts_rank_cd(walk.c.search_tsv, query), Float)
    matched = (select(walk.c.ticket_id, walk.c.id.label("message_id"), rank.label("rank"))
               .where(walk.c.search_tsv.op("@@")(query), *visible)
               .limit(CANDIDATES).subquery("matched"))
    # The bounds after the LIMIT, so they never keep the walk going: bounds that drop some
    # of these (a status filter) leave fewer than COMMON, and the index answers instead.
    return (select(matched).join(Ticket, Ticket.id == matched.c.ticket_id).where(*bounds))


def _newest_subjects(team: uuid.UUID, query: ColumnElement[Any],
                     bounds: list[ColumnElement[bool]]) -> Select[Any]:
    """Like _newest_messages: the team's last SUBJECT_WINDOW tickets by activity
    (ix_tickets_team_updated), walked newest first."""
    walk = (select(Ticket.id, Ticket.search_tsv).where(Ticket.team_id == team)
            .order_by(Ticket.updated_at.desc()).limit(SUBJECT_WINDOW).subquery("walk_subjects"))
    matched = (select(walk.c.id.label("ticket_id"), _NO_MESSAGE,
                      _subject_rank(walk.c.search_tsv, query))
               .where(walk.c.search_tsv.op("@@")(query)).limit(CANDIDATES)
               .subquery("matched_subjects"))
    return (select(matched).join(Ticket, Ticket.id == matched.c.ticket_id).where(*bounds))


def _subjects_by_index(query: ColumnElement[Any], bounds: list[ColumnElement[bool]]
                       ) -> Select[Any]:
    # Ranking every match of a common word visited up to 15,000 scattered ticket rows
    # (70 ms at 150,000 tickets); the first CANDIDATES are ranked instead.
    return (select(Ticket.id.label("ticket_id"), _NO_MESSAGE,
                   _subject_rank(Ticket.search_tsv, query))
            .where(Ticket.search_tsv.op("@@")(query), *bounds)
            .limit(CANDIDATES))


# A subject match names no message (typed: in a CTE an untyped NULL would be text).
_NO_MESSAGE: ColumnElement[Any] = cast(null(), UUID(as_uuid=True)).label("message_id")


def _subject_rank(tsv: Any, query: ColumnElement[Any]) -> ColumnElement[float]:
    return (cast(func.ts_rank_cd(tsv, query), Float) * SUBJECT_WEIGHT).label("rank")


def _newest_else_indexed(newest: list[Select[Any]], by_index: Select[Any], name: str) -> Any:
    """The newest matches when the walks found COMMON of them (a common word: ranking
    the newest is as good as any and stops early), else the index's (a rarer word: complete).
    Both conditions are constants: PostgreSQL runs only the branch whose one-time filter
    holds, and the walks once (a CTE read twice is materialized)."""
    found = union_all(*newest).cte(name)
    enough = select(func.count()).select_from(found).scalar_subquery() >= COMMON
    return union_all(select(found).where(enough), by_index.where(~enough))


def _scored(query: ColumnElement[Any], bounds: list[ColumnElement[bool]],
            public_only: bool, teams: Sequence[uuid.UUID] | None) -> Any:
    """Per ticket: its score and its best-matching message (None when only the subject)."""
    in_messages: Any = _by_index(query, bounds, public_only)
    in_subjects: Any = _subjects_by_index(query, bounds)
    if teams:  # bounded by teams: walk each team's newest rows first
        in_subjects = _newest_else_indexed(
            [_newest_subjects(t, query, bounds) for t in teams], in_subjects,
            "newest_subjects")
        in_messages = _newest_else_indexed(
            [_newest_messages(t, query, bounds, public_only) for t in teams], in_messages,
            "newest_messages")
    hits = union_all(in_messages, in_subjects).subquery("hits")
    # The ticket's best message: the first of its matching messages ordered by rank.
    best_message = func.array_agg(aggregate_order_by(hits.c.message_id, hits.c.rank.desc()),
                                  type_=ARRAY(UUID(as_uuid=True))).filter(hits.c.message_id.is_not(None))
    return (
        select(hits.c.ticket_id, cast(func.sum(hits.c.rank), Float).label("score"),
               best_message[1].label("message_id"))
        .group_by(hits.c.ticket_id)
        .cte("scored"))


def marked(text: str | None) -> str:
    """The headline as safe HTML: the text escaped, only its matches in <mark>."""
    escaped = html.escape(text or "", quote=False)
    return escaped.replace(_START, "<mark>").replace(_STOP, "</mark>")

