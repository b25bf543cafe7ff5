"""How email intake refuses a mail: for good, or for now.

The answer decides what the sending mail server does (adapters.email.delivery maps it):

    422  this mail will never be taken in (no usable sender, a ticket that ended, a failure
         caused by the mail itself): the SMTP server answers 5xx and the sender gets a bounce;
    429, 5xx  not now (the flood limit, Temporal or PostgreSQL unreachable): SMTP 451, the
         sender delivers the same bytes again later.

Either way the mail is in `inbound_emails` with its bytes, as `rejected` or `deferred`, and
the reason. An unexpected error is permanent unless it is an outage: the same bytes would fail
the same way on every retry, for days, and the log keeps them for an operator to replay.
"""

from __future__ import annotations

from sqlalchemy import exc as db
from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from domain.mail_screening import Reason, Screening
from domain.threading import Outcome
from services.problems import WORKFLOWS_UNAVAILABLE, Problem

RETRY_AFTER_SECONDS = 60
MAX_REASON = 1_000

_OUTAGES = (OSError, TimeoutError, db.OperationalError, db.InterfaceError, db.TimeoutError,
            db.DisconnectionError, WorkflowUpdateRPCTimeoutOrCancelledError)
# A mail is deferred (4xx, the sender's server retries) on an internal error too.
_UNAVAILABLE = WORKFLOWS_UNAVAILABLE | {RPCStatusCode.INTERNAL}


def empty_message() -> Problem:
    return Problem(422, "empty-message", "Empty message", "the body must be an RFC 5322 mail")


def unusable_sender() -> Problem:
    return Problem(422, "unusable-sender", "Mail has no usable sender",
                   "the From header names no address we could answer (missing, unreadable or "
                   "over 320 characters)")


# The problem types of mail screening refused, which the SMTP server answers 550 5.7.x.
SCREENED_OUT = {Reason.BLOCKED_SENDER: "sender-blocked", Reason.DMARC_REJECT: "dmarc-reject",
                Reason.SPAM: "spam-rejected"}


def screened_out(screening: Screening) -> Problem:
    reason = screening.reason or Reason.SPAM
    return Problem(422, SCREENED_OUT.get(reason, "spam-rejected"), "Mail refused by screening",
                   screening.detail, reason=str(reason))


def is_temporary(problem: Problem) -> bool:
    return problem.status == 429 or problem.status >= 500


def outcome_of(problem: Problem) -> Outcome:
    return Outcome.DEFERRED if is_temporary(problem) else Outcome.REJECTED


def reason_of(problem: Problem) -> str:
    """What the log says the sender was answered: "422 unusable-sender: the From header..."."""
    return f"{problem.status} {problem.slug}: {problem.detail}"[:MAX_REASON]


def is_outage(error: BaseException) -> bool:
    if isinstance(error, RPCError):
        return error.status in _UNAVAILABLE
    return isinstance(error, _OUTAGES)


def problem_for_failure(error: BaseException) -> Problem:
    """The answer for an error no step of intake turned into a Problem itself."""
    if is_outage(error):
        return Problem(503, "intake-unavailable", "Intake unavailable",
                       f"intake could not finish ({type(error).__name__}); deliver the mail "
                       "again later", retry_after_seconds=RETRY_AFTER_SECONDS)
    return Problem(422, "unprocessable-mail", "Mail could not be taken in",
                   f"intake failed on this mail ({type(error).__name__}); it is kept in the "
                   "intake log for an operator")
