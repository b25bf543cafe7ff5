"""/api/v1/admin/calendars: business-hours calendars, addressed by name.

Every write is validated by building the calendar the SLA clocks would use, holidays and all,
so a calendar the API accepts is one a ticket can run on. Built-ins (`always`) are listed and
readable, never written.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, status
from pydantic import AwareDatetime
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.admin.common import AdminDep, Limit, audit, commit_or_conflict, decode
from api.admin.sla_refs import (
    get_by_name,
    merged_page,
    page_query,
    refuse_builtin,
    refuse_in_use,
)
from api.admin.sla_schemas import (
    MAX_MINUTES,
    CalendarCreate,
    CalendarOut,
    CalendarPage,
    CalendarUpdate,
    DeadlineOut,
)
from api.deps import SessionDep
from api.problems import Problem
from db.models import Calendar, SlaPolicy, Team
from db.sla_config import HOLIDAY_YEARS, calendar_spec, years_from
from domain.calendar import BusinessCalendar, CalendarError, CalendarNeverOpens, CalendarSpec
from domain.sla import BUILTIN_CALENDARS

router = APIRouter(prefix="/calendars", tags=["admin"])
COLUMNS = ("name", "timezone", "weekly", "holiday_country", "holiday_subdivision",
           "closed_dates", "open_dates")


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CalendarOut)
async def create_calendar(body: CalendarCreate, session: SessionDep,
                          admin: AdminDep) -> CalendarOut:
    refuse_builtin("calendar", body.name, BUILTIN_CALENDARS)
    row = Calendar(id=uuid.uuid4(), **_columns(body, CalendarCreate.model_fields))
    _validate(row)
    session.add(row)
    audit(session, admin, "created", "calendar", body.name, **body.model_dump(mode="json"))
    await commit_or_conflict(session, f"a calendar named {body.name!r} exists")
    return CalendarOut.from_row(row)


@router.get("", response_model=CalendarPage)
async def list_calendars(session: SessionDep, _: AdminDep, limit: Limit = 50,
                         cursor: str | None = None) -> dict[str, Any]:
    after = decode(cursor, str)
    rows = (await session.scalars(page_query(Calendar, after, limit))).all()
    builtins = map(CalendarOut.from_builtin, BUILTIN_CALENDARS.values())
    return merged_page([CalendarOut.from_row(r) for r in rows], builtins, after, limit)


@router.get("/{name}", response_model=CalendarOut)
async def get_calendar(name: str, session: SessionDep, _: AdminDep) -> CalendarOut:
    if name in BUILTIN_CALENDARS:
        return CalendarOut.from_builtin(BUILTIN_CALENDARS[name])
    return CalendarOut.from_row(await get_by_name(session, Calendar, name, "calendar"))


@router.patch("/{name}", response_model=CalendarOut)
async def update_calendar(name: str, body: CalendarUpdate, session: SessionDep,
                          admin: AdminDep) -> CalendarOut:
    """The fields sent replace theirs whole (weekly too: days left out close)."""
    refuse_builtin("calendar", name, BUILTIN_CALENDARS)
    row = await get_by_name(session, Calendar, name, "calendar")
    changes = _columns(body, body.model_fields_set)
    if not changes:
        return CalendarOut.from_row(row)
    # Validated as it would be after the change, before anything is changed.
    _validate(Calendar(**{c: getattr(row, c) for c in COLUMNS} | changes))
    for column, value in changes.items():
        setattr(row, column, value)
    row.updated_at = func.now()
    audit(session, admin, "updated", "calendar", name,
          **body.model_dump(mode="json", exclude_unset=True))
    await session.commit()
    await session.refresh(row)  # updated_at was set by the database
    return CalendarOut.from_row(row)


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_calendar(name: str, session: SessionDep, admin: AdminDep) -> None:
    """Only a calendar no team or policy names goes; theirs would silently become 24x7."""
    refuse_builtin("calendar", name, BUILTIN_CALENDARS)
    row = await get_by_name(session, Calendar, name, "calendar")
    await refuse_in_use(session, "calendar", name, {
        "teams": select(Team.name).where(Team.calendar == name),
        "policies": select(SlaPolicy.name).where(SlaPolicy.calendar == name),
    })
    await session.delete(row)
    audit(session, admin, "deleted", "calendar", name)
    await session.commit()


@router.get("/{name}/deadline", response_model=DeadlineOut)
async def deadline(
    name: str, session: SessionDep, _: AdminDep,
    start: Annotated[AwareDatetime, Query(
        description="ISO 8601 with its UTC offset; in a URL a `+` offset is written %2B")],
    minutes: Annotated[int, Query(ge=0, le=MAX_MINUTES,
                                  description="business minutes")],
) -> DeadlineOut:
    """When `minutes` of business time after `start` run out: what an SLA target would say."""
    if not 1970 <= start.year <= 2999:  # near year 1 or 9999 the date arithmetic overflows
        raise Problem(422, "invalid-body", "Invalid request",
                      "start: must fall between the years 1970 and 2999")
    # From the year before: a start early on 1 January UTC can still be 31 December locally.
    spec = await _spec(session, name, range(start.year - 1, start.year + HOLIDAY_YEARS))
    try:
        calendar = BusinessCalendar(spec)
        # Off the event loop: walking a sparse calendar for a long budget can take seconds.
        due = await asyncio.to_thread(calendar.add_business_time, start,
                                      timedelta(minutes=minutes))
    except CalendarNeverOpens as err:
        raise Problem(422, "calendar-never-opens", "Calendar never opens", str(err)) from err
    except CalendarError as err:  # stored before a rule it now breaks, e.g. a retired zone
        raise Problem(422, "invalid-calendar", "Invalid calendar", str(err)) from err
    return DeadlineOut(calendar=name, start=start, minutes=minutes, due=due,
                       due_local=due.astimezone(ZoneInfo(spec.timezone)),
                       timezone=spec.timezone)


async def _spec(session: AsyncSession, name: str, years: Iterable[int]) -> CalendarSpec:
    if name in BUILTIN_CALENDARS:
        return BUILTIN_CALENDARS[name]
    return calendar_spec(await get_by_name(session, Calendar, name, "calendar"), years)


def _validate(row: Calendar) -> None:
    """422 invalid-calendar, saying why, unless the SLA clocks could run on this calendar."""
    try:
        BusinessCalendar(calendar_spec(row, years_from(datetime.now(UTC))))
    except CalendarError as err:
        raise Problem(422, "invalid-calendar", "Invalid calendar", str(err)) from err


def _columns(body: CalendarCreate | CalendarUpdate, fields: Iterable[str]) -> dict[str, Any]:
    """The table's columns for the body fields named: the API's shapes, stored."""
    columns: dict[str, Any] = {}
    for field in fields:
        value = getattr(body, field)
        if field == "weekly":
            columns["weekly"] = value.as_lists()
        elif field == "holidays":
            columns["holiday_country"] = value.country if value else None
            columns["holiday_subdivision"] = value.subdivision if value else None
        elif field in ("closed_dates", "open_dates"):
            columns[field] = [entry.model_dump(mode="json") for entry in value]
        else:
            columns[field] = value
    return columns
