"""Cutting a text as Twilio counts it: GSM-7 segments of 160 (153 per part), extension
characters costing two, UCS-2 segments of 70 (67 per part) as soon as one character is
outside GSM-7, and bodies over 1,600 characters split between sentences."""

from __future__ import annotations

import pytest

from domain.sms_delivery import PartDelivery, message_delivery, moves_forward
from domain.sms_numbers import is_e164, number_of_stand_in
from domain.sms_segments import count_segments, split_for_twilio


@pytest.mark.parametrize(("text", "encoding", "segments"), [
    ("", "GSM-7", 1),
    ("a" * 160, "GSM-7", 1),
    ("a" * 161, "GSM-7", 2),
    ("a" * 306, "GSM-7", 2),
    ("a" * 307, "GSM-7", 3),
    ("Café à Zürich @ £5", "GSM-7", 1),  # all in the GSM-7 basic set
    ("€" * 80, "GSM-7", 1),  # extension characters cost two: 160
    ("€" * 81, "GSM-7", 2),
    ("a" * 152 + "€" + "a" * 10, "GSM-7", 2),  # the escape pair is not split across parts
    ("ł" * 70, "UCS-2", 1),
    ("ł" * 71, "UCS-2", 2),
    ("a" * 159 + "’", "UCS-2", 3),  # one curly quote: the whole text goes as UCS-2
    ("😀" * 35, "UCS-2", 1),  # an emoji is two UTF-16 units
    ("😀" * 36, "UCS-2", 2),
    # 134 units would fill two parts of 67 exactly, but no emoji's pair is split: three.
    ("aa" + "😀" * 66, "UCS-2", 3),
])
def test_segments_are_counted_as_twilio_counts_them(text, encoding, segments):
    counted = count_segments(text)

    assert (counted.encoding, counted.segments) == (encoding, segments)


def test_a_short_reply_is_one_message():
    assert split_for_twilio("  Thanks, it ships today.\n") == ["Thanks, it ships today."]


def test_a_long_reply_is_cut_at_paragraphs_first():
    first, second = "First paragraph. " * 60, "Second paragraph. " * 40

    parts = split_for_twilio(first.strip() + "\n\n" + second.strip())

    assert parts == [first.strip(), second.strip()]


def test_a_paragraph_longer_than_a_message_is_cut_between_sentences():
    text = " ".join(f"Sentence number {i} is here." for i in range(120))

    parts = split_for_twilio(text)

    assert len(parts) == 3 and all(len(p) <= 1600 for p in parts)
    assert all(p.endswith("here.") for p in parts)
    assert " ".join(parts) == text


def test_a_run_without_spaces_is_cut_hard_at_the_limit():
    parts = split_for_twilio("x" * 3500)

    assert [len(p) for p in parts] == [1600, 1600, 300]


def test_a_status_only_moves_forward_and_an_ending_is_final():
    assert moves_forward("queued", "sent") and moves_forward("sent", "delivered")
    assert not moves_forward("delivered", "sent")  # a late callback
    assert not moves_forward("delivered", "failed") and not moves_forward("failed", "delivered")
    assert not moves_forward("sent", "read-by-martians")


def test_a_reply_in_parts_is_as_far_as_its_slowest_part_and_fails_with_any():
    assert message_delivery([PartDelivery(1, 2, "delivered", None)]) is None  # part 2 unsent
    both = [PartDelivery(1, 2, "delivered", None), PartDelivery(2, 2, "sent", None)]
    assert message_delivery(both) is not None
    assert message_delivery(both).status == "sent"  # type: ignore[union-attr]
    failed = message_delivery([PartDelivery(1, 2, "delivered", None),
                               PartDelivery(2, 2, "undelivered", 30006)])
    assert failed is not None and failed.status == "undelivered"
    assert failed.error == "part 2 of 2: undelivered (Twilio error 30006, landline or " \
                           "unreachable carrier)"


def test_numbers_are_e164_and_a_stand_in_names_its_number():
    assert is_e164("+447700900123") and not is_e164("447700900123")
    assert not is_e164("whatsapp:+447700900123") and not is_e164("+0123")
    assert number_of_stand_in("sms.447700900123@no-mail.example") == "+447700900123"
    assert number_of_stand_in("slack.u0ada@no-mail.example") is None
    assert number_of_stand_in("ada@example.com") is None
