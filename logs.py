"""Logging for every `helpdesk` process: one JSON object per line, the ticket on each.

`HELPDESK_LOG_FORMAT`: `json` (timestamp, level, logger, message, ticket, process, and any
`extra=` fields), `text` (one readable line for a terminal), or `auto` (the default: text
when stderr is a terminal, JSON otherwise: containers, systemd, CI).

`ticket` is the public ref (TKT-42) the record is about, found in this order:
- `CURRENT_TICKET`, which the API sets from the `{ticket}` of a request's path (a ref, or
  the UUID the caller used: resolving it would cost a query on every request);
- inside an activity, its workflow's id (a ticket workflow's id *is* its ref);
- the `temporal_workflow` / `temporal_activity` extras of Temporal's own loggers.
Records about no ticket carry `"ticket": null`.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter
from temporalio import activity

from workflows.ticket_types import WORKFLOW_NAME as TICKET_WORKFLOW

CURRENT_TICKET: ContextVar[str | None] = ContextVar("helpdesk_ticket", default=None)
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(process)d] %(ticket_tag)s%(message)s"
JSON_FIELDS = ["levelname", "name", "message", "ticket", "process"]
RENAMED = {"levelname": "level", "name": "logger"}


class TicketFilter(logging.Filter):
    """Sets `record.ticket`; on the handler, so records propagated from any logger pass it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "ticket", None) is None:
            record.ticket = ticket_of(record)
        return True


def ticket_of(record: logging.LogRecord) -> str | None:
    if (ref := CURRENT_TICKET.get()) is not None:
        return ref
    for extra in ("temporal_activity", "temporal_workflow"):
        details = getattr(record, extra, None)
        if isinstance(details, Mapping) and details.get("workflow_type") == TICKET_WORKFLOW:
            return str(details.get("workflow_id"))
    if activity.in_activity():
        info = activity.info()
        if info.workflow_type == TICKET_WORKFLOW:
            return info.workflow_id
    return None


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ticket = getattr(record, "ticket", None)
        record.ticket_tag = f"{ticket} " if ticket else ""
        return super().format(record)


def json_formatter() -> logging.Formatter:
    return JsonFormatter(JSON_FIELDS, rename_fields=RENAMED, timestamp=True)


def configure(log_format: str = "auto", *, level: int = logging.INFO) -> None:
    """The root logger writes to stderr in `log_format`; replaces any handler set before."""
    stream = sys.stderr
    use_json = log_format == "json" or (log_format == "auto" and not stream.isatty())
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter() if use_json else _TextFormatter(TEXT_FORMAT))
    handler.addFilter(TicketFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)

