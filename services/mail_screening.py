"""Screening one inbound mail: sender lists, authentication, spam score, then the verdict
(domain/mail_screening.py holds the rules, the adapters do the asking)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from adapters.email import authentication, spamd
from adapters.email.parse import ParsedEmail
from db import sender_lists
from domain.mail_screening import (
    AuthResults,
    Envelope,
    Screening,
    SpamScore,
    Thresholds,
    decide,
    needs_score,
)
from settings import Settings


async def screen(*, session: AsyncSession, settings: Settings, raw: bytes, mail: ParsedEmail,
                 envelope: Envelope) -> Screening:
    """Everything screening knows of this mail, and what intake should do with it."""
    listing = await sender_lists.listing_of(session=session, address=mail.from_address)
    await session.commit()  # no connection held while DNS and spamd answer
    auth = (await authentication.authenticate(raw, envelope, settings=settings)
            if settings.mail_authentication else AuthResults(source="off"))
    spam = (await spamd.score(raw, settings=settings) if needs_score(auth, listing)
            else SpamScore(skipped=True))
    return decide(auth=auth, spam=spam, listing=listing, thresholds=thresholds(settings))


def thresholds(settings: Settings) -> Thresholds:
    return Thresholds(quarantine=settings.spam_quarantine_score,
                      reject=settings.spam_reject_score)
