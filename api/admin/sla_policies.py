"""/api/v1/admin/sla-policies: business minutes per target and priority, addressed by name.

A policy's edits reach only tickets opened afterwards: a ticket keeps the plan it was opened
with. Built-ins (`default`, `default-reopen`) are listed and readable, never written.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, status
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.admin.common import AdminDep, Limit, audit, commit_or_conflict, decode
from api.admin.sla_refs import (
    ensure_calendar,
    ensure_policy,
    get_by_name,
    merged_page,
    page_query,
    refuse_builtin,
    refuse_in_use,
)
from api.admin.sla_schemas import PolicyCreate, PolicyOut, PolicyPage, PolicyUpdate
from api.deps import SessionDep
from db.models import Customer, SlaPolicy, Team
from domain.sla import BUILTIN_POLICIES

router = APIRouter(prefix="/sla-policies", tags=["admin"])
WHAT = "SLA policy"


@router.post("", status_code=status.HTTP_201_CREATED, response_model=PolicyOut)
async def create_policy(body: PolicyCreate, session: SessionDep, admin: AdminDep) -> PolicyOut:
    refuse_builtin(WHAT, body.name, BUILTIN_POLICIES)
    await _check_refs(session, body.name, body.calendar, body.reopen_policy)
    row = SlaPolicy(id=uuid.uuid4(), **body.model_dump())
    session.add(row)
    audit(session, admin, "created", "sla_policy", body.name, **body.model_dump(mode="json"))
    await commit_or_conflict(session, f"an SLA policy named {body.name!r} exists")
    return PolicyOut.from_row(row)


@router.get("", response_model=PolicyPage)
async def list_policies(session: SessionDep, _: AdminDep, limit: Limit = 50,
                        cursor: str | None = None) -> dict[str, Any]:
    after = decode(cursor, str)
    rows = (await session.scalars(page_query(SlaPolicy, after, limit))).all()
    builtins = map(PolicyOut.from_builtin, BUILTIN_POLICIES.values())
    return merged_page([PolicyOut.from_row(r) for r in rows], builtins, after, limit)


@router.get("/{name}", response_model=PolicyOut)
async def get_policy(name: str, session: SessionDep, _: AdminDep) -> PolicyOut:
    if name in BUILTIN_POLICIES:
        return PolicyOut.from_builtin(BUILTIN_POLICIES[name])
    return PolicyOut.from_row(await get_by_name(session, SlaPolicy, name, WHAT))


@router.patch("/{name}", response_model=PolicyOut)
async def update_policy(name: str, body: PolicyUpdate, session: SessionDep,
                        admin: AdminDep) -> PolicyOut:
    """The fields sent replace theirs (targets whole); tickets already open keep their plan."""
    refuse_builtin(WHAT, name, BUILTIN_POLICIES)
    row = await get_by_name(session, SlaPolicy, name, WHAT)
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        return PolicyOut.from_row(row)
    await _check_refs(session, name, changes.get("calendar"), changes.get("reopen_policy"))
    for field, value in changes.items():
        setattr(row, field, value)
    row.updated_at = func.now()
    audit(session, admin, "updated", "sla_policy", name,
          **body.model_dump(mode="json", exclude_unset=True))
    await session.commit()
    await session.refresh(row)  # updated_at was set by the database
    return PolicyOut.from_row(row)


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_policy(name: str, session: SessionDep, admin: AdminDep) -> None:
    """Only a policy nothing names goes: a team or contract would silently fall through."""
    refuse_builtin(WHAT, name, BUILTIN_POLICIES)
    row = await get_by_name(session, SlaPolicy, name, WHAT)
    await refuse_in_use(session, WHAT, name, {
        "teams": select(Team.name).where(Team.sla_policy == name),
        "customers": select(Customer.email).where(Customer.sla_policy_override == name),
        # Its own reopen policy is no reason to keep it.
        "policies": select(SlaPolicy.name).where(SlaPolicy.reopen_policy == name,
                                                 SlaPolicy.name != name),
    })
    await session.delete(row)
    audit(session, admin, "deleted", "sla_policy", name)
    await session.commit()


async def _check_refs(session: AsyncSession, name: str, calendar: str | None,
                      reopen_policy: str | None) -> None:
    await ensure_calendar(session, calendar)
    # A policy may be its own reopen policy (the same targets again), even before it exists.
    if reopen_policy != name:
        await ensure_policy(session, reopen_policy)
