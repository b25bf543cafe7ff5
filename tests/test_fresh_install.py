"""README's run path on a clean venv, on every test run: the install users are told to do, and
`helpdesk dev` with mail on from it.

The trial that found httpx missing ran exactly this by hand: CI installs the test extra, which
hid it. So: a new venv with nothing in it, `pip install -e <checkout>` with no extras (README's
"Set up"), then that venv's `helpdesk dev` with HELPDESK_SUPPORT_ADDRESSES set, run from
outside the checkout, with nothing of the test venv on its PATH. A mail to its SMTP intake
must become a ticket the API shows, and Ctrl-C must leave no process behind.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dev_run import (
    PROJECT_ROOT,
    DevRun,
    Ports,
    free_port,
    interrupt_and_check_cleanup,
    send_mail,
    start_dev,
    stop_leftovers,
    wait_for_ticket_of,
    wait_until_healthy,
)

SUPPORT = "support@fresh.example"
INSTALL_TIMEOUT_SECONDS = 600
# Variables that would let the new venv see the test venv's packages.
LEAKY = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONUSERBASE", "PYTHONSTARTUP")


@pytest.fixture
def runs() -> Iterator[list[DevRun]]:
    yield from stop_leftovers()


def readme_install(venv: Path) -> None:
    """`python3 -m venv .venv && .venv/bin/pip install -e .`, as README's "Set up" says."""
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    done = subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", "-e",
                           str(PROJECT_ROOT)], capture_output=True, text=True,
                          timeout=INSTALL_TIMEOUT_SECONDS)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def clean_environment(venv: Path) -> dict[str, str]:
    """This process's environment less anything pointing at the test venv."""
    ours = str(Path(sys.executable).parent)
    path = [entry for entry in os.environ.get("PATH", "").split(os.pathsep) if entry != ours]
    env = {key: value for key, value in os.environ.items() if key not in LEAKY}
    return env | {"PATH": os.pathsep.join([str(venv / "bin"), *path])}


def test_readme_install_runs_helpdesk_dev_which_turns_a_mail_into_a_ticket(
    tmp_path: Path, runs: list[DevRun]
) -> None:
    venv = tmp_path / "venv"
    readme_install(venv)
    no_extras = subprocess.run([str(venv / "bin" / "python"), "-c", "import pytest"],
                               capture_output=True)
    assert no_extras.returncode != 0, "the clean venv sees test packages"

    ports, smtp_port = Ports.free(), free_port()
    runs.append(run := start_dev(
        tmp_path / "data", ports, tmp_path / "dev.log", command=[str(venv / "bin" / "helpdesk")],
        cwd=tmp_path, base_env=clean_environment(venv),
        HELPDESK_SUPPORT_ADDRESSES=SUPPORT, HELPDESK_SMTP_PORT=str(smtp_port)))
    wait_until_healthy(run, ports)
    assert f"smtp://127.0.0.1:{smtp_port} for {SUPPORT}" in run.banner()

    send_mail(smtp_port, sender="Fresh Install <new@example.com>", to=SUPPORT,
              subject="Does it run?", body="Straight from README.")
    ticket = wait_for_ticket_of(run, f"http://127.0.0.1:{ports.api}", run.admin_token(),
                                "new@example.com")
    assert ticket["subject"] == "Does it run?"
    # worker, api, smtp, the Temporal dev server and postgres
    interrupt_and_check_cleanup(run, ports, at_least=5)
