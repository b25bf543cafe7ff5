"""SpamAssassin's score of one mail, asked of spamd (issue 20, item 2).

Contract (filled in by the spam-scoring work): `score` never raises; spamd unset,
unreachable or slow gives `SpamScore(checked=False)` and the mail goes on unscored.
"""

from __future__ import annotations

from domain.mail_screening import SpamScore
from settings import Settings


async def score(raw: bytes, *, settings: Settings) -> SpamScore:
    return SpamScore()
