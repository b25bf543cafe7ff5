"""Send one mail over SMTP, telling a refusal for good from a failure worth retrying."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Literal

Security = Literal["none", "starttls", "tls"]


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 587
    security: Security = "starttls"
    username: str | None = None
    password: str | None = None
    timeout: float = 60.0


class PermanentSendError(Exception):
    """The server refused this mail for good (5xx): trying again will not help."""


class TemporarySendError(Exception):
    """The server is unreachable or said "later" (4xx): the mail goes out on a retry."""


def send(config: SmtpConfig, msg: EmailMessage, *, envelope_from: str,
         recipients: list[str] | None = None) -> None:
    """`recipients`: the envelope's (else the To, Cc and Bcc headers name them)."""
    try:
        with _connect(config) as smtp:
            refused = smtp.send_message(msg, from_addr=envelope_from, to_addrs=recipients)
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
    if refused:  # some recipients took it; never resend to those that did
        raise PermanentSendError(f"some recipients refused: {refused}")


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
