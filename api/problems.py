"""RFC 9457 problem details: one exception type and the handlers that render it."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.access import AccessDenied

PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    """An error the caller is owed an explanation for; `extra` fields join the body."""

    def __init__(self, status: int, slug: str, title: str, detail: str, *,
                 headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.slug, self.title, self.detail = status, slug, title, detail
        self.headers, self.extra = headers or {}, extra

    def body(self) -> dict[str, Any]:
        return {
            "type": f"urn:helpdesk:problem:{self.slug}", "title": self.title,
            "status": self.status, "detail": self.detail, **self.extra,
        }


def not_found(ticket: str) -> Problem:
    return Problem(404, "not-found", "Ticket not found", f"no ticket {ticket!r}")


def problem_response(problem: Problem) -> JSONResponse:
    retry_after = problem.extra.get("retry_after_seconds")
    headers = problem.headers | ({"Retry-After": str(retry_after)} if retry_after else {})
    return JSONResponse(problem.body(), status_code=problem.status, media_type=PROBLEM_JSON,
                        headers=headers)


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
