"""The incident pages' forms as posted, turned into the use cases' schemas
(services/incident_schemas.py), and a refusal turned into the Problem a form shows in place.

Rules are typed one per line or separated by commas; empty fields mean "none". What is
valid (a title's length, a domain's shape) is the schemas' and the use cases' to say.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ValidationError

from domain.access import AccessDenied
from domain.incidents import DEFAULT_ACK_MESSAGE
from domain.incidents import REPEAT_PRIORITIES as REPEAT_VALUES
from services.incident_schemas import IncidentCreate, IncidentResolve, IncidentUpdate
from services.problems import Problem

# The acknowledgement a linked ticket's customer gets: the use case's own default,
# prefilled so the lead sees (and may adapt) what customers will read.
DEFAULT_ACK = DEFAULT_ACK_MESSAGE
DEFAULT_RESOLUTION = ("The problem you reported has been fixed. Thank you for your patience; "
                      "if anything still does not work for you, just reply to this message.")
# What a linked ticket's priority is lowered to, at most ("" lowers none).
REPEAT_PRIORITIES = {"": "Do not lower", **{v: v.capitalize() for v in REPEAT_VALUES}}
REFUSALS = (Problem, AccessDenied, ValidationError)


class DeclareForm(BaseModel):
    """The "Declare incident" form as posted: every field a string, kept to show it again."""

    title: str = ""
    status_text: str = ""
    tags: str = ""
    keywords: str = ""
    error_codes: str = ""
    sender_domains: str = ""
    team_id: str = ""
    repeat_priority: str = "normal"
    ack_message: str = ""


def incident_create(form: DeclareForm) -> IncidentCreate:
    return IncidentCreate.model_validate({
        "title": form.title.strip(), "status_text": _text(form.status_text),
        "tags": _items(form.tags), "keywords": _items(form.keywords),
        "error_codes": _items(form.error_codes), "sender_domains": _items(form.sender_domains),
        "team_id": form.team_id or None, "repeat_priority": form.repeat_priority or None,
        "ack_message": _text(form.ack_message) or None})


def status_update(status_text: str) -> IncidentUpdate:
    return IncidentUpdate.model_validate({"status_text": _text(status_text)})


def resolution(message: str) -> IncidentResolve:
    return IncidentResolve.model_validate({"message": _text(message)})


def problem_of(err: Exception) -> Problem:
    """What a form says when refused: the use case's Problem, a 403 for who may not, or the
    first few things the schema found wrong, by the form's own field names."""
    if isinstance(err, Problem):
        return err
    if isinstance(err, AccessDenied):
        return Problem(403, "forbidden", "Not allowed", err.detail)
    assert isinstance(err, ValidationError)
    where = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'form'}: {e['msg']}"
                      for e in err.errors(include_url=False)[:5])
    return Problem(422, "invalid-form", "Please check the form", where)


def _items(text: str) -> list[str]:
    """One rule per line or comma; blanks dropped, each rule once, in the order typed."""
    seen = dict.fromkeys(part.strip() for part in re.split(r"[,\n]", text))
    return [item for item in seen if item]


def _text(text: str) -> str:
    # Browsers post a textarea's line breaks as CRLF; stored text uses "\n".
    return text.replace("\r\n", "\n").strip()
