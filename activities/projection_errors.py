"""Which projection failures to retry and which to give up on.

An unreachable or overloaded database (connection refused or lost, a timeout, a deadlock,
a full disk) is worth the workflow's whole retry budget: it heals. A row PostgreSQL refuses
(bad data, a constraint, a missing column after a botched migration) fails identically every
time, so it is given a couple more tries (a race may clear) and then refused for good, which
degrades the ticket at once instead of minutes later.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from temporalio.exceptions import ApplicationError

REFUSED = "ProjectionRefused"
ATTEMPTS_FOR_REFUSED_ROWS = 3
MAX_SUMMARY_CHARS = 300


def is_transient(err: BaseException) -> bool:
    if isinstance(err, OperationalError | InterfaceError | PoolTimeout | TimeoutError | OSError):
        return True
    return isinstance(err, DBAPIError) and err.connection_invalidated


def give_up(err: BaseException, attempt: int) -> ApplicationError | None:
    """The non-retryable error to raise instead of `err`, or None to let it retry."""
    if is_transient(err) or attempt < ATTEMPTS_FOR_REFUSED_ROWS:
        return None
    return ApplicationError(f"PostgreSQL refused the ticket's rows: {summary(err)}",
                            type=REFUSED, non_retryable=True)


def summary(err: BaseException) -> str:
    """The driver's own message, without SQLAlchemy's statement and parameters (which hold
    customer text and can be megabytes long)."""
    cause = err.orig if isinstance(err, DBAPIError) and err.orig is not None else err
    first_line = (str(cause).strip().splitlines() or [""])[0]
    return f"{type(cause).__name__}: {first_line}"[:MAX_SUMMARY_CHARS]
