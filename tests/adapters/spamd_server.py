"""A real SpamAssassin for tests: our own spamd on a free loopback port.

spamd comes from Debian (`scripts/test-services.sh` installs it); each test session starts a
private instance with its own site config and home under a temp dir, local tests only (no
DNS, no RBLs, no Bayes: nothing leaves the machine, so no sa-update is needed; the GTUBE
rule ships with the package), and stops it afterwards. Without spamd the tests that need it
skip; CI installs it, so there they run.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.sockets import free_port, until_process_listens

# The Generic Test for Unsolicited Bulk Email: every SpamAssassin scores it 1000.
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"

LOCAL_CF = """\
# Nothing leaves the machine: no DNS, no blocklists, no Bayes database to learn into.
dns_available no
skip_rbl_checks 1
use_bayes 0
bayes_auto_learn 0
"""


@dataclass
class SpamdServer:
    host: str
    port: int
    root: Path
    process: subprocess.Popen[bytes] | None = None

    def stop(self) -> None:
        """Stop spamd (and its children) now, as an outage would."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


def spamd_binary() -> str | None:
    # /usr/sbin is not on an ordinary user's PATH.
    return shutil.which("spamd") or shutil.which("spamd", path="/usr/sbin:/usr/local/sbin")


def _site_config(root: Path) -> Path:
    """Debian's .pre files (which plugins load) and our local.cf, nothing from /etc changed."""
    site = root / "site"
    site.mkdir()
    for pre in Path("/etc/spamassassin").glob("*.pre"):
        shutil.copy(pre, site / pre.name)
    (site / "local.cf").write_text(LOCAL_CF)
    return site


def start(server: SpamdServer, binary: str) -> None:
    """Start (or restart) spamd on the server's port, in the foreground of its process."""
    root = server.root
    command = [binary, "--listen", f"{server.host}:{server.port}", "--allowed-ips", "127.0.0.1",
               "--ipv4-only", "--local", "--nouser-config",
               f"--siteconfigpath={root / 'site'}", f"--helper-home-dir={root / 'home'}",
               f"--pidfile={root / 'spamd.pid'}", f"--syslog={root / 'spamd.log'}",
               "--max-children=2", "--min-children=1", "--min-spare=1", "--max-spare=2"]
    if os.geteuid() == 0:
        command += ["--username", "nobody"]  # spamd will not score as root
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    server.process = process
    until_process_listens("spamd", server.port, process, root / "spamd.log",
                          seconds=60)  # the rules compile at start: a second, more when busy


@contextmanager
def running_spamd(binary: str) -> Iterator[SpamdServer]:
    root = Path(tempfile.mkdtemp(prefix="helpdesk-test-spamd-"))
    os.chmod(root, 0o755)  # spamd's children run as nobody when we are root
    _site_config(root)
    home = root / "home"
    home.mkdir()
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        os.chown(home, nobody.pw_uid, nobody.pw_gid)
    server = SpamdServer("127.0.0.1", free_port(), root)
    try:
        start(server, binary)
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def spamd_server() -> Iterator[SpamdServer]:
    binary = spamd_binary()
    if binary is None:
        pytest.skip("spamd is not installed: run scripts/test-services.sh")
    with running_spamd(binary) as server:
        yield server


def gtube_mail(*, message_id: str, sender: str = "bulk@spam.example",
               to: str = "support@example.test") -> bytes:
    return (f"From: {sender}\r\nTo: {to}\r\nSubject: Limited offer\r\n"
            f"Message-ID: <{message_id}>\r\nDate: Fri, 04 Dec 2026 10:00:00 +0000\r\n"
            f"\r\nBuy now.\r\n{GTUBE}\r\n").encode()
