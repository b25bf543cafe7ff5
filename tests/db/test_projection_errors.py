"""Which projection failures degrade a ticket fast, and which are waited out."""

from __future__ import annotations

from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from activities.projection_errors import ATTEMPTS_FOR_REFUSED_ROWS, give_up

SECRET = "customer text that must not reach logs"


class DriverError(Exception):
    pass


def test_an_unreachable_database_is_retried_for_the_whole_budget() -> None:
    down = OperationalError("INSERT ...", {"body": SECRET}, DriverError("connection refused"))
    assert all(give_up(down, attempt) is None for attempt in range(1, 50))
    assert give_up(TimeoutError(), 40) is None


def test_rows_postgres_refuses_are_given_up_on_after_a_few_attempts() -> None:
    for err in (DataError("INSERT ...", {"body": SECRET}, DriverError("NUL in text")),
                IntegrityError("INSERT ...", {"body": SECRET}, DriverError("duplicate key"))):
        assert give_up(err, ATTEMPTS_FOR_REFUSED_ROWS - 1) is None
        refused = give_up(err, ATTEMPTS_FOR_REFUSED_ROWS)
        assert refused is not None and refused.non_retryable
        assert refused.type == "ProjectionRefused"
        # The driver's words only: no statement, no parameters (customer text) in history.
        assert "DriverError" in refused.message and SECRET not in refused.message
        assert "INSERT" not in refused.message
