"""RFC 9457 problem details: one exception type and the handlers that render it.

Besides `Problem` (raised on purpose), errors of a class are mapped here once, whatever
route raises them: the database being unreachable (503 with Retry-After: nothing was
accepted, retrying is safe), Temporal unreachable or overloaded (503 with Retry-After), a
write the database refuses as a duplicate or a dangling reference (409/422 naming the
field), and a value it cannot hold (422).
"""

from __future__ import annotations

import logging
import re

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.service import RPCError

from domain.access import AccessDenied
from services.problems import WORKFLOWS_UNAVAILABLE, Problem, not_found

__all__ = ["Problem", "not_found", "problem_response", "install_problem_handlers"]

PROBLEM_JSON = "application/problem+json"
DATABASE_RETRY_AFTER_SECONDS = 5
WORKFLOWS_RETRY_AFTER_SECONDS = 2
log = logging.getLogger("helpdesk.api")

# Connection refused or lost, a pool or connect timeout, a cancelled statement: the database
# could not serve the request, which changed nothing and may simply be sent again.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError,
    psycopg.OperationalError, psycopg.InterfaceError,
)


def problem_response(problem: Problem) -> JSONResponse:
    retry_after = problem.extra.get("retry_after_seconds")
    headers = problem.headers | ({"Retry-After": str(retry_after)} if retry_after else {})
    return JSONResponse(problem.body(), status_code=problem.status, media_type=PROBLEM_JSON,
                        headers=headers)


def database_unavailable() -> Problem:
    return Problem(503, "database-unavailable", "Database unavailable",
                   "the database did not answer; nothing was changed, retry later",
                   retry_after_seconds=DATABASE_RETRY_AFTER_SECONDS)





def workflows_unavailable() -> Problem:
    return Problem(503, "workflows-unavailable", "Workflow service unavailable",
                   "the workflow service did not take the command; it may still apply, and "
                   "retrying it is safe", retry_after_seconds=WORKFLOWS_RETRY_AFTER_SECONDS)


_KEY_COLUMNS = re.compile(r"Key \(([^)]*)\)=")


def integrity_problem(err: sa_exc.IntegrityError, detail: str | None = None) -> Problem:
    """A write the database refused: 409 for a taken unique value, else 422; names the field."""
    diag = getattr(err.orig, "diag", None)
    found = _KEY_COLUMNS.search(getattr(diag, "message_detail", None) or "")
    field = found.group(1) if found else getattr(diag, "column_name", None)
    table = getattr(diag, "table_name", None) or "record"
    if isinstance(err.orig, psycopg.errors.UniqueViolation):
        return Problem(409, "conflict", "Already exists",
                       detail or f"another {table} row already has this {field or 'value'}",
                       field=field)
    if isinstance(err.orig, psycopg.errors.ForeignKeyViolation):
        return Problem(422, "unknown-reference", "Unknown reference",
                       detail or f"{field or 'a reference'}: names nothing that exists",
                       field=field)
    return Problem(422, "invalid-value", "Invalid value",
                   detail or f"{field or 'a value'}: not allowed here", field=field)


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(_: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc)

    @app.exception_handler(AccessDenied)
    async def _forbidden(_: Request, exc: AccessDenied) -> JSONResponse:
        return problem_response(Problem(403, "forbidden", "Not allowed", exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()
        ]
        where = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors[:5])
        return problem_response(
            Problem(422, "invalid-body", "Invalid request", where, errors=errors)
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "Error")
        return problem_response(Problem(exc.status_code, "http", title, str(exc.detail)))

    @app.exception_handler(sa_exc.IntegrityError)
    async def _integrity(_: Request, exc: sa_exc.IntegrityError) -> JSONResponse:
        return problem_response(integrity_problem(exc))

    @app.exception_handler(sa_exc.DataError)
    async def _data(request: Request, exc: sa_exc.DataError) -> JSONResponse:
        # The database refused a value (out of range, too long). The caller sent it, so a
        # 4xx; logged, because a route should have refused it first with a better answer.
        log.warning("database refused a value in %s %s", request.method, request.url.path,
                    exc_info=exc)
        return problem_response(Problem(
            422, "invalid-value", "Invalid value",
            "a value cannot be stored: too long, out of range, or text it cannot hold"))

    for unavailable in DATABASE_UNAVAILABLE:
        app.add_exception_handler(unavailable, _database_down)
    app.add_exception_handler(RPCError, _workflows_down)


async def _database_down(request: Request, exc: Exception) -> JSONResponse:
    log.error("database unavailable in %s %s: %s", request.method, request.url.path,
              _first_line(exc))
    return problem_response(database_unavailable())


async def _workflows_down(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RPCError)
    if exc.status not in WORKFLOWS_UNAVAILABLE:
        raise exc  # a bug: the unhandled-error middleware logs it and answers 500
    log.error("workflow service unavailable in %s %s: %s %s", request.method,
              request.url.path, exc.status.name if exc.status else "?", _first_line(exc))
    return problem_response(workflows_unavailable())


def _first_line(exc: BaseException) -> str:
    # SQLAlchemy appends the statement and its parameters: enough to log the reason.
    return (str(exc).splitlines() or [type(exc).__name__])[0][:300]
