"""How the incident pages word and address things: the `{ref:incident}` path convertor,
state labels, and whether to offer a lead's controls (the use cases still decide: an agent
who posts a lead's form anyway is refused there)."""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor

from domain.access import Principal, Role

STATE_LABELS = {"open": "Open", "resolving": "Resolving", "resolved": "Resolved"}


class IncidentKey(Convertor[str]):
    """An incident in a page's path: INC-3 or a UUID, so /app/incidents/<word> stays free."""

    regex = r"(?i:inc-[0-9]{1,18}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


# Before any route names `{ref:incident}`: the incident page modules import this one.
register_url_convertor("incident", IncidentKey())


def is_lead(agent: Principal) -> bool:
    """Offer declare, edit and resolve: leads and admins (as the nav's lead-only links do)."""
    return agent.is_admin or agent.role is Role.LEAD
