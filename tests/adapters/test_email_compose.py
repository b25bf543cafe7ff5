"""The mail we send: subject tagging, the plus-tagged Reply-To, References trimming, and the
robot headers only automatic mail carries. Parsed back with our own parser."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.email.compose import (
    MAX_REFERENCES,
    OutgoingMail,
    UnsendableMail,
    compose,
    tagged_address,
    tagged_subject,
    trimmed_references,
)
from adapters.email.parse import parse_message
from domain.threading import subject_ref


@pytest.mark.parametrize(("subject", "expected"), [
    ("Printer on fire", "Re: Printer on fire [TKT-12]"),
    ("Re: Printer on fire", "Re: Printer on fire [TKT-12]"),
    ("AW: RE: Fwd: Printer on fire [TKT-12]", "Re: Printer on fire [TKT-12]"),
    ("Re: [tkt-12]Printer on fire", "Re: Printer on fire [TKT-12]"),
    ("", "Re: (no subject) [TKT-12]"),
])
def test_a_reply_subject_has_one_prefix_and_one_tag(subject, expected):
    assert tagged_subject(subject, "TKT-12", reply=True) == expected
    assert subject_ref(expected) == "TKT-12"


def test_an_automatic_mail_subject_is_not_a_reply():
    assert tagged_subject("Re: Printer", "TKT-3", reply=False) == "Printer [TKT-3]"


def test_the_reply_to_address_carries_the_ticket():
    assert tagged_address("support@acme.example", "TKT-9") == "support+TKT-9@acme.example"
    assert tagged_address("support+eu@acme.example", "TKT-9") == "support+TKT-9@acme.example"


def test_long_reference_chains_keep_the_root_and_the_latest():
    chain = [f"<m{i}@x>" for i in range(50)]
    kept = trimmed_references(chain)
    assert len(kept) == MAX_REFERENCES
    assert kept[0] == "<m0@x>" and kept[-1] == "<m49@x>"
    assert trimmed_references(["<a@x>", "<a@x>", "<b@x>"]) == ["<a@x>", "<b@x>"]


def outgoing(**overrides: object) -> OutgoingMail:
    values: dict = dict(
        message_id="<abc@acme.example>", public_ref="TKT-7", ticket_subject="Où est ma commande ?",
        body="Bonjour Zoë,\n\nVotre colis part demain.\n", to_address="zoe@example.fr",
        to_name="Zoë Dupré", from_address="support@acme.example", from_name="Ana (Acme)",
        date=datetime(2026, 11, 21, 9, 30, tzinfo=UTC), in_reply_to="<q@example.fr>",
        references=["<q@example.fr>"],
    )
    return OutgoingMail(**(values | overrides))


def test_a_person_reply_parses_back_to_what_was_meant():
    raw = bytes(compose(outgoing()))
    parsed = parse_message(raw)

    assert parsed.message_id == "<abc@acme.example>"
    assert parsed.in_reply_to == "<q@example.fr>" and parsed.references == ["<q@example.fr>"]
    assert parsed.subject == "Re: Où est ma commande ? [TKT-7]"
    assert (parsed.from_name, parsed.from_address) == ("Ana (Acme)", "support@acme.example")
    assert parsed.to == ["zoe@example.fr"]
    assert "Votre colis part demain." in parsed.text
    assert not parsed.is_automatic
    assert b"Auto-Submitted" not in raw and b"Reply-To: \"Ana (Acme)\" <support+TKT-7@" in raw


def test_an_acknowledgement_says_it_is_automatic():
    parsed = parse_message(bytes(compose(outgoing(automatic=True))))
    assert parsed.is_automatic
    assert parsed.subject == "Où est ma commande ? [TKT-7]"


INJECTION = "hi\r\nBcc: evil@example.com"


def header_names(raw: bytes) -> list[str]:
    head = raw.split(b"\r\n\r\n", 1)[0]
    return [line.split(b":", 1)[0].decode() for line in head.split(b"\r\n")
            if line and line[:1] not in (b" ", b"\t")]


@pytest.mark.parametrize("overrides", [
    {"ticket_subject": INJECTION},
    {"ticket_subject": "hi\nBcc: evil@example.com\u2028X-Evil: 1"},
    {"to_name": INJECTION},
    {"from_name": f"Ana {INJECTION} (Acme)"},
    {"ticket_subject": "hi\x00\rBcc: evil@example.com"},
    {"in_reply_to": f"<q@example.fr>{INJECTION}", "references": [f"<r@x>\r\n{INJECTION}"]},
], ids=["subject", "subject-lf-and-u2028", "customer-name", "agent-name", "nul-cr",
        "ids"])
def test_no_value_can_add_a_header(overrides):
    raw = bytes(compose(outgoing(**overrides)))

    assert sorted(header_names(raw)) == sorted(
        ["From", "To", "Reply-To", "Subject", "Date", "Message-ID", "Content-Type",
         "Content-Transfer-Encoding", "MIME-Version"]
        + (["In-Reply-To", "References"] if "in_reply_to" not in overrides else []))
    assert b"\x00" not in raw
    parsed = parse_message(raw)
    assert parsed.to == ["zoe@example.fr"] and parsed.cc == []


def test_an_injected_subject_goes_out_on_one_line():
    parsed = parse_message(bytes(compose(outgoing(ticket_subject=INJECTION))))

    assert parsed.subject == "Re: hi Bcc: evil@example.com [TKT-7]"


@pytest.mark.parametrize("to_address", [
    "zoe@example.fr, evil@example.com", "zoe@example.fr\r\nBcc: evil@example.com",
    "zoe@exa\x00mple.fr", "not an address",
])
def test_an_address_that_is_not_exactly_one_mailbox_is_unsendable(to_address):
    with pytest.raises(UnsendableMail):
        compose(outgoing(to_address=to_address))
