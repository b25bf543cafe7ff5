"""The help form's key: minted when the form is drawn, sent back with the submission.

One key stands for one drawn form. It is the submission's Idempotency-Key (a double click or
a resubmitted page opens one ticket), it names the form's one knowledge-base suggestion, and
the time it carries is when the form was drawn, so a submission that comes back sooner than
a person could have filled it in is recognised. It is signed with the server's secret: a bot
can neither forge an older draw time nor make up keys of its own.

    key = <form id>.<drawn at, unix milliseconds>.<HMAC-SHA256 of both, base64url>

A confirmation token is the ticket's ref signed the same way (with another purpose), so the
confirmation page's URL shows the ref to whoever holds it and nothing to anyone guessing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_FORM_PURPOSE = b"help-form key"
_SENT_PURPOSE = b"help-form sent"
_ID = re.compile(r"^[A-Za-z0-9_-]{16,43}$")
_REF = re.compile(r"^[A-Z]{1,10}-[0-9]{1,12}$")
# The namespace of the suggestion id a form's key names (uuid5 of the form id).
SUGGESTION_NAMESPACE = uuid.UUID("0b6f5d1e-7a43-4c9e-9a59-3f7f1a2c8d40")


class FormKeyError(Exception):
    """The key does not stand for a form this desk drew (forged, mangled, or expired)."""


class FormTooFast(Exception):
    """Sent back sooner after the draw than a person fills the form in."""

    def __init__(self, wait: timedelta) -> None:
        super().__init__(f"wait {wait.total_seconds():.1f} s more")
        self.wait = wait


@dataclass(frozen=True)
class FormKey:
    form_id: str
    drawn_at: datetime
    key: str

    @property
    def suggestion_id(self) -> uuid.UUID:
        """The form's one knowledge-base suggestion: the same for every pause in its typing."""
        return uuid.uuid5(SUGGESTION_NAMESPACE, self.form_id)


def mint_key(secret: bytes, now: datetime) -> FormKey:
    form_id = secrets.token_urlsafe(16)
    drawn = int(now.timestamp() * 1000)
    key = f"{form_id}.{drawn}.{_mac(secret, _FORM_PURPOSE, f'{form_id}.{drawn}')}"
    return FormKey(form_id=form_id, drawn_at=_instant(drawn), key=key)


def read_key(secret: bytes, key: str, *, now: datetime, max_age: timedelta) -> FormKey:
    """The form the key stands for; FormKeyError unless this desk signed it, not in the
    future and no older than `max_age`."""
    form_id, _, rest = key.strip().partition(".")
    drawn_text, _, mac = rest.partition(".")
    if not _ID.match(form_id) or not drawn_text.isdigit() or len(drawn_text) > 13:
        raise FormKeyError("not a form key")
    if not hmac.compare_digest(mac, _mac(secret, _FORM_PURPOSE, f"{form_id}.{drawn_text}")):
        raise FormKeyError("not signed by this desk")
    drawn_at = _instant(int(drawn_text))
    if drawn_at > now + timedelta(minutes=1) or now - drawn_at > max_age:
        raise FormKeyError("expired")
    return FormKey(form_id=form_id, drawn_at=drawn_at, key=key.strip())


def require_fill_time(form: FormKey, *, now: datetime, minimum: timedelta) -> None:
    """FormTooFast when the form came back sooner than `minimum` after it was drawn."""
    taken = now - form.drawn_at
    if taken < minimum:
        raise FormTooFast(minimum - taken)


def confirmation_token(secret: bytes, ref: str) -> str:
    return f"{ref}.{_mac(secret, _SENT_PURPOSE, ref)}"


def confirmed_ref(secret: bytes, token: str) -> str | None:
    """The ref a confirmation token was made for; None for anything this desk did not sign."""
    ref, _, mac = token.partition(".")
    if not _REF.match(ref) or not hmac.compare_digest(mac, _mac(secret, _SENT_PURPOSE, ref)):
        return None
    return ref


def _mac(secret: bytes, purpose: bytes, message: str) -> str:
    digest = hmac.new(secret, purpose + b"|" + message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _instant(milliseconds: int) -> datetime:
    return datetime.fromtimestamp(milliseconds / 1000, UTC)
