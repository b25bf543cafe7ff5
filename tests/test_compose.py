"""docker-compose.yml, checked without a container engine: it agrees with Settings and itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import AliasChoices

from cli.main import build_parser
from settings import Settings

COMPOSE_FILE = Path(__file__).resolve().parent.parent / "docker-compose.yml"
HELPDESK_SERVICES = ("api", "worker", "migrate")
REQUIRED_NAMES = {"DATABASE_URL", "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_TASK_QUEUE"}


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    compose = yaml.safe_load(COMPOSE_FILE.read_text())
    return compose["services"]


def settings_env_names() -> set[str]:
    names: set[str] = set()
    for field in Settings.model_fields.values():
        alias = field.validation_alias
        if isinstance(alias, str):
            names.add(alias)
        elif isinstance(alias, AliasChoices):
            names.update(choice for choice in alias.choices if isinstance(choice, str))
    return names


def environment(service: dict[str, Any]) -> dict[str, str]:
    """Compose allows a mapping or a list of KEY=value strings."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: str(value) for key, value in env.items()}


def depends_on(service: dict[str, Any]) -> list[str]:
    """Compose allows a list of names or a mapping of name -> condition."""
    return list(service.get("depends_on") or [])


def service_with_image(services: dict[str, dict[str, Any]], prefix: str) -> str:
    [name] = [n for n, s in services.items() if str(s.get("image", "")).startswith(prefix)]
    return name


def test_settings_env_names_are_derived_from_the_model() -> None:
    assert REQUIRED_NAMES <= settings_env_names()


@pytest.mark.parametrize("name", HELPDESK_SERVICES)
def test_helpdesk_services_pass_only_settings_names(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    unknown = set(environment(services[name])) - settings_env_names()
    assert not unknown, f"{name} sets variables Settings never reads: {sorted(unknown)}"


@pytest.mark.parametrize("name", HELPDESK_SERVICES)
def test_helpdesk_services_set_what_the_help_desk_needs(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    env = environment(services[name])
    missing = {key for key in REQUIRED_NAMES if not env.get(key)}
    assert not missing, f"{name} does not set {sorted(missing)}"


@pytest.mark.parametrize("name", HELPDESK_SERVICES)
def test_helpdesk_services_run_a_real_subcommand_of_this_image(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    service = services[name]
    assert service["build"] == "."
    command = service["command"]
    build_parser().parse_args(command if isinstance(command, list) else command.split())


@pytest.mark.parametrize("name", HELPDESK_SERVICES)
def test_temporal_address_points_at_the_temporal_service(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    temporal = service_with_image(services, "temporalio/auto-setup")
    host, _, port = environment(services[name])["TEMPORAL_ADDRESS"].partition(":")
    assert (host, port) == (temporal, "7233")


@pytest.mark.parametrize("name", HELPDESK_SERVICES)
def test_database_url_points_at_the_postgres_service(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    postgres = service_with_image(services, "postgres:")
    assert urlsplit(environment(services[name])["DATABASE_URL"]).hostname == postgres


def test_api_listens_where_it_is_published(services: dict[str, dict[str, Any]]) -> None:
    api = services["api"]
    env = environment(api)
    assert env["HELPDESK_HOST"] == "0.0.0.0"  # a container's loopback is unreachable from outside
    assert any(str(p).endswith(f":{env['HELPDESK_PORT']}") for p in api["ports"])


def test_every_depends_on_names_a_defined_service(services: dict[str, dict[str, Any]]) -> None:
    dangling = {
        (name, dependency)
        for name, service in services.items()
        for dependency in depends_on(service)
        if dependency not in services
    }
    assert not dangling


def test_api_and_worker_wait_for_the_migration(services: dict[str, dict[str, Any]]) -> None:
    for name in ("api", "worker"):
        condition = services[name]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully"
