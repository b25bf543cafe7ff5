"""docker-compose.yml, checked without a container engine: it agrees with Settings and itself,
starts with the usage line it documents, publishes nothing unauthenticated beyond this machine,
and sets Temporal up the way Temporal's own examples now do (no deprecated auto-setup)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import AliasChoices

from cli.main import build_parser
from settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
HELPDESK_SERVICES = ("api", "worker", "migrate")
REQUIRED_NAMES = {"DATABASE_URL", "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_TASK_QUEUE"}
# Published without authentication: Temporal's frontend and its Web UI.
UNAUTHENTICATED_PORTS = {"7233", "8080"}


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


def services_with_image(services: dict[str, dict[str, Any]], prefix: str) -> list[str]:
    return [n for n, s in services.items() if str(s.get("image", "")).startswith(prefix)]


def service_with_image(services: dict[str, dict[str, Any]], prefix: str) -> str:
    [name] = services_with_image(services, prefix)
    return name


def script(service: dict[str, Any]) -> str:
    """A one-shot job's shell script, as the container's shell sees it ($$ is compose's $)."""
    command = service["command"]
    return " ".join(command if isinstance(command, list) else [command]).replace("$$", "$")


def published(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(host address, container port) of each short-syntax port mapping; "" is every interface."""
    mappings = []
    for entry in service.get("ports") or []:
        parts = str(entry).rsplit(":", 2)
        host_ip = parts[0] if len(parts) == 3 else ""
        mappings.append((host_ip, parts[-1].split("/")[0]))
    return mappings


def usage_lines() -> str:
    """The header's commands: the comment lines that export or run something."""
    header = COMPOSE_FILE.read_text().split("\nservices:", 1)[0]
    lines = [line.lstrip("# ").strip() for line in header.splitlines() if line.startswith("#")]
    return "\n".join(line for line in lines if line.startswith(("export ", "docker compose")))


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
    temporal = service_with_image(services, "temporalio/server:")
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


def test_every_variable_the_file_requires_is_set_by_its_usage_lines() -> None:
    required = set(re.findall(r"\$\{(\w+):\?", COMPOSE_FILE.read_text()))
    usage = usage_lines()
    assert "docker compose up" in usage
    assert required, "expected HELPDESK_ADMIN_TOKEN to be required"
    unset = {name for name in required if f"export {name}=" not in usage}
    assert not unset, f"the usage at the top does not set {sorted(unset)}"


def test_the_admin_token_the_usage_line_makes_is_long_enough() -> None:
    match = re.search(r"export HELPDESK_ADMIN_TOKEN=\$\(python3 -c '(.+)'\)", usage_lines())
    assert match, usage_lines()
    made = subprocess.run([sys.executable, "-c", match[1]], capture_output=True, text=True,
                          check=True, timeout=30)
    assert len(made.stdout.strip()) >= 24  # settings.MIN_ADMIN_TOKEN


def test_temporal_frontend_and_ui_are_published_on_localhost_only(
    services: dict[str, dict[str, Any]]
) -> None:
    exposed = {(name, host, port) for name, service in services.items()
               for host, port in published(service)
               if port in UNAUTHENTICATED_PORTS and host != "127.0.0.1"}
    reached = {port for service in services.values() for _, port in published(service)}
    assert not exposed
    assert UNAUTHENTICATED_PORTS <= reached  # still reachable from this machine


def test_the_file_says_how_to_protect_temporal_and_its_ui() -> None:
    header = COMPOSE_FILE.read_text().split("\nservices:", 1)[0]
    for advice in ("mutual TLS", "authorizer", "reverse proxy"):
        assert advice in header


def test_no_deprecated_auto_setup_image_and_every_image_pinned(
    services: dict[str, dict[str, Any]]
) -> None:
    images = {name: str(s["image"]) for name, s in services.items() if "image" in s}
    assert not [i for i in images.values() if i.startswith("temporalio/auto-setup")]
    unpinned = {n: i for n, i in images.items()
                if ":" not in i or i.endswith(":latest") or not re.search(r":\d", i)}
    assert not unpinned
    temporal_versions = {images[n].split(":")[1] for n in images
                         if images[n].startswith(("temporalio/server:", "temporalio/admin-tools:"))}
    assert len(temporal_versions) == 1, temporal_versions  # server and its tools move together


def test_a_one_shot_job_sets_up_both_schemas_before_the_server_starts(
    services: dict[str, dict[str, Any]]
) -> None:
    temporal = service_with_image(services, "temporalio/server:")
    [schema_job] = [n for n in services_with_image(services, "temporalio/admin-tools:")
                    if "temporal-sql-tool" in script(services[n])]
    commands = script(services[schema_job])
    for step in ("create", "setup-schema -v 0.0", "update-schema -d"):
        assert step in commands
    for schema in ("postgresql/v12/$schema/versioned", "temporal:temporal",
                   "temporal_visibility:visibility"):
        assert schema in commands
    assert services[temporal]["depends_on"][schema_job]["condition"] == \
        "service_completed_successfully"


def test_the_namespace_is_created_before_the_help_desk_starts(
    services: dict[str, dict[str, Any]]
) -> None:
    [namespace_job] = [n for n in services_with_image(services, "temporalio/admin-tools:")
                       if "namespace create" in script(services[n])]
    assert "temporal operator namespace create" in script(services[namespace_job])
    assert environment(services[namespace_job])["NAMESPACE"] == \
        environment(services["api"])["TEMPORAL_NAMESPACE"]
    for name in ("api", "worker"):
        condition = services[name]["depends_on"][namespace_job]["condition"]
        assert condition == "service_completed_successfully"


def test_the_temporal_server_gets_the_dynamic_config_file_it_needs(
    services: dict[str, dict[str, Any]]
) -> None:
    temporal = services[service_with_image(services, "temporalio/server:")]
    mounts = [str(volume).split(":") for volume in temporal["volumes"]]
    [(source, target, *_)] = [m for m in mounts if "dynamicconfig" in m[1]]
    assert (PROJECT_ROOT / source).is_file()
    assert yaml.safe_load((PROJECT_ROOT / source).read_text()) in (None, {})
