"""Phone numbers as the SMS channel uses them: E.164 (`+15551234567`), what Twilio sends in
`From`/`To` and takes in `To`."""

from __future__ import annotations

import re

from domain.channel_identity import STAND_IN_DOMAIN

E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")
_STAND_IN = re.compile(rf"^sms\.([1-9][0-9]{{1,14}})@{re.escape(STAND_IN_DOMAIN)}$")


def is_e164(number: str) -> bool:
    return E164.fullmatch(number) is not None


def number_of_stand_in(address: str | None) -> str | None:
    """The customer's number behind an SMS stand-in address (`sms.15551234567@…`), for a
    ticket an agent opened for a number that never texted us."""
    found = _STAND_IN.fullmatch((address or "").lower())
    return f"+{found.group(1)}" if found else None
