"""Fixtures of the storage tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from tests.support import with_database


@pytest.fixture
def empty_database_url(pg_server_url: str) -> Iterator[str]:
    """A database with nothing in it (not a copy of the migrated template): for migrations."""
    name = f"helpdesk_mig_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield with_database(pg_server_url, name)
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
