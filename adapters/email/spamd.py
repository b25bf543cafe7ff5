"""SpamAssassin's score of one mail, asked of spamd (issue 20, item 2).

spamd is asked over its own protocol (SPAMC/1.5, the `SYMBOLS` verb: the score and the names
of the rules that hit) by aiospamc, on TCP to HELPDESK_SPAMD_HOST:HELPDESK_SPAMD_PORT.

`score` never raises and never holds a mail up for longer than HELPDESK_SPAMD_TIMEOUT_SECONDS:
spamd unset, refused, slow or answering garbage gives `SpamScore(checked=False)`, and the mail
goes on unscored (stored with `inbound_emails.spam_checked` false, counted on /metrics), so
an outage of spamd never loses or delays mail; it only lets spam through for a while.

Mail larger than MAX_SCORED_BYTES is not sent to spamd (like spamc's own default `-s 500k`):
spam is small, a help desk's large mail is screenshots and logs from customers, and scoring
megabytes costs spamd a child for seconds. It is skipped on purpose (`skipped=True`, stored
as `spam_checked` null like an allowlisted sender's), not flagged as spamd failing.
"""

from __future__ import annotations

import asyncio
import logging

import aiospamc
from aiospamc.exceptions import AIOSpamcConnectionFailed, ClientTimeoutException
from aiospamc.responses import Response
from prometheus_client import Counter

from domain.mail_screening import SpamScore
from settings import Settings

log = logging.getLogger(__name__)

# spamc's default limit (-s 500k): larger mail is passed on unscored.
MAX_SCORED_BYTES = 500 * 1024

SPAMD_UNAVAILABLE = Counter(
    "helpdesk_spamd_unavailable",
    "Mail taken in unscored because spamd could not score it, by why: unset (no "
    "HELPDESK_SPAMD_HOST), unreachable, timeout, bad_answer",
    ["reason"])
SPAMD_SCORED = Counter("helpdesk_spamd_scored", "Mail scored by spamd")
SPAMD_TOO_LARGE = Counter("helpdesk_spamd_too_large",
                          f"Mail not sent to spamd for being over {MAX_SCORED_BYTES} bytes")


async def score(raw: bytes, *, settings: Settings) -> SpamScore:
    """SpamAssassin's score of `raw`; `checked` False when spamd could not tell."""
    if not settings.spamd_host:
        return _unscored("unset")
    if len(raw) > MAX_SCORED_BYTES:
        SPAMD_TOO_LARGE.inc()
        return SpamScore(skipped=True)
    limit = settings.spamd_timeout_seconds
    try:
        async with asyncio.timeout(limit):  # aiospamc's own timeout, and a guard around it
            response = await aiospamc.symbols(
                raw, host=settings.spamd_host, port=settings.spamd_port,
                timeout=aiospamc.Timeout(total=limit, connection=limit, response=limit))
    except (TimeoutError, ClientTimeoutException):
        log.warning("spamd at %s:%s did not answer within %ss: mail taken in unscored",
                    settings.spamd_host, settings.spamd_port, limit)
        return _unscored("timeout")
    except (AIOSpamcConnectionFailed, OSError) as error:
        log.warning("spamd at %s:%s unreachable (%s: %s): mail taken in unscored",
                    settings.spamd_host, settings.spamd_port, type(error).__name__, error)
        return _unscored("unreachable")
    except Exception as error:  # a refusal (EX_* answer) or bytes that are not SPAMD/1.x
        log.warning("spamd at %s:%s answered unusably (%s: %s): mail taken in unscored",
                    settings.spamd_host, settings.spamd_port, type(error).__name__, error)
        return _unscored("bad_answer")
    found = _read(response)
    if found is None:
        log.warning("spamd at %s:%s answered without a Spam header: mail taken in unscored",
                    settings.spamd_host, settings.spamd_port)
        return _unscored("bad_answer")
    SPAMD_SCORED.inc()
    return found


def _read(response: Response) -> SpamScore | None:
    spam = response.headers.spam
    if spam is None:
        return None
    body = bytes(response.body).decode("ascii", "replace")
    rules = tuple(rule.strip() for rule in body.split(",") if rule.strip())
    return SpamScore(score=float(spam.score), checked=True, rules=rules)


def _unscored(reason: str) -> SpamScore:
    SPAMD_UNAVAILABLE.labels(reason).inc()
    return SpamScore(checked=False)
