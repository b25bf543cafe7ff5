"""Who may do what: token kinds, agent roles, and the rules every endpoint asks.

Pure rules: the API resolves a bearer token to a `Principal` and the facts of a ticket to a
`TicketScope`, then asks here. A refusal is `AccessDenied` (the API's 403).

  admin token        everything, on every ticket
  agent token        acts as its agent: tickets of the agent's teams; an agent whose role is
                     admin counts as an admin. Role `agent` assigns only unowned tickets or its
                     own; `lead` reassigns anyone's within reach
  integration token  opens tickets and adds customer messages (a channel adapter), nothing else
  customer token     one ticket (and what it became: its merge target and follow-ups, when they
                     are the same customer's): reads public messages, replies as that customer
  customer session   (the portal, signed in by a mailed link: `ticket_id` None) every ticket
                     whose customer_email is the session's address, and no other
  web form           not a token: the public help form (/help) acting for the customer its
                     submission names. It opens a ticket as that customer, without a team
                     of its choosing, and nothing else: it reads and posts nowhere
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from domain.lifecycle import AuthorType, Visibility


class TokenKind(StrEnum):
    ADMIN = "admin"
    AGENT = "agent"
    INTEGRATION = "integration"
    CUSTOMER = "customer"
    # Never stored nor issued (the admin API refuses it): made per submission by /help.
    WEB_FORM = "web_form"


class Role(StrEnum):
    AGENT = "agent"
    LEAD = "lead"
    ADMIN = "admin"


class AccessDenied(Exception):
    """The token is valid but may not do this."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class Principal:
    """The caller, as its token says: never as a request body says."""

    token_id: str
    kind: TokenKind
    agent_id: str | None = None
    role: Role | None = None
    team_ids: frozenset[str] = field(default_factory=frozenset)
    # Customer token: the ticket it was issued for. A customer principal without one is a
    # portal session: all of its customer's own tickets (customer_email), nothing else.
    ticket_id: str | None = None
    customer_email: str | None = None
    name: str | None = None  # the agent's name, when the caller is signed in to the workspace

    @property
    def is_admin(self) -> bool:
        return self.kind is TokenKind.ADMIN or self.role is Role.ADMIN

    @property
    def is_staff(self) -> bool:
        return self.kind in (TokenKind.ADMIN, TokenKind.AGENT)

    @property
    def actor(self) -> tuple[AuthorType, str]:
        """Who the audit trail names for this caller's commands."""
        if self.kind is TokenKind.AGENT and self.agent_id:
            return AuthorType.AGENT, self.agent_id
        if self.kind is TokenKind.CUSTOMER and self.customer_email:
            return AuthorType.CUSTOMER, self.customer_email
        return AuthorType.SYSTEM, f"token:{self.token_id}"


@dataclass(frozen=True)
class TicketScope:
    """The facts about a ticket that decide who reaches it."""

    ticket_id: str
    team_id: str | None
    assignee_id: str | None
    customer_email: str
    parent_ticket_id: str | None = None


def require(allowed: bool, detail: str) -> None:
    if not allowed:
        raise AccessDenied(detail)


def require_admin(p: Principal) -> None:
    require(p.is_admin, "only an admin may do this")


def require_lead(p: Principal, detail: str) -> None:
    """Leads and admins: what changes or shows how a whole team is measured."""
    require(p.is_admin or p.role is Role.LEAD, detail)


def require_staff(p: Principal) -> None:
    require(p.is_staff, f"{_a(p.kind)} token may not do this; it needs an agent or admin token")


def require_ticket(p: Principal, t: TicketScope, *, bound_merged_into: str | None = None) -> None:
    """Reach a ticket at all. `bound_merged_into`: where a customer token's ticket was merged."""
    if p.is_admin:
        return
    if p.kind is TokenKind.AGENT:
        require(t.team_id is not None and t.team_id in p.team_ids,
                "this ticket belongs to a team you are not in")
        return
    if p.kind is TokenKind.CUSTOMER:
        require(_portal_reaches(p, t, bound_merged_into), "this token is for another ticket")
        return
    raise AccessDenied(f"{_a(p.kind)} token may not read tickets")


def require_post(p: Principal, t: TicketScope, *, bound_merged_into: str | None = None) -> None:
    """Add a message: an integration (a channel adapter) posts to any ticket; else as reading."""
    if p.kind is not TokenKind.INTEGRATION:
        require_ticket(p, t, bound_merged_into=bound_merged_into)


def _portal_reaches(p: Principal, t: TicketScope, bound_merged_into: str | None) -> bool:
    same_customer = bool(p.customer_email) and \
        t.customer_email.lower() == (p.customer_email or "").lower()
    if p.ticket_id is None:  # a portal session: the customer's own tickets, whatever they are
        return same_customer
    if t.ticket_id == p.ticket_id:
        return True
    # What the customer's ticket became, but only while it is still this customer's own.
    became = t.parent_ticket_id == p.ticket_id or t.ticket_id == bound_merged_into
    return same_customer and became


def web_form_principal(customer_email: str) -> Principal:
    """The help form, acting for the customer one submission names."""
    return Principal(token_id="web-form", kind=TokenKind.WEB_FORM,
                     customer_email=customer_email.strip().lower())


def require_open_ticket(p: Principal, team_id: str | None,
                        customer_email: str | None = None) -> None:
    """Open a ticket in `team_id` for `customer_email`: admins and integrations anywhere,
    agents in their teams, the web form as its own customer and where routing puts it."""
    if p.is_admin or p.kind is TokenKind.INTEGRATION:
        return
    if p.kind is TokenKind.WEB_FORM:
        require(team_id is None, "the help form does not choose a team")
        require(customer_email is not None and p.customer_email is not None
                and customer_email.strip().lower() == p.customer_email,
                "the help form opens tickets only as the customer it names")
        return
    require(p.kind is TokenKind.AGENT, "a customer token may only reply on its own ticket")
    require(team_id is not None and team_id in p.team_ids,
            "agents open tickets in one of their own teams (name it as team_id)")


def require_assign(p: Principal, t: TicketScope) -> None:
    """Change a ticket's owner. Role `agent` may take unowned work or pass on its own."""
    require_staff(p)
    require_ticket(p, t)
    if p.is_admin or p.role is Role.LEAD:
        return
    # Taking unowned work or handing on one's own is everyday; moving a colleague's is a lead's.
    require(t.assignee_id in (None, p.agent_id),
            "this ticket is someone else's; only a lead or admin may reassign it")


def require_agent_settings(p: Principal, *, agent_id: str, agent_team_ids: frozenset[str]
                           ) -> None:
    """An agent's own availability (out of office): the agent, a lead of its team, an admin."""
    require_staff(p)
    if p.is_admin or p.agent_id == agent_id:
        return
    require(p.role is Role.LEAD and bool(p.team_ids & agent_team_ids),
            "only the agent, a lead of one of its teams or an admin may change this")


def message_author(
    p: Principal, *, requested_type: AuthorType | None, requested_id: str | None,
    visibility: Visibility, ticket_customer_email: str,
) -> tuple[AuthorType, str]:
    """Who a new message is from: decided by the token; the body may only agree with it."""
    if p.kind is TokenKind.AGENT:
        require(requested_type in (None, AuthorType.AGENT)
                and requested_id in (None, p.agent_id),
                "an agent token posts only as its own agent")
        return AuthorType.AGENT, str(p.agent_id)
    if p.kind is TokenKind.ADMIN and requested_type in (None, AuthorType.SYSTEM):
        return AuthorType.SYSTEM, f"token:{p.token_id}"
    require(requested_type in (None, AuthorType.CUSTOMER),
            f"{_a(p.kind)} token posts only customer messages"
            + (" or system messages" if p.kind is TokenKind.ADMIN else ""))
    # An admin asking for a customer's internal note gets the lifecycle's 422, not a 403.
    require(visibility is Visibility.PUBLIC or p.kind is TokenKind.ADMIN,
            "internal notes are for agents")
    if p.kind is TokenKind.CUSTOMER:
        email = str(p.customer_email)
        require(requested_id is None or requested_id.strip().lower() == email.lower(),
                "a customer token posts only as its own customer")
        return AuthorType.CUSTOMER, email
    return AuthorType.CUSTOMER, (requested_id or ticket_customer_email).strip().lower()


def sees_internal(p: Principal) -> bool:
    """Internal notes (and counts of them) reach staff only."""
    return p.is_staff


def _a(kind: TokenKind) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"
