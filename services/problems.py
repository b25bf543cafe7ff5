"""What a use case refuses, and why: an RFC 9457 problem, whichever front end renders it.

The JSON API answers it as application/problem+json (api/problems.py); a page shows its
title and detail. `extra` fields join the body (`allowed`, `merged_into`, ...).
"""

from __future__ import annotations

from typing import Any

from temporalio.service import RPCStatusCode

# Temporal unreachable, overloaded, or dropping a command it could not run (it aborts updates
# when it drops a workflow task under load): a retry of the same command is safe, since
# commands carry their own ids. Any other status is a bug and stays a logged 500.
# INTERNAL and UNKNOWN too: the server failed on its side ("Application error processing
# RPC"; the time-skipping server answers so when an update-with-start loses its first
# workflow task under load). Every call that reaches Temporal is safe to retry (keys,
# message ids), so the caller is told to, not shown a 500.
WORKFLOWS_UNAVAILABLE = frozenset({RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED,
                                   RPCStatusCode.RESOURCE_EXHAUSTED, RPCStatusCode.ABORTED,
                                   RPCStatusCode.CANCELLED, RPCStatusCode.INTERNAL,
                                   RPCStatusCode.UNKNOWN})


class Problem(Exception):
    """An error the caller is owed an explanation for; `extra` fields join the body."""

    def __init__(self, status: int, slug: str, title: str, detail: str, *,
                 headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.slug, self.title, self.detail = status, slug, title, detail
        self.headers, self.extra = headers or {}, extra

    def body(self) -> dict[str, Any]:
        return {
            "type": f"urn:helpdesk:problem:{self.slug}", "title": self.title,
            "status": self.status, "detail": self.detail, **self.extra,
        }


def not_found(ticket: str) -> Problem:
    return Problem(404, "not-found", "Ticket not found", f"no ticket {ticket!r}")
