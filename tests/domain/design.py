"""The lifecycle as DESIGN.md draws it, transcribed by hand: what the code is checked against.

Deliberately not derived from domain/lifecycle.py, so a wrong edit there cannot also move the
expectation.
"""

from __future__ import annotations

STATUSES = (
    "new", "assigned", "in_progress", "waiting_on_customer", "resolved", "closed", "reopened",
    "spam", "duplicate",
)

# DESIGN.md, "Allowed: new→{assigned,spam,duplicate}; assigned→{in_progress,new}; ..."
ALLOWED: dict[str, set[str]] = {
    "new": {"assigned", "spam", "duplicate"},
    "assigned": {"in_progress", "new"},
    "in_progress": {"waiting_on_customer", "resolved", "assigned"},
    "waiting_on_customer": {"in_progress", "resolved"},
    "resolved": {"closed", "in_progress"},
    "closed": {"reopened"},
    "reopened": {"in_progress"},
    "spam": set(),
    "duplicate": set(),
}

# "Spam and duplicate end the workflow."
ENDING = {"spam", "duplicate"}

ALL_PAIRS = [(source, target) for source in STATUSES for target in STATUSES]
ALLOWED_PAIRS = [(s, t) for s, t in ALL_PAIRS if t in ALLOWED[s]]
FORBIDDEN_PAIRS = [(s, t) for s, t in ALL_PAIRS if t not in ALLOWED[s]]


def pair_id(pair: tuple[str, str]) -> str:
    return f"{pair[0]}->{pair[1]}"
