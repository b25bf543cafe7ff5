"""DKIM signatures on our outbound mail (issue 20, item 6), made with dkimpy.

Every mail we send goes through adapters/email/smtp_client.send, which signs it here when
HELPDESK_DKIM_PRIVATE_KEY_FILE is set: rsa-sha256, relaxed/relaxed, selector
HELPDESK_DKIM_SELECTOR, domain HELPDESK_DKIM_DOMAIN (else the From address's). The key is
read once, when the settings load: a key that cannot be read or parsed stops the process with
a clear error instead of sending mail unsigned (which DMARC would then fail at the receiver).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import dkim
from dkim.crypto import UnparsableKeyError, parse_pem_private_key

# What a reader sees and a forger would change: signed, and listed even when absent so that
# nobody can add one after us (an In-Reply-To to a mail that never had one, a second From).
SIGNED_HEADERS = ("From", "To", "Cc", "Subject", "Date", "Message-ID", "Reply-To",
                  "In-Reply-To", "References", "MIME-Version", "Content-Type",
                  "Content-Transfer-Encoding", "Auto-Submitted", "List-Unsubscribe")


class DkimKeyError(ValueError):
    """HELPDESK_DKIM_PRIVATE_KEY_FILE names no readable RSA private key."""


class DkimSignError(ValueError):
    """This mail cannot be signed (no domain to sign for, or a message dkimpy refuses)."""


@dataclass(frozen=True)
class DkimSigner:
    private_key: bytes = field(repr=False)
    selector: str
    domain: str | None = None  # None: the From address's domain

    def sign(self, message: bytes, *, from_address: str) -> bytes:
        """The DKIM-Signature header line(s) to put in front of `message` (CRLF ends)."""
        domain = self.domain or (from_address.rpartition("@")[2] if "@" in from_address
                                 else "")
        if not domain:
            raise DkimSignError(f"no domain to sign for: From is {from_address!r}")
        try:
            header: bytes = dkim.sign(
                message, self.selector.encode(), domain.lower().encode("idna"),
                self.private_key, canonicalize=(b"relaxed", b"relaxed"),
                include_headers=[h.encode() for h in SIGNED_HEADERS], linesep=b"\r\n")
        except dkim.DKIMException as error:
            raise DkimSignError(f"DKIM signing failed: {error}") from error
        return header


def read_private_key(path: Path) -> bytes:
    """The PEM bytes of the RSA private key at `path`, checked to parse."""
    try:
        pem = path.read_bytes()
    except OSError as error:
        raise DkimKeyError(f"cannot read the DKIM private key {path}: "
                           f"{error.strerror or error}") from error
    try:
        parse_pem_private_key(pem)
    except (UnparsableKeyError, ValueError, IndexError) as error:
        raise DkimKeyError(f"{path} is not a PEM RSA private key ({error}); make one with "
                           "`openssl genrsa -out dkim.pem 2048`") from error
    return pem


def signer_of(private_key_file: Path | None, selector: str,
              domain: str | None) -> DkimSigner | None:
    """The signer the settings describe; None when no key is set (mail goes out unsigned)."""
    if private_key_file is None:
        return None
    return DkimSigner(read_private_key(private_key_file), selector, domain)
