"""The resolution mail: resolving a ticket mails its customer one "how did we do?" on the
ticket's thread (the real SMTP sink), and its links rate the resolution on the rating page:
opening a link records nothing, sending the page does, once."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from tests.api.helpers import TICKETS, as_
from tests.api.test_email_outbound import arrived, desk, open_and_answer, sink  # noqa: F401
from tests.mail_sink import listening

LINK = re.compile(r"https?://\S+/help/rate/\S+")


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


async def test_resolving_mails_a_rating_question_whose_link_rates_once(desk, sink):  # noqa: F811
    with listening(sink):
        async with desk() as room:
            ref, _ = await open_and_answer(room)
            await arrived(sink, 1)
            for status in ("in_progress", "resolved"):
                changed = await room.http.post(f"{TICKETS}/{ref}/status", headers=room.agent,
                                               json={"status": status})
                assert changed.status_code == 200, changed.text
            await arrived(sink, 2)
            answer, resolved = sink.messages()

            # On the ticket's thread, marked automatic, with a Good and a Bad link.
            assert f"[{ref}]" in resolved["Subject"]
            assert resolved["In-Reply-To"] == "<order-1@mail.example>"
            assert answer["Message-ID"] in resolved["References"].split()
            assert resolved["Auto-Submitted"] == "auto-generated"
            text = resolved.get_content()
            assert "was resolved" in text and "How did we do?" in text
            good, bad = LINK.findall(text)
            assert good.endswith("?r=good") and bad.endswith("?r=bad")
            # The links are the customer's: the conversation agents read does not hold them.
            listed = (await room.http.get(f"{TICKETS}/{ref}/messages")).json()["items"]
            assert "was resolved" in listed[-1]["body"]
            assert all("/help/rate/" not in m["body"] for m in listed)

            # Opening a link (a person, or a mail scanner) asks; it records nothing.
            page = await room.http.get(path_of(bad))
            assert page.status_code == 200 and "How did we do?" in page.text
            assert re.search(r'value="bad"\s+required checked', page.text)
            assert "script-src 'self'" in page.headers["content-security-policy"]
            assert (await room.http.get(f"{TICKETS}/{ref}")).json()["satisfaction"] is None

            unchosen = await room.http.post(urlsplit(bad).path, data={"comment": "Hm."})
            assert unchosen.status_code == 422 and "Please choose Good or Bad" in unchosen.text
            assert ">Hm.</textarea>" in unchosen.text  # kept, to send again

            form = {"rating": "bad", "comment": "Slow."}
            sent = await room.http.post(urlsplit(bad).path, data=form)
            assert sent.status_code == 200, sent.text
            assert "Thank you" in sent.text
            ticket = (await room.http.get(f"{TICKETS}/{ref}")).json()
            assert (ticket["satisfaction"]["rating"], ticket["satisfaction"]["comment"]) == (
                "bad", "Slow.")
            again = await room.http.post(urlsplit(good).path, data={"rating": "good"})
            assert again.status_code == 409 and "Already rated" in again.text
            assert "You rated this" in (await room.http.get(path_of(good))).text

            forged = urlsplit(good).path[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")
            assert (await room.http.get(forged)).status_code == 404
            # Staff do not rate for the customer, whatever token they hold.
            refused = await room.http.post(f"{TICKETS}/{ref}/satisfaction",
                                           headers=as_(None), json={"rating": "good"})
            assert refused.status_code == 403
            assert len(sink.received) == 2  # nothing else was mailed
