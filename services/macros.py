"""Macro use cases: write and list canned replies, render one for a ticket, apply its actions.

The JSON API (api/macros.py) and the workspace (web/pages/macros.py) call these alike. Who
may use and change a macro is domain/macros.py's; every change lands in the admin audit
(entity "macro") in the same transaction. A macro's actions go through the ticket use cases
(tags, priority, assignee, then status), so each is checked and audited as if done by hand.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from db import macros as store
from db import queries
from db.models import AdminAudit, Customer, Macro, Ticket
from domain.access import AccessDenied, Principal, Role, require, require_staff
from domain.macros import (
    MAX_PLACEHOLDERS,
    PLACEHOLDERS,
    MacroActions,
    MacroScope,
    RenderFacts,
    Scope,
    can_use,
    describe,
    placeholders_in,
    render,
    require_change,
    unknown_placeholders,
    values_of,
)
from services import ticket_sla, tickets
from services.desk import Desk
from services.lists import caller_reach, me_of
from services.macro_schemas import (
    MacroApplied,
    MacroChoices,
    MacroIn,
    MacroList,
    MacroOut,
    MacroPatch,
    MacroRendered,
)
from services.problems import Problem
from services.schemas import AssignRequest, PriorityChange, StatusChange, TagsChange, TicketOut
from services.ticket_access import live_ticket
from services.views import ticket_out

SUGGESTIONS = 8


async def list_macros(desk: Desk, p: Principal) -> MacroList:
    """Every macro the caller may use (an admin: all of them), by name."""
    require_staff(p)
    rows = await store.visible(session=desk.session, agent_id=me_of(p),
                               team_ids=caller_reach(p))
    return MacroList(items=await _outs(desk, p, rows))


async def suggest(desk: Desk, p: Principal, query: str) -> list[MacroOut]:
    """The composer's choices for what the agent typed after "/"."""
    require_staff(p)
    rows = await store.offered(session=desk.session, agent_id=me_of(p),
                               team_ids=[uuid.UUID(t) for t in p.team_ids], query=query,
                               limit=SUGGESTIONS)
    return await _outs(desk, p, rows)


async def get_macro(desk: Desk, p: Principal, macro_id: uuid.UUID) -> MacroOut:
    [out] = await _outs(desk, p, [await _usable(desk, p, macro_id)])
    return out


async def create_macro(desk: Desk, p: Principal, body: MacroIn) -> MacroOut:
    owner = me_of(p) if body.scope is Scope.PERSONAL else None
    require(owner is not None or body.scope is not Scope.PERSONAL,
            "a personal macro needs an agent to own it; make it a team's or everyone's")
    require_change(p, _scope(body.scope, owner, body.team_id))
    await _check(desk, body)
    macro = store.add(session=desk.session, values=_values(body) | {"owner_id": owner})
    _audit(desk, p, "created", macro.id, name=body.name, scope=body.scope.value)
    return await _saved(desk, p, macro)


async def update_macro(desk: Desk, p: Principal, macro_id: uuid.UUID, patch: MacroPatch
                       ) -> MacroOut:
    macro = await _usable(desk, p, macro_id)
    require_change(p, _scope_of(macro))
    merged = _validated(_current(macro) | patch.model_dump(exclude_unset=True))
    owner = _owner_after(p, macro, merged.scope)
    require(owner is not None or merged.scope is not Scope.PERSONAL,
            "a personal macro needs an agent to own it")
    require_change(p, _scope(merged.scope, owner, merged.team_id))
    await _check(desk, merged)
    store.change(macro=macro, values=_values(merged) | {"owner_id": owner})
    _audit(desk, p, "updated", macro.id, name=merged.name, scope=merged.scope.value,
           changed=sorted(patch.model_fields_set))
    return await _saved(desk, p, macro)


async def delete_macro(desk: Desk, p: Principal, macro_id: uuid.UUID) -> None:
    macro = await _usable(desk, p, macro_id)
    require_change(p, _scope_of(macro))
    await desk.session.delete(macro)
    _audit(desk, p, "deleted", macro.id, name=macro.name, scope=macro.scope)
    await desk.session.commit()


async def choices(desk: Desk, p: Principal) -> MacroChoices:
    """What the caller may choose when writing a macro (the page's form shows just these)."""
    require_staff(p)
    scopes = [s for s, ok in ((Scope.PERSONAL, p.agent_id is not None),
                              (Scope.TEAM, p.is_admin or p.role is Role.LEAD),
                              (Scope.EVERYONE, p.is_admin)) if ok]
    reach = caller_reach(p)
    teams = await store.teams(session=desk.session, team_ids=reach) \
        if Scope.TEAM in scopes else {}
    agents = await store.active_agents(session=desk.session, team_ids=reach)
    return MacroChoices(scopes=scopes, teams=teams, agents=agents)


# ---- using a macro on a ticket -------------------------------------------------------------

async def render_for(desk: Desk, agent: Principal, ticket_ref: str, macro_id: uuid.UUID) -> str:
    """The macro's body for that ticket, signed by `agent`."""
    return (await preview(desk, agent, ticket_ref, macro_id)).body


async def preview(desk: Desk, agent: Principal, ticket_ref: str, macro_id: uuid.UUID
                  ) -> MacroRendered:
    """The rendered body and, in words, what sending it will also do."""
    require_staff(agent)
    macro = await _usable(desk, agent, macro_id)
    row = await live_ticket(desk.session, ticket_ref, agent)
    facts = await _facts(desk, agent, row)
    return MacroRendered(macro_id=macro.id, ticket=row.public_ref,
                         body=render(macro.body, values_of(facts)),
                         will_also=await _words(desk, MacroActions.model_validate(macro.actions)))


async def apply_after_reply(desk: Desk, agent: Principal, ticket_ref: str,
                            macro_id: uuid.UUID) -> list[str]:
    """Apply the macro's actions once its reply is sent; what the ticket refused, each with
    why (empty when everything applied). A refusal does not stop the actions after it."""
    return (await apply_actions(desk, agent, ticket_ref, macro_id)).refused


async def apply_actions(desk: Desk, agent: Principal, ticket_ref: str, macro_id: uuid.UUID
                        ) -> MacroApplied:
    require_staff(agent)
    macro = await _usable(desk, agent, macro_id)
    row = await live_ticket(desk.session, ticket_ref, agent)
    actions = MacroActions.model_validate(macro.actions)
    reason = f"macro: {macro.name}"[:200]
    current, refused = ticket_out(queries.to_snapshot(row)), []
    for words, step in _steps(desk, agent, actions, reason):
        try:
            current = await step(current) or current
        except (Problem, AccessDenied) as err:
            refused.append(f"{words}: {err.detail}")
    return MacroApplied(ticket=current, refused=refused)


Step = Callable[[TicketOut], Awaitable[TicketOut | None]]


def _steps(desk: Desk, agent: Principal, actions: MacroActions, reason: str
           ) -> list[tuple[str, Step]]:
    """The commands, in order: tags, priority, assignee, status. One that would change
    nothing (the priority it has already) is skipped: a refusal would only be noise."""
    steps: list[tuple[str, Step]] = []
    if actions.add_tags or actions.remove_tags:
        tags = TagsChange(add=actions.add_tags, remove=actions.remove_tags)
        words = ", ".join(describe(MacroActions(add_tags=actions.add_tags,
                                                remove_tags=actions.remove_tags)))
        steps.append((words, lambda t: tickets.change_tags(desk, agent, t.public_ref, tags)))
    if priority := actions.priority:
        async def prioritise(t: TicketOut) -> TicketOut | None:
            if t.priority is priority:
                return None
            return await ticket_sla.change_priority(desk, agent, t.public_ref, PriorityChange(
                priority=priority, reason=reason))
        steps.append((f"set priority {priority.value}", prioritise))
    if actions.assignee:
        steps.append(("assign", _assign_step(desk, agent, actions.assignee, reason)))
    if status := actions.status:
        async def move(t: TicketOut) -> TicketOut | None:
            if t.status is status:
                return None
            return await tickets.change_status(desk, agent, t.public_ref,
                                               StatusChange(status=status, reason=reason))
        steps.append((describe(MacroActions(status=status))[0], move))
    return steps


def _assign_step(desk: Desk, agent: Principal, assignee: uuid.UUID | str, reason: str) -> Step:
    async def assign(t: TicketOut) -> TicketOut | None:
        target = agent.agent_id if assignee == "me" else str(assignee)
        if target is None:
            raise Problem(422, "no-agent", "No agent", "only an agent can be assigned as me")
        if t.assignee_id is not None and str(t.assignee_id) == target:
            return None
        return await tickets.assign_ticket(desk, agent, t.public_ref, AssignRequest(
            agent_id=uuid.UUID(target), reason=reason))
    return assign


# ---- helpers ---------------------------------------------------------------------------------

async def _usable(desk: Desk, p: Principal, macro_id: uuid.UUID) -> Macro:
    """404 for a macro the caller may not use: its name is nobody else's business."""
    require_staff(p)
    macro = await store.get(session=desk.session, macro_id=macro_id)
    if macro is None or not can_use(p, _scope_of(macro)):
        raise Problem(404, "macro-not-found", "Macro not found", f"no macro {macro_id}")
    return macro


async def _check(desk: Desk, m: MacroIn) -> None:
    """What a body cannot check by itself: its placeholders, its team and assignee exist."""
    if unknown := unknown_placeholders(m.body):
        raise Problem(422, "unknown-placeholder", "Unknown placeholder",
                      f"{', '.join(unknown)}: not a placeholder; use one of "
                      + ", ".join(f"{{{{{name}}}}}" for name in PLACEHOLDERS),
                      unknown=unknown, known=list(PLACEHOLDERS))
    if len(placeholders_in(m.body)) > MAX_PLACEHOLDERS:
        raise Problem(422, "too-many-placeholders", "Too many placeholders",
                      f"a macro has at most {MAX_PLACEHOLDERS} placeholders")
    if m.team_id and await queries.get_team(session=desk.session, team_id=m.team_id) is None:
        raise Problem(422, "unknown-team", "Unknown team", f"no team {m.team_id}")
    assignee = m.actions.assignee
    if isinstance(assignee, uuid.UUID):
        found = await queries.get_agent(session=desk.session, agent_id=assignee)
        if found is None or not found.active:
            raise Problem(422, "unknown-agent", "Unknown agent", f"no active agent {assignee}")


def _validated(data: dict[str, Any]) -> MacroIn:
    """The macro as it would be; a 422 naming the fields when the change breaks it."""
    try:
        return MacroIn.model_validate(data)
    except ValidationError as err:
        raise RequestValidationError(
            [e | {"loc": ("body", *e["loc"])} for e in err.errors(include_url=False)]
        ) from err


def _current(macro: Macro) -> dict[str, Any]:
    return {"name": macro.name, "body": macro.body, "scope": macro.scope,
            "team_id": macro.team_id, "actions": macro.actions}


def _owner_after(p: Principal, macro: Macro, scope: Scope) -> uuid.UUID | None:
    """A personal macro keeps its owner; one made personal becomes the caller's."""
    if scope is not Scope.PERSONAL:
        return None
    return macro.owner_id if macro.scope == Scope.PERSONAL.value else me_of(p)


def _values(m: MacroIn) -> dict[str, Any]:
    return {"name": m.name, "body": m.body, "scope": m.scope.value, "team_id": m.team_id,
            "actions": m.actions.model_dump(mode="json", exclude_defaults=True)}


def _audit(desk: Desk, p: Principal, action: str, macro_id: uuid.UUID, **detail: Any) -> None:
    actor_type, actor_id = p.actor
    desk.session.add(AdminAudit(actor_type=actor_type.value, actor_id=actor_id, action=action,
                                entity="macro", entity_id=str(macro_id), detail=detail))


async def _saved(desk: Desk, p: Principal, macro: Macro) -> MacroOut:
    await desk.session.commit()
    await desk.session.refresh(macro)
    [out] = await _outs(desk, p, [macro])
    return out


async def _outs(desk: Desk, p: Principal, rows: Sequence[Macro]) -> list[MacroOut]:
    actions = [MacroActions.model_validate(m.actions) for m in rows]
    teams = await store.teams(session=desk.session,
                              team_ids={m.team_id for m in rows if m.team_id})
    agents = await store.agent_names(session=desk.session, agent_ids={
        a.assignee for a in actions if isinstance(a.assignee, uuid.UUID)})
    return [_out(p, m, a, teams, agents) for m, a in zip(rows, actions, strict=True)]


def _out(p: Principal, m: Macro, actions: MacroActions, teams: dict[uuid.UUID, str],
         agents: dict[uuid.UUID, str]) -> MacroOut:
    assignee = agents.get(actions.assignee) if isinstance(actions.assignee, uuid.UUID) else None
    return MacroOut(id=m.id, name=m.name, body=m.body, scope=Scope(m.scope),
                    owner_id=m.owner_id, team_id=m.team_id,
                    team_name=teams.get(m.team_id) if m.team_id else None, actions=actions,
                    will_also=describe(actions, assignee), can_change=_may_change(p, m),
                    created_at=m.created_at, updated_at=m.updated_at)


def _may_change(p: Principal, m: Macro) -> bool:
    try:
        require_change(p, _scope_of(m))
    except AccessDenied:
        return False
    return True


async def _words(desk: Desk, actions: MacroActions) -> list[str]:
    if not isinstance(actions.assignee, uuid.UUID):
        return describe(actions)
    names = await store.agent_names(session=desk.session, agent_ids={actions.assignee})
    return describe(actions, names.get(actions.assignee))


async def _facts(desk: Desk, agent: Principal, row: Ticket) -> RenderFacts:
    customer_name = row.customer_name
    if not customer_name and row.customer_id:
        customer = await desk.session.get(Customer, row.customer_id)
        customer_name = customer.name if customer else None
    return RenderFacts(
        customer_email=row.customer_email, customer_name=customer_name,
        ticket_ref=row.public_ref, subject=row.subject, priority=row.priority,
        team_name=(await store.teams(session=desk.session, team_ids=[row.team_id])).get(
            row.team_id) if row.team_id else None,
        agent_name=await _agent_name(desk, agent))


async def _agent_name(desk: Desk, agent: Principal) -> str:
    """Who signs: the agent's name (a token's agent looked up), else the desk's mail name."""
    if agent.name:
        return agent.name
    if agent.agent_id:
        found = await store.agent_names(session=desk.session,
                                        agent_ids={uuid.UUID(agent.agent_id)})
        if found:
            return next(iter(found.values()))
    return desk.settings.mail_from_name


def _scope(scope: Scope | str, owner: uuid.UUID | None, team: uuid.UUID | None) -> MacroScope:
    return MacroScope(scope=Scope(scope), owner_id=str(owner) if owner else None,
                      team_id=str(team) if team else None)


def _scope_of(macro: Macro) -> MacroScope:
    return _scope(macro.scope, macro.owner_id, macro.team_id)

