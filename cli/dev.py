"""`helpdesk dev`: the zero-set-up way to run everything on one machine.

Starts what the environment does not point at (PostgreSQL when DATABASE_URL is unset, the
Temporal dev server when TEMPORAL_ADDRESS is unset), runs the migrations, then runs
`helpdesk worker` and `helpdesk api` as child processes and watches them. Ctrl-C or SIGTERM
stops everything it started and exits 0; a child dying on its own stops the rest and exits 1.
Once the API answers, a banner shows where everything is and the tokens to try it with: the
admin token and those of a demo directory seeded into an empty database (see cli/demo.py).
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from types import FrameType

from cli import demo, embedded
from cli.children import stop_process, wait_or_kill
from cli.embedded import DevError
from db.migrate import upgrade
from settings import Settings

log = logging.getLogger("helpdesk.dev")

POLL_SECONDS = 0.2
# name -> a check that returns why the process is gone, or None while it runs
Watched = dict[str, Callable[[], str | None]]


class StopFlag:
    """Set by SIGINT/SIGTERM and polled between steps.

    The handler only flips a bool: raising from it could land in the middle of pgserver's
    pg_ctl call or a half-finished Popen and leak the very process we are about to track.
    """

    def __init__(self) -> None:
        self.requested = False

    def install(self) -> None:
        signal.signal(signal.SIGINT, self._handle)
        signal.signal(signal.SIGTERM, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if not self.requested:
            log.info("%s received; stopping", signal.Signals(signum).name)
        self.requested = True

    def check(self) -> None:
        if self.requested:
            raise Stopped


class Stopped(Exception):
    """A stop was requested during start-up."""


def run_dev(settings: Settings) -> int:
    stop = StopFlag()
    stop.install()
    with ExitStack() as started:  # unwinds in reverse: API and worker first, PostgreSQL last
        try:
            watched, access = start_everything(settings, started, stop)
            return supervise(watched, settings, stop, banner(settings, access))
        except Stopped:
            return 0
        except DevError as err:
            log.error("%s", err)
            return 1


@dataclass(frozen=True)
class Access:
    """The tokens the banner offers: the admin token and the demo's, by label."""

    admin_token: str
    admin_from_environment: bool
    demo_tokens: dict[str, str]


def start_everything(
    settings: Settings, started: ExitStack, stop: StopFlag
) -> tuple[Watched, Access]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    check_ports(settings)
    watched: Watched = {}
    database_url = settings.database_url or start_postgres(settings, started, watched)
    stop.check()
    temporal_address = settings.temporal_address or start_temporal(settings, started, watched)
    stop.check()
    log.info("running migrations")
    upgrade(database_url)
    access = prepare_access(settings, database_url)
    stop.check()
    env = embedded.child_environment(database_url, temporal_address)
    if not settings.temporal_address:  # ticket pages link admins to the embedded Web UI
        env.setdefault("HELPDESK_TEMPORAL_UI_URL",
                       f"http://127.0.0.1:{settings.temporal_ui_port}")
    env["HELPDESK_ADMIN_TOKEN"] = access.admin_token  # the API installs it at start-up
    # The counts this process settled on (from the environment, else the machine's cores).
    env["HELPDESK_API_PROCESSES"] = str(settings.api_processes)
    env["HELPDESK_WORKER_PROCESSES"] = str(settings.worker_processes)
    # Local mail adapters hand mail in with the admin token unless given their own.
    env.setdefault("HELPDESK_INTAKE_TOKEN", access.admin_token)
    children = {name: spawn_helpdesk(name, env)
                for name in ("worker", "api", *mail_adapters(settings))}
    started.callback(stop_children, children)
    watched.update({f"helpdesk {name}": exit_reason(p) for name, p in children.items()})
    return watched, access


def mail_adapters(settings: Settings) -> list[str]:
    """The mail intakes configured: SMTP once there are support addresses to receive for,
    IMAP once there is a mailbox to poll."""
    return (["smtp"] if settings.support_address_set else []) + \
        (["imap"] if settings.imap_host else [])


def prepare_access(settings: Settings, database_url: str) -> Access:
    token = demo.admin_token(settings)
    # Demo agents with working tokens belong in the embedded database only, never in a
    # shared one that DATABASE_URL happens to name.
    embedded_database = not settings.database_url
    demo_tokens = demo.seed(database_url, data_dir=settings.data_dir) if embedded_database \
        else {}
    return Access(admin_token=token, admin_from_environment=bool(settings.admin_token),
                  demo_tokens=demo_tokens)


def check_ports(settings: Settings) -> None:
    embedded.ensure_port_free(settings.host, settings.port, "the API", "HELPDESK_PORT")
    if not settings.temporal_address:
        embedded.ensure_port_free(
            "127.0.0.1", settings.temporal_port, "Temporal", "HELPDESK_TEMPORAL_PORT")
        embedded.ensure_port_free(
            "127.0.0.1", settings.temporal_ui_port, "the Temporal UI", "HELPDESK_TEMPORAL_UI_PORT")
    if "smtp" in mail_adapters(settings):
        embedded.ensure_port_free(settings.smtp_listen_host, settings.smtp_listen_port,
                                  "the SMTP intake", "HELPDESK_SMTP_PORT")


def start_postgres(settings: Settings, started: ExitStack, watched: Watched) -> str:
    log.info("starting the embedded PostgreSQL in %s", settings.data_dir / "postgres")
    server, database_url = embedded.start_postgres(settings.data_dir)
    started.callback(embedded.stop_postgres, server)
    watched["PostgreSQL"] = lambda: None if embedded.postgres_alive(server) else "stopped"
    return database_url


def start_temporal(settings: Settings, started: ExitStack, watched: Watched) -> str:
    address = f"127.0.0.1:{settings.temporal_port}"
    process = embedded.start_temporal(settings)
    started.callback(stop_process, "the Temporal dev server", process)
    embedded.wait_for_temporal(settings, address, process)
    watched["the Temporal dev server"] = exit_reason(process)
    log.info("Temporal is up on %s", address)
    return address


def spawn_helpdesk(command: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    # The same interpreter, so the children see exactly the packages this process sees.
    return embedded.spawn([sys.executable, "-m", "cli.main", command], env=env)


def stop_children(children: dict[str, subprocess.Popen[bytes]]) -> None:
    # Both are told first, then awaited, so their shutdowns overlap.
    log.info("stopping %s", " and ".join(f"helpdesk {name}" for name in children))
    for process in children.values():
        if process.poll() is None:
            process.terminate()
    for name, process in children.items():
        wait_or_kill(f"helpdesk {name}", process)


def exit_reason(process: subprocess.Popen[bytes]) -> Callable[[], str | None]:
    def reason() -> str | None:
        code = process.poll()
        return None if code is None else f"exited with code {code}"

    return reason


def supervise(watched: Watched, settings: Settings, stop: StopFlag, announcement: str) -> int:
    """Poll until a stop is requested (0) or something we started dies on its own (1)."""
    announced = False
    while not stop.requested:
        for name, reason in watched.items():
            why = reason()
            if why is not None:
                log.error("%s %s unexpectedly; stopping everything else", name, why)
                return 1
        if not announced and embedded.port_answers(settings.host, settings.port):
            print(announcement, flush=True)
            announced = True
        time.sleep(POLL_SECONDS)
    return 0


def banner(settings: Settings, access: Access) -> str:
    api = f"http://{settings.host}:{settings.port}"
    return "\n".join(["", "Help desk is running:", *service_lines(settings, api),
                      *token_lines(settings, access, api), "Press Ctrl-C to stop.", ""])


def service_lines(settings: Settings, api: str) -> list[str]:
    temporal = (
        f"Temporal:    {settings.temporal_address} (TEMPORAL_ADDRESS)"
        if settings.temporal_address
        else f"Temporal UI: http://127.0.0.1:{settings.temporal_ui_port}"
    )
    lines = [f"  Workspace:   {settings.browser_url}/app",
             f"  API:         {api} ({_processes(settings.api_processes)}; worker: "
             f"{_processes(settings.worker_processes)})",
             f"  API docs:    {api}/docs", f"  {temporal}"]
    adapters = mail_adapters(settings)
    if "smtp" in adapters:
        lines.append(f"  Mail in:     smtp://{settings.smtp_listen_host}:"
                     f"{settings.smtp_listen_port} for {settings.support_addresses}")
    if "imap" in adapters:
        lines.append(f"  Mail in:     imap://{settings.imap_username}@{settings.imap_host}/"
                     f"{settings.imap_folder}")
    if settings.mail_from_address:
        lines.append(f"  Mail out:    smtp://{settings.smtp_out_host}:{settings.smtp_out_port} "
                     f"from {settings.mail_from_address}")
    if not (settings.database_url and settings.temporal_address):
        lines.append(f"  Data:        {settings.data_dir.resolve()}")
    return lines


def _processes(count: int) -> str:
    return f"{count} process" + ("es" if count > 1 else "")


def token_lines(settings: Settings, access: Access, api: str) -> list[str]:
    # A secret the user chose is theirs already; echoing it would only leave it in scrollback.
    if access.admin_from_environment:
        admin, bearer = "(from HELPDESK_ADMIN_TOKEN)", "$HELPDESK_ADMIN_TOKEN"
    else:
        bearer = access.admin_token
        admin = f"{bearer} (also in {(settings.data_dir / demo.ADMIN_TOKEN_FILE).resolve()})"
    return ["", f"  Admin token: {admin}", *demo_token_lines(settings, access.demo_tokens),
            "  Try it:", f'    curl -H "Authorization: Bearer {bearer}" {api}/api/v1/me', ""]


def demo_token_lines(settings: Settings, demo_tokens: dict[str, str]) -> list[str]:
    tokens = {k: v for k, v in demo_tokens.items() if k != demo.WORKSPACE_PASSWORD}
    if not tokens:
        return []
    where = (settings.data_dir / demo.DEMO_TOKENS_FILE).resolve()
    width = max(map(len, tokens))
    lines = [f"  Demo tokens (also in {where}):",
             *(f"    {label:<{width}}  {secret}" for label, secret in tokens.items())]
    if password := demo_tokens.get(demo.WORKSPACE_PASSWORD):
        agents = " or ".join(email for _, email, _ in demo.AGENTS)
        lines.append(f"  Sign in at {settings.browser_url}/app as {agents}, "
                     f"{demo.WORKSPACE_PASSWORD} {password}")
    return lines
