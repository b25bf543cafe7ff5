"""Who sees and who changes a saved view. Pure rules, like domain/access.py.

  private    its owner only (an agent's own view)
  team       every member of the team sees it; the team's leads and admins change it
  everyone   all staff see it; admins change it

Sharing a view never widens what a viewer sees through it: its tickets are always bounded
by the viewer's own reach.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.access import Principal, Role, require, require_staff


class Sharing(StrEnum):
    PRIVATE = "private"
    TEAM = "team"
    EVERYONE = "everyone"


@dataclass(frozen=True)
class ViewScope:
    owner_id: str | None
    sharing: Sharing
    team_id: str | None


def can_see(p: Principal, v: ViewScope) -> bool:
    if not p.is_staff:
        return False
    if v.sharing is Sharing.EVERYONE or p.is_admin:
        return True
    if v.sharing is Sharing.TEAM:
        return v.team_id in p.team_ids
    return v.owner_id is not None and v.owner_id == p.agent_id


def require_change(p: Principal, v: ViewScope) -> None:
    """Create, edit or delete a view shared this way (checked for the old and new sharing)."""
    require_staff(p)
    if p.is_admin:
        return
    if v.sharing is Sharing.PRIVATE:
        require(p.agent_id is not None and v.owner_id == p.agent_id,
                "a private view is changed only by its owner")
    elif v.sharing is Sharing.TEAM:
        require(p.role is Role.LEAD and v.team_id in p.team_ids,
                "a team's views are changed by its leads and admins")
    else:
        require(False, "views shared with everyone are changed by admins")
