"""What no handler expected still answers problem+json, logged; a bad start-up is refused."""

from __future__ import annotations

import logging

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from api.app import create_app
from settings import Settings
from tests.api.helpers import assert_problem


async def test_an_unhandled_error_is_a_500_problem_without_internals_and_is_logged(caplog):
    app = create_app(Settings())

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals at /srv/helpdesk")

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        response = await http.get("/boom")

    body = assert_problem(response, 500, "internal-error")
    assert "secret" not in response.text and "RuntimeError" not in response.text, body
    [logged] = [r for r in caplog.records if r.getMessage() == "unhandled error in GET /boom"]
    assert logged.exc_info and "secret internals" in str(logged.exc_info[1])


async def test_a_search_language_the_database_lacks_refuses_to_start(
        dev_client: Client, engine: AsyncEngine, database_url: str, caplog):
    caplog.set_level(logging.WARNING)
    settings = Settings(DATABASE_URL=database_url,
                        HELPDESK_SEARCH_LANGUAGE="klingon")
    app = create_app(settings, engine=engine, temporal=dev_client)

    with pytest.raises(RuntimeError, match="'klingon' is not a text search configuration.*english"):
        async with app.router.lifespan_context(app):
            pass
    german = create_app(settings.model_copy(update={"search_language": "german"}),
                        engine=engine, temporal=dev_client)
    async with german.router.lifespan_context(german):
        pass  # one it has: starts
