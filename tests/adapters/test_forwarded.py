"""Forwards as Gmail, Outlook and Apple Mail write them: who the original sender was."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from adapters.email.forwarded import forwarded_original, is_forward, without_forward_prefix
from adapters.email.parse import parse_message

AGENT = "grace@helpdesk.example"

GMAIL = """Can you take this one?

---------- Forwarded message ---------
From: Ada Lovelace <ada@example.com>
Date: Mon, 3 Jun 2024 at 10:12
Subject: My order is wrong
To: Grace Hopper <grace@helpdesk.example>


I got an L, I ordered an M.
"""

GMAIL_HTML = """<div dir="ltr">Can you take this one?<br><br><div class="gmail_quote">
<div dir="ltr" class="gmail_attr">---------- Forwarded message ---------<br>
From: <strong class="gmail_sendername" dir="auto">Ada Lovelace</strong>
<span dir="auto">&lt;<a href="mailto:ada@example.com">ada@example.com</a>&gt;</span><br>
Date: Mon, 3 Jun 2024 at 10:12<br>Subject: My order is wrong<br>
To: &lt;<a href="mailto:grace@helpdesk.example">grace@helpdesk.example</a>&gt;<br></div>
<br><br><div dir="ltr">I got an L, I ordered an M.</div></div></div>"""

OUTLOOK = """FYI

-----Original Message-----
From: Lovelace, Ada [mailto:Ada.Lovelace@Example.com]
Sent: Monday, June 3, 2024 10:12 AM
To: Hopper, Grace <grace@helpdesk.example>
Subject: My order is wrong

I got an L, I ordered an M.
"""

OUTLOOK_NEW = """FYI

________________________________
From: Ada Lovelace <ada@example.com>
Sent: Monday, June 3, 2024 10:12
To: Grace Hopper <grace@helpdesk.example>
Subject: My order is wrong

I got an L, I ordered an M.
"""

APPLE = """Sent to the desk.

Begin forwarded message:

> From: Ada Lovelace <ada@example.com>
> Subject: My order is wrong
> Date: 3 June 2024 at 10:12:00 CEST
> To: Grace Hopper <grace@helpdesk.example>
>
> I got an L, I ordered an M.
"""

GMAIL_BOLD = """---------- Forwarded message ---------
*From:* Ada Lovelace <ada@example.com>
*Date:* Mon, 3 Jun 2024 at 10:12
*Subject:* My order is wrong
"""


def forward(body: str, subject: str = "Fwd: My order is wrong", html: str | None = None,
            attached: EmailMessage | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = f"Grace <{AGENT}>", "support@desk.example", subject
    msg["Message-ID"] = "<fwd-1@helpdesk.example>"
    msg.set_content(body)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    if attached is not None:
        msg.add_attachment(attached)  # message/rfc822, the original inline (Outlook's way)
    return bytes(msg)


def original_mail() -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"] = "Ada Lovelace <ada@example.com>", AGENT
    msg["Subject"], msg["Message-ID"] = "My order is wrong", "<order@example.com>"
    msg.set_content("I got an L, I ordered an M.")
    return msg


@pytest.mark.parametrize("body", [GMAIL, OUTLOOK_NEW, APPLE, GMAIL_BOLD],
                         ids=["gmail", "outlook-new", "apple-mail", "gmail-bold"])
def test_an_inline_forward_names_its_original_sender(body):
    mail = parse_message(forward(body))

    found = forwarded_original(mail)

    assert is_forward(mail)
    assert found is not None
    assert (found.address, found.name, found.subject) == (
        "ada@example.com", "Ada Lovelace", "My order is wrong")


def test_outlooks_mailto_form_gives_the_address_lowercased():
    found = forwarded_original(parse_message(forward(OUTLOOK, subject="FW: My order is wrong")))

    assert found is not None
    assert (found.address, found.name) == ("ada.lovelace@example.com", "Lovelace, Ada")


def test_an_html_only_forward_is_read_from_its_text_rendering():
    msg = EmailMessage()
    msg["From"], msg["Subject"] = AGENT, "Fwd: My order is wrong"
    msg.set_content(GMAIL_HTML, subtype="html")

    found = forwarded_original(parse_message(bytes(msg)))

    assert found is not None and found.address == "ada@example.com"


def test_a_forward_as_attachment_gives_the_original_mail_itself():
    mail = parse_message(forward("See attached.", subject="WG: My order",
                                 attached=original_mail()))

    found = forwarded_original(mail)

    assert is_forward(mail)
    assert found is not None
    assert (found.address, found.name, found.subject, found.text) == (
        "ada@example.com", "Ada Lovelace", "My order is wrong", "I got an L, I ordered an M.")


@pytest.mark.parametrize("body", [
    "Fwd only in the subject, nothing forwarded.",
    "---------- Forwarded message ---------\nDate: today\nno sender line at all\n",
    "-----Original Message-----\nFrom: someone without an address\n",
], ids=["no-block", "no-from", "no-address"])
def test_an_unreadable_forward_gives_no_original(body):
    assert forwarded_original(parse_message(forward(body))) is None


def test_a_from_line_far_below_the_marker_is_someones_text_not_the_header():
    body = "-----Original Message-----\n" + "text\n" * 20 + "From: x@example.com\n"

    assert forwarded_original(parse_message(forward(body))) is None


def test_plain_mail_is_no_forward():
    mail = parse_message(forward("Hello, my order is wrong.", subject="My order"))

    assert not is_forward(mail)
    assert forwarded_original(mail) is None


@pytest.mark.parametrize(("subject", "stripped"), [
    ("Fwd: My order", "My order"), ("FW: Fwd: My order", "My order"),
    ("WG: My order", "My order"), ("TR: My order", "My order"), ("Re: My order", "Re: My order"),
])
def test_the_forward_prefix_is_dropped_from_the_subject(subject, stripped):
    assert without_forward_prefix(subject) == stripped
