"""The OpenAPI description as the API really behaves: readable operation ids, and the
application/problem+json bodies (RFC 9457) its errors are.

Routes name the errors they answer with `responses=problems(404, 410, ...)`; every /api/v1
route also gets `EVERY_API_CALL` (401, 403, 429) where the app includes it. FastAPI's own
422 (HTTPValidationError, a shape this API never sends) is replaced by the invalid-request
problem that api/problems.py really answers.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from api.problems import PROBLEM_JSON

_REF = "#/components/schemas/{model}"


class ProblemDetails(BaseModel):
    """An RFC 9457 problem; fields that help the caller join these (`allowed`,
    `merged_into`, `existing_ticket_id`, `retry_after_seconds`, ...)."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "type": "urn:helpdesk:problem:invalid-transition", "title": "Command not allowed",
        "status": 422, "detail": "cannot move TKT-1042 from resolved to new",
        "allowed": ["closed", "in_progress"]}]})
    type: str = Field(description="urn:helpdesk:problem:<slug>, the kind of error")
    title: str
    status: int
    detail: str


class FieldError(BaseModel):
    loc: list[str | int] = Field(description="where: body, query, path or header, then names")
    msg: str
    type: str


class InvalidRequestDetails(ProblemDetails):
    """422 invalid-body: what in the request failed validation."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "type": "urn:helpdesk:problem:invalid-body", "title": "Invalid request", "status": 422,
        "detail": "body.customer_email: value is not a valid email address",
        "errors": [{"loc": ["body", "customer_email"], "type": "value_error",
                    "msg": "value is not a valid email address"}]}]})
    errors: list[FieldError]


_WHY = {
    400: "a bad request: a missing Idempotency-Key, a cursor this API did not issue",
    401: "no token, or one unknown, revoked, expired or of a deactivated agent",
    403: "a valid token that may not do this",
    404: "not found (or not the caller's to know of)",
    409: "conflicts with what is stored",
    410: "gone: a merged ticket (names `merged_into`) or an attachment not kept",
    413: "the request body is over the size limit",
    422: "the request is invalid, or the command is not allowed now",
    429: "rate-limited; `Retry-After` says when to try again",
    503: "busy or unavailable for a moment; `Retry-After` when known",
    504: "the command was not confirmed in time; retrying it is safe",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` for these error statuses, each a problem+json body."""
    return {status: _problem_response(status) for status in statuses}


def _problem_response(status: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"$ref": _ref(ProblemDetails)}
    if status == 422:  # an invalid request names its fields; a refused command does not
        schema = {"anyOf": [{"$ref": _ref(InvalidRequestDetails)}, schema]}
    return {"description": _WHY[status], "content": {PROBLEM_JSON: {"schema": schema}}}


def _ref(model: type[BaseModel]) -> str:
    return _REF.format(model=model.__name__)


# README: every /api/v1 call may also answer these.
EVERY_API_CALL = problems(401, 403, 429)
# A command on a ticket: unknown, merged, refused by the lifecycle, busy, not confirmed.
COMMAND_PROBLEMS = problems(404, 410, 422, 503, 504)
# Required by the contract, yet read as optional so that a missing one is the contract's 400
# problem rather than FastAPI's 422: the schema says what the caller must send.
IDEMPOTENCY_KEY_PARAMETER: dict[str, Any] = {
    "name": "Idempotency-Key", "in": "header", "required": True,
    "schema": {"type": "string", "minLength": 1, "maxLength": 200},
    "description": "the caller's id of this request: a retry with the same key and body "
                   "answers the original ticket; a missing key is 400",
    "example": "form-7f3a1c2e",
}


def operation_id(route: APIRoute) -> str:
    """The route's function name (`create_ticket`); the admin API's are prefixed `admin_`,
    so that `GET /admin/teams` and the directory's `GET /teams` stay apart."""
    admin = route.path_format.startswith("/api/v1/admin/")
    return f"admin_{route.name}" if admin else route.name


def install_openapi(app: FastAPI) -> None:
    """Serve the schema with the problem bodies in place of FastAPI's validation error."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _problems_in_place(build())
        return app.openapi_schema or {}
    # FastAPI's documented way to extend the schema is replacing this method on the instance.
    app.openapi = openapi  # type: ignore[method-assign]


def _problems_in_place(schema: dict[str, Any]) -> None:
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            responses = operation.get("responses", {})
            if "HTTPValidationError" in str(responses.get("422", "")):
                responses["422"] = _problem_response(422)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    _, definitions = models_json_schema(
        [(ProblemDetails, "serialization"), (InvalidRequestDetails, "serialization")],
        ref_template=_REF)
    components.update(definitions.get("$defs", {}))
