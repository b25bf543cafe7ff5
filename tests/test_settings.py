"""Settings refuse nonsense when they are built, with a clear message that echoes no secret."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

import cores
from settings import Settings, mask_url


@pytest.mark.parametrize(("name", "value", "says"), [
    ("HELPDESK_PORT", "70000", "less than or equal to 65535"),
    ("HELPDESK_SMTP_PORT", "0", "greater than or equal to 1"),
    ("HELPDESK_WORKER_METRICS_PORT", "-1", "greater than or equal to 1"),
    ("HELPDESK_EMAIL_MAX_BYTES", "-5", "greater than 0"),
    ("HELPDESK_ATTACHMENT_MAX_BYTES", "0", "greater than 0"),
    ("HELPDESK_IMAP_POLL_SECONDS", "0", "greater than or equal to 1"),
    ("HELPDESK_BODY_TIMEOUT_SECONDS", "0", "greater than 0"),
    ("HELPDESK_RATE_LIMIT_PER_TOKEN", "lots", "not one positive rate limit"),
    ("HELPDESK_RATE_LIMIT_PER_SENDER", "0/minute", "not one positive rate limit"),
    ("HELPDESK_RATE_LIMIT_STORAGE", "memcached://cache:11211", "memory:// or redis://"),
    ("HELPDESK_SEARCH_LANGUAGE", "klingon; drop table tickets", "not a text search configuration"),
    ("DATABASE_URL", "mysql://root:hunter2@db/helpdesk", "must be a postgresql:// URL"),
    ("HELPDESK_TEMPORAL_UI_URL", "temporal-ui:8080", "must be an http:// or https:// URL"),
    ("HELPDESK_API_PROCESSES", "0", "number of processes from 1 to 64"),
    ("HELPDESK_WORKER_PROCESSES", "65", "number of processes from 1 to 64"),
])
def test_nonsense_is_refused_naming_the_setting(name, value, says):
    with pytest.raises(ValidationError) as refused:
        Settings(**{name: value})

    assert name in str(refused.value) and says in str(refused.value), refused.value


def test_a_refused_database_url_never_shows_its_password():
    with pytest.raises(ValidationError) as refused:
        Settings(DATABASE_URL="mysql://root:hunter2@db/helpdesk")

    assert "hunter2" not in str(refused.value)
    assert "mysql://root:***@db/helpdesk" in str(refused.value)
    assert mask_url("postgresql://u:p%40ss@h:5432/d") == "postgresql://u:***@h:5432/d"


def test_only_the_documented_names_are_read(monkeypatch):
    for name, value in (("PORT", "9999"), ("HOST", "0.0.0.0"), ("ADMIN_TOKEN", "x" * 30),
                        ("SEARCH_LANGUAGE", "german")):
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HELPDESK_SMTP_PORT", "2626")

    settings = Settings()

    assert (settings.host, settings.port, settings.admin_token) == ("127.0.0.1", 8000, None)
    assert (settings.search_language, settings.smtp_listen_port) == ("english", 2626)
    assert Settings(port=8001).port == 8001  # code may still use the field names


def test_process_counts_default_to_what_the_machine_can_run(monkeypatch, tmp_path):
    cpu_max = tmp_path / "cpu.max"
    cpu_max.write_text("150000 100000\n")  # a container limited to 1.5 cores
    monkeypatch.setattr(cores, "CGROUP_CPU_MAX", cpu_max)
    monkeypatch.setattr(cores.os, "sched_getaffinity", lambda _pid: set(range(16)))
    assert cores.usable_cores(cpu_max) == 2
    assert (Settings().api_processes, Settings().worker_processes) == (2, 1)

    cpu_max.write_text("max 100000\n")  # no quota: every core of the host, capped
    assert cores.usable_cores(cpu_max) == 16
    assert (Settings().api_processes, Settings().worker_processes) == (4, 2)
