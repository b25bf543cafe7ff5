"""The OpenAPI document says what the API really does: its errors, ids and required header."""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel

from api.admin.routing_schemas import RuleIn
from api.app import create_app
from api.openapi import InvalidRequestDetails
from api.saved_views import ViewIn
from services.schemas import AssignRequest, MessageCreate, StatusChange, TicketCreate
from settings import Settings
from tests.api.helpers import PROBLEM_JSON, TICKETS, assert_problem, ticket_request

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    app = create_app(Settings(DATABASE_URL="postgresql://nobody@127.0.0.1/none"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # FastAPI warns of a duplicate operation id
        return app.openapi()


def operations(schema: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method, path, operation


def test_no_trace_of_fastapis_validation_error_shape_is_left(schema):
    assert "HTTPValidationError" not in json.dumps(schema)
    assert "ValidationError" not in schema["components"]["schemas"]


def test_operation_ids_are_the_function_names_unique_and_without_path_noise(schema):
    ids = [op["operationId"] for _, _, op in operations(schema)]

    assert len(ids) == len(set(ids))
    noisy = [i for i in ids if not re.fullmatch(r"[a-z]+(_[a-z]+)*", i) or "api_v1" in i
             or i.endswith(tuple(f"_{m}" for m in METHODS))]
    assert noisy == []
    assert {"create_ticket", "get_ticket", "add_message", "list_teams",
            "admin_list_teams"} <= set(ids)


def test_every_error_response_is_problem_json(schema):
    wrong = [(method, path, status) for method, path, op in operations(schema)
             for status, response in op["responses"].items()
             if status[0] in "45" and set(response.get("content", {})) != {PROBLEM_JSON}]
    unguarded = [(method, path) for method, path, op in operations(schema)
                 if path.startswith("/api/v1/") and not {"401", "403", "429"} <= set(
                     op["responses"])]

    assert wrong == []
    assert unguarded == []


def test_idempotency_key_is_documented_as_required_on_create_ticket(schema):
    create = schema["paths"]["/api/v1/tickets"]["post"]

    [key] = [p for p in create["parameters"] if p["name"] == "Idempotency-Key"]
    assert (key["in"], key["required"]) == ("header", True)
    assert create["operationId"] == "create_ticket"
    assert {"400", "409", "422"} <= set(create["responses"])


@pytest.mark.parametrize("model", [TicketCreate, MessageCreate, StatusChange, AssignRequest,
                                   ViewIn, RuleIn])
def test_main_request_bodies_carry_valid_examples(schema, model: type[BaseModel]):
    examples = schema["components"]["schemas"][model.__name__]["examples"]

    assert examples
    for example in examples:
        model.model_validate(example)


async def test_the_documented_422_and_400_are_what_the_api_answers(http):
    invalid = await http.post(TICKETS, json=ticket_request(customer_email="not-an-address"),
                              headers={"Idempotency-Key": "openapi-1"})
    no_key = await http.post(TICKETS, json=ticket_request())

    body = assert_problem(invalid, 422, "invalid-body")
    InvalidRequestDetails.model_validate(body)
    assert body["errors"][0]["loc"] == ["body", "customer_email"]
    assert_problem(no_key, 400, "missing-idempotency-key")
