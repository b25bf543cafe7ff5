"""A real IMAP server for tests: our own dovecot on a free loopback port.

Dovecot comes from Debian (`scripts/test-services.sh` installs it); each test session starts a
private instance with a config, passwd-file and Maildir under a temp dir, plaintext login on
127.0.0.1 and no TLS, and stops it afterwards. Without dovecot the tests that need it skip.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from imapclient import IMAPClient

from tests.sockets import free_port, until_process_listens

USER = "support@example.test"
PASSWORD = "imap-test-password"


@dataclass(frozen=True)
class ImapServer:
    host: str
    port: int
    username: str
    password: str
    root: Path

    def client(self) -> IMAPClient:
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=10)
        client.login(self.username, self.password)
        return client


def dovecot_binary() -> str | None:
    # /usr/sbin is not on an ordinary user's PATH.
    return shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/usr/local/sbin")


def _mail_account() -> pwd.struct_passwd:
    # Dovecot refuses mail access as UID 0; as root, mail is kept as the `dovecot` user
    # that the Debian package creates. Otherwise everything runs as ourselves.
    if os.geteuid() == 0:
        return pwd.getpwnam("dovecot")
    return pwd.getpwuid(os.geteuid())


def _write_config(root: Path, port: int) -> Path:
    mail = _mail_account()
    me = pwd.getpwuid(os.geteuid()).pw_name
    internal = "dovecot" if os.geteuid() == 0 else me
    login = "dovenull" if os.geteuid() == 0 else me
    (root / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    for sub in ("run", "state", "mail"):
        (root / sub).mkdir()
    os.chown(root / "mail", mail.pw_uid, mail.pw_gid)
    conf = root / "dovecot.conf"
    conf.write_text(f"""
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal}
default_login_user = {login}
first_valid_uid = {min(mail.pw_uid, 500)}
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={mail.pw_uid} gid={mail.pw_gid} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
""")
    return conf


@pytest.fixture(scope="session")
def imap_server() -> Iterator[ImapServer]:
    binary = dovecot_binary()
    if binary is None:
        pytest.skip("dovecot is not installed: run scripts/test-services.sh")
    with running_dovecot(binary) as server:
        yield server


@contextmanager
def running_dovecot(binary: str) -> Iterator[ImapServer]:
    root = Path(tempfile.mkdtemp(prefix="helpdesk-test-imap-"))
    os.chmod(root, 0o755)  # the mail and login users must reach their files
    port = free_port()
    conf = _write_config(root, port)
    process = subprocess.Popen([binary, "-F", "-c", str(conf)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        until_process_listens("dovecot", port, process, root / "dovecot.log", seconds=15)
        yield ImapServer("127.0.0.1", port, USER, PASSWORD, root)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(root, ignore_errors=True)
