"""The hottest lists are served by their own indexes, not by scanning the tickets table.

The planner is asked with sequential scans discouraged (an empty test table would make a
scan the cheapest plan); the assertion is that a fitting index exists and is usable.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import postgresql

from db import lists, queries
from db import ticket_filters as tf
from db.models import Ticket, TicketMessage
from domain.ticket_filters import BreachState, Sort, TicketFilters

TWO_TEAMS = [uuid.uuid4(), uuid.uuid4()]


def explain_sql(where, sort: Sort) -> str:
    stmt = select(Ticket.id).where(*where).order_by(*tf.order(sort)).limit(51)
    sql = stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    return f"EXPLAIN {sql}"


@pytest.mark.parametrize(("where", "sort", "index"), [
    (lists.my_open(uuid.uuid4(), reach=[uuid.uuid4(), uuid.uuid4()]), Sort.UPDATED,
     "ix_tickets_assignee_open"),
    # Either fits one team's queue; an empty table cannot tell the planner which is cheaper.
    (lists.team_queue(uuid.uuid4()), Sort.DUE,
     ("ix_tickets_team_queue", "ix_tickets_unassigned_due")),
    # The workspace's views for an agent of two teams.
    (lists.filtered(TicketFilters(open=True, breach_state=[BreachState.AT_RISK]),
                    reach=TWO_TEAMS, me=None), Sort.DUE, "ix_tickets_breach_due"),
    (lists.filtered(TicketFilters(open=True, breach_state=[BreachState.BREACHED]),
                    reach=TWO_TEAMS, me=None), Sort.DUE, "ix_tickets_breach_due"),
    (lists.filtered(TicketFilters(open=True, assignee=["none"]), reach=TWO_TEAMS, me=None),
     Sort.DUE, "ix_tickets_unassigned_due"),
], ids=["my open tickets", "team queue", "at risk", "breached", "unassigned in my teams"])
async def test_list_uses_its_index_in_order_without_a_sort(engine, where, sort, index):
    async with engine.connect() as conn:
        await conn.exec_driver_sql("SET enable_seqscan = off")
        plan = "\n".join((await conn.exec_driver_sql(explain_sql(where, sort))).scalars())

    assert any(name in plan for name in ((index,) if isinstance(index, str) else index)), plan
    assert "Sort" not in plan, plan  # the index hands rows over in the list's order


@pytest.mark.parametrize("customer_email", [None, "pat@example.com"],
                         ids=["staff", "customer"])
async def test_a_conversation_is_read_by_its_ticket_not_by_scanning_every_message(
        engine, customer_email):
    stmt = (select(TicketMessage.id)
            .where(queries.in_conversation(uuid.uuid4(), customer_email=customer_email))
            .order_by(TicketMessage.created_at, TicketMessage.ticket_id, TicketMessage.seq)
            .limit(51))
    sql = stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    async with engine.connect() as conn:
        await conn.exec_driver_sql("SET enable_seqscan = off")
        plan = "\n".join((await conn.exec_driver_sql(f"EXPLAIN {sql}")).scalars())

    assert "Seq Scan on ticket_messages" not in plan, plan
