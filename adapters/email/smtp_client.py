"""Send one mail over SMTP, telling a refusal for good from a failure worth retrying.

Every outbound mail (agents' replies, notices, portal links, surveys) goes through `send`, so
this is where it is DKIM-signed (adapters/email/dkim_signing.py) when a key is configured.
"""

from __future__ import annotations

import copy
import io
import smtplib
import ssl
from dataclasses import dataclass
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.policy import EmailPolicy, Policy
from email.utils import getaddresses
from typing import Literal, cast

from adapters.email.dkim_signing import DkimSigner, DkimSignError

Security = Literal["none", "starttls", "tls"]


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 587
    security: Security = "starttls"
    username: str | None = None
    password: str | None = None
    timeout: float = 60.0
    dkim: DkimSigner | None = None  # None: mail goes out unsigned


class PermanentSendError(Exception):
    """The server refused this mail for good (5xx): trying again will not help."""


class TemporarySendError(Exception):
    """The server is unreachable or said "later" (4xx): the mail goes out on a retry."""


def send(config: SmtpConfig, msg: EmailMessage, *, envelope_from: str,
         recipients: list[str] | None = None) -> None:
    """`recipients`: the envelope's (else the To, Cc and Bcc headers name them)."""
    try:
        with _connect(config) as smtp:
            if config.dkim is None:
                refused = smtp.send_message(msg, from_addr=envelope_from, to_addrs=recipients)
            else:
                refused = _send_signed(smtp, config.dkim, msg, envelope_from, recipients)
    except smtplib.SMTPRecipientsRefused as err:
        codes = [code for code, _ in err.recipients.values()]
        raise _by_code(min(codes), f"recipients refused: {err.recipients}") from err
    except smtplib.SMTPAuthenticationError as err:
        # Our credentials, not this mail: an operator fixes them and the retry goes through.
        raise TemporarySendError(f"SMTP authentication failed: {err.smtp_error!r}") from err
    except smtplib.SMTPResponseException as err:
        raise _by_code(err.smtp_code, f"{err.smtp_code} {_text(err.smtp_error)}") from err
    except (OSError, smtplib.SMTPException) as err:
        raise TemporarySendError(f"SMTP unavailable: {err}") from err
    except DkimSignError as err:  # the same mail would fail the same way on every retry
        raise PermanentSendError(str(err)) from err
    if refused:  # some recipients took it; never resend to those that did
        raise PermanentSendError(f"some recipients refused: {refused}")


def _send_signed(smtp: smtplib.SMTP, signer: DkimSigner, msg: EmailMessage,
                 envelope_from: str, recipients: list[str] | None) -> dict[str, tuple[int, bytes]]:
    """What smtplib's send_message does (recipients from the headers, Bcc left out, SMTPUTF8
    for non-ASCII addresses), with the DKIM-Signature over exactly the bytes sent."""
    if recipients is None:
        fields = [v for v in (msg["To"], msg["Bcc"], msg["Cc"]) if v is not None]
        recipients = [address for _, address in getaddresses(fields)]
    shown = copy.copy(msg)
    del shown["Bcc"]
    del shown["Resent-Bcc"]
    options: tuple[str, ...] = ()
    policy: Policy | None = None  # the message's own, as send_message does
    if not "".join([envelope_from, *recipients]).isascii():
        if not smtp.has_extn("smtputf8"):
            raise smtplib.SMTPNotSupportedError(
                "internationalized addresses, and the server does not offer SMTPUTF8")
        policy = cast(EmailPolicy, msg.policy).clone(utf8=True)
        options = ("SMTPUTF8", "BODY=8BITMIME")
    with io.BytesIO() as out:
        BytesGenerator(out, policy=policy).flatten(shown, linesep="\r\n")
        flat = out.getvalue()
    from_address = getaddresses([str(msg["From"] or "")])[0][1] or envelope_from
    signed = signer.sign(flat, from_address=from_address) + flat
    return smtp.sendmail(envelope_from, recipients, signed, options)


def _connect(config: SmtpConfig) -> smtplib.SMTP:
    context = ssl.create_default_context()
    if config.security == "tls":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout,
                                              context=context)
    else:
        smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
    try:
        if config.security == "starttls":
            smtp.starttls(context=context)
        if config.username:
            smtp.login(config.username, config.password or "")
    except BaseException:
        smtp.close()
        raise
    return smtp


def _by_code(code: int, detail: str) -> Exception:
    return PermanentSendError(detail) if code >= 500 else TemporarySendError(detail)


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value
