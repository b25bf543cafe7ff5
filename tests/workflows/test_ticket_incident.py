"""A ticket joining and leaving an incident, on the pure state machine (no Temporal)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.lifecycle import Status
from tests.support import new_ticket
from workflows.ticket_machine import TicketMachine, open_ticket
from workflows.ticket_types import (
    AssignIn,
    IncidentMessageIn,
    JoinIncidentIn,
    LeaveIncidentIn,
    StatusChangeIn,
)

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
TEAM = "7d3c0b1e-1d2a-4c1b-9a7e-2f0e6b8c4d10"
AGENT = "5a1f0c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b"


def machine(priority: str = "urgent") -> TicketMachine:
    return TicketMachine(open_ticket(new_ticket(priority=priority), T0))


def join(**fields: object) -> JoinIncidentIn:
    return JoinIncidentIn(**({"incident_id": "i1", "incident_ref": "INC-7"} | fields))  # type: ignore[arg-type]


def message(what: str) -> IncidentMessageIn:
    return IncidentMessageIn(id=f"00000000-0000-4000-8000-00000000000{len(what)}",
                             message_id=f"<{what}@helpdesk.local>", body=f"{what} text")


def test_joining_freezes_lowers_routes_and_acknowledges_once():
    m = machine()
    assert m.apply_join_incident(join(repeat_priority="normal", team_id=TEAM,
                                      ack=message("ack")), T0)
    t = m.ticket
    assert (t.priority, t.team_id, t.assignee_id) == ("medium", TEAM, None)
    assert m.state.sla is not None and m.state.sla.pause_reasons == ["incident"]
    actions = [a.action for a in m.state.outbox.audits]
    assert actions[-4:] == ["incident_linked", "sla_paused", "priority", "reassigned"]
    acks = [r for r in m.state.outbox.messages if r.author_id == "incident"]
    assert [(r.author_type, r.visibility, r.body) for r in acks] == [
        ("system", "public", "ack text")]
    # The same join again (a retried batch): nothing changes.
    assert not m.apply_join_incident(join(ack=message("ack")), T0)
    assert len(m.state.outbox.messages) == 2


def test_work_under_way_keeps_its_owner():
    m = machine()
    m.apply_assign(AssignIn(agent_id=AGENT, team_id=TEAM), T0)
    m.apply_join_incident(join(team_id="8e3c0b1e-1d2a-4c1b-9a7e-2f0e6b8c4d10"), T0)
    assert (m.ticket.assignee_id, m.ticket.team_id) == (AGENT, TEAM)


def test_leaving_with_the_resolution_resolves_from_any_open_status_once():
    m = machine()
    m.apply_join_incident(join(), T0)
    later = T0 + timedelta(hours=2)
    leave = LeaveIncidentIn("i1", "INC-7", resolution=message("resolution"))
    assert m.apply_leave_incident(leave, later)
    assert m.status is Status.RESOLVED and m.state.incident is None
    assert m.state.sla is not None and m.state.sla.pause_reasons == []
    assert not m.apply_leave_incident(leave, later)  # a retry: already out
    resolved = [a for a in m.state.outbox.audits if a.to_status == "resolved"]
    assert [(a.from_status, a.reason) for a in resolved] == [("new", "incident INC-7 resolved")]


def test_a_closed_ticket_only_gets_its_clock_back():
    m = machine()
    m.apply_join_incident(join(), T0)
    for status in ("assigned", "in_progress", "resolved", "closed"):
        if status == "assigned":
            m.apply_assign(AssignIn(agent_id=AGENT, team_id=TEAM), T0)
            continue
        m.apply_status_change(StatusChangeIn(status=status), T0)
    before = len(m.state.outbox.messages)
    assert m.apply_leave_incident(LeaveIncidentIn("i1", "INC-7", resolution=message("r")), T0)
    assert m.status is Status.CLOSED and len(m.state.outbox.messages) == before
    assert m.state.sla is not None and "incident" not in m.state.sla.pause_reasons
