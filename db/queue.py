"""The pull queue's claims: which ticket an agent takes next, and the short-lived hold on it.

`claim_next_ticket` picks and claims in ONE statement. The candidate row is locked with
FOR UPDATE SKIP LOCKED, so concurrent callers walk past each other instead of queueing on the
same ticket; the claim is an upsert that only replaces an expired claim, so a caller whose
snapshot predates another's committed claim (it did not see the claim, and found the ticket
row unlocked once that transaction ended) inserts nothing and learns it lost. The claim is
only a hold: the ticket's workflow confirms it (the `claim` update), and a claim whose caller
died half-way expires after CLAIM_TTL.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Interval, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncSession

CLAIM_TTL = timedelta(seconds=30)

# Candidates: new, unowned tickets of the agent's teams whose required skills the agent has,
# with no live claim. Order: earliest open SLA due (none, or paused, last), then priority,
# then age. `normal` is the old name of `medium`.
_CLAIM_NEXT = text("""
WITH pick AS (
    SELECT t.id, t.public_ref, t.team_id
    FROM tickets t
    LEFT JOIN sla_targets s ON s.ticket_id = t.id
    WHERE t.status = 'new'
      AND t.assignee_id IS NULL
      AND t.merged_into IS NULL
      AND t.team_id IN (SELECT team_id FROM agent_teams WHERE agent_id = :agent_id)
      AND t.required_skills <@ (SELECT skills FROM agents WHERE id = :agent_id)
      AND t.id <> ALL(:exclude)
      AND NOT EXISTS (SELECT 1 FROM ticket_claims c
                      WHERE c.ticket_id = t.id AND c.expires_at >= now())
    ORDER BY
      CASE WHEN s.paused_at IS NULL THEN
        LEAST(CASE WHEN s.first_response_at IS NULL THEN s.first_response_due END,
              s.next_reply_due,
              CASE WHEN s.resolved_at IS NULL THEN s.resolution_due END)
      END ASC NULLS LAST,
      CASE t.priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2
                      WHEN 'normal' THEN 2 WHEN 'low' THEN 3 ELSE 4 END,
      t.created_at,
      t.id
    FOR UPDATE OF t SKIP LOCKED
    LIMIT 1
), claim AS (
    INSERT INTO ticket_claims (ticket_id, agent_id, claimed_at, expires_at)
    SELECT id, :agent_id, now(), now() + :ttl FROM pick
    ON CONFLICT (ticket_id) DO UPDATE
        SET agent_id = EXCLUDED.agent_id, claimed_at = EXCLUDED.claimed_at,
            expires_at = EXCLUDED.expires_at
        WHERE ticket_claims.expires_at < now()
    RETURNING ticket_id
)
SELECT pick.id, pick.public_ref, pick.team_id, claim.ticket_id IS NOT NULL AS claimed
FROM pick LEFT JOIN claim ON claim.ticket_id = pick.id
""").bindparams(
    bindparam("agent_id", type_=UUID(as_uuid=True)),
    bindparam("exclude", type_=ARRAY(UUID(as_uuid=True))),
    bindparam("ttl", type_=Interval()),
)


@dataclass(frozen=True)
class Pick:
    """The candidate the statement chose; `claimed` False when another caller's claim won."""

    ticket_id: uuid.UUID
    public_ref: str
    team_id: uuid.UUID
    claimed: bool


async def claim_next_ticket(*, session: AsyncSession, agent_id: uuid.UUID,
                            exclude: Collection[uuid.UUID] = (),
                            ttl: timedelta = CLAIM_TTL) -> Pick | None:
    """Pick and claim the agent's next ticket; None when no candidate is left. Commits."""
    row = (await session.execute(_CLAIM_NEXT, {
        "agent_id": agent_id, "exclude": list(exclude), "ttl": ttl,
    })).one_or_none()
    await session.commit()  # the claim must be visible to every other caller at once
    if row is None:
        return None
    return Pick(ticket_id=row.id, public_ref=row.public_ref, team_id=row.team_id,
                claimed=row.claimed)


async def release_claim(*, session: AsyncSession, ticket_id: uuid.UUID,
                        agent_id: uuid.UUID) -> None:
    """Drop this agent's claim (confirmed or lost); another agent's newer claim stays."""
    await session.execute(
        text("DELETE FROM ticket_claims WHERE ticket_id = :ticket_id AND agent_id = :agent_id"),
        {"ticket_id": ticket_id, "agent_id": agent_id},
    )
    await session.commit()
