"""/api/v1/admin/customers: who tickets come from, their organization, tier and SLA override.

A customer with tickets is never deleted: the tickets' history names them.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Query, status
from sqlalchemy import Select, exists, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from api.admin.common import (
    AdminDep,
    Limit,
    audit,
    commit_or_conflict,
    decode,
    get_or_404,
    next_cursor,
)
from api.admin.schemas import CustomerCreate, CustomerOut, CustomerPage, CustomerUpdate
from api.admin.sla_refs import ensure_policy
from api.deps import SessionDep
from api.problems import Problem
from db.models import Customer, Ticket
from domain.sla import CustomerTier

router = APIRouter(prefix="/customers", tags=["admin"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CustomerOut)
async def create_customer(body: CustomerCreate, session: SessionDep,
                          admin: AdminDep) -> Customer:
    await ensure_policy(session, body.sla_policy_override)
    customer = Customer(id=uuid.uuid4(), **body.model_dump())
    session.add(customer)
    audit(session, admin, "created", "customer", customer.id, **body.model_dump(mode="json"))
    await commit_or_conflict(session, _email_taken(body.email))
    return customer


@router.get("", response_model=CustomerPage)
async def list_customers(
    session: SessionDep, _: AdminDep,
    email: str | None = Query(default=None, max_length=320, description="exact, any case"),
    organization: str | None = Query(default=None, max_length=200),
    tier: CustomerTier | None = None,
    q: str | None = Query(default=None, max_length=200,
                          description="in email, name or organization"),
    limit: Limit = 50, cursor: str | None = None,
) -> dict[str, Any]:
    stmt = _filtered(select(Customer), email=email, organization=organization, tier=tier, q=q)
    if after := decode(cursor, str, uuid.UUID):
        stmt = stmt.where(tuple_(Customer.email, Customer.id) > tuple(after))
    rows = (await session.scalars(stmt.order_by(Customer.email, Customer.id).limit(limit))).all()
    return {"items": rows, "next_cursor": next_cursor(rows, limit, "email", "id")}


@router.get("/{customer_id}", response_model=CustomerOut)
async def get_customer(customer_id: uuid.UUID, session: SessionDep, _: AdminDep) -> Customer:
    return await get_or_404(session, Customer, customer_id, "customer")


@router.patch("/{customer_id}", response_model=CustomerOut)
async def update_customer(customer_id: uuid.UUID, body: CustomerUpdate, session: SessionDep,
                          admin: AdminDep) -> Customer:
    """Only the fields sent change; null clears name, organization or the SLA override."""
    customer = await get_or_404(session, Customer, customer_id, "customer")
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        return customer
    await ensure_policy(session, changes.get("sla_policy_override"))
    for field, value in changes.items():
        setattr(customer, field, value)
    customer.updated_at = func.now()
    audit(session, admin, "updated", "customer", customer_id,
          **body.model_dump(mode="json", exclude_unset=True))
    await commit_or_conflict(session, _email_taken(body.email))
    # Reloaded: updated_at is the database's now(), which only the database knows.
    await session.refresh(customer)
    return customer


@router.delete("/{customer_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_customer(customer_id: uuid.UUID, session: SessionDep,
                          admin: AdminDep) -> None:
    """Only a customer no ticket names goes; ticket history keeps its customers."""
    customer = await get_or_404(session, Customer, customer_id, "customer")
    if await _has_tickets(session, customer):
        raise Problem(409, "customer-has-tickets", "Customer has tickets",
                      f"customer {customer.email!r} has tickets; their history keeps them")
    await session.delete(customer)
    audit(session, admin, "deleted", "customer", customer_id, email=customer.email)
    await session.commit()


def _filtered(stmt: Select[Customer], *, email: str | None, organization: str | None,
              tier: CustomerTier | None, q: str | None) -> Select[Customer]:
    if email:
        stmt = stmt.where(func.lower(Customer.email) == email.strip().lower())
    if organization:
        stmt = stmt.where(Customer.organization == organization)
    if tier is not None:
        stmt = stmt.where(Customer.tier == tier.value)
    if q:
        stmt = stmt.where(or_(*(column.icontains(q, autoescape=True) for column in
                                (Customer.email, Customer.name, Customer.organization))))
    return stmt



async def _has_tickets(session: AsyncSession, customer: Customer) -> bool:
    # Any case: intake keeps the address as the customer wrote it.
    named = or_(Ticket.customer_id == customer.id,
                func.lower(Ticket.customer_email) == customer.email.lower())
    return bool(await session.scalar(select(exists().where(named))))


def _email_taken(email: str | None) -> str:
    return f"a customer with email {email!r} exists"
