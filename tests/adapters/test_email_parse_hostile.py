"""Parsing hostile mail: whatever the bytes, `parse_message` returns, quickly, and everything
it returns can be stored (no NUL, no lone surrogate, ids and addresses within their columns)."""

from __future__ import annotations

import time
from dataclasses import fields

import pytest

from adapters.email.bounded_mime import MAX_DEPTH, MAX_PARTS
from adapters.email.parse import MAX_ID, ParsedEmail, parse_message
from domain.text import is_storable


def mail(*headers: bytes, body: bytes = b"Hello\r\n") -> bytes:
    defaults = {b"from": b"From: Ada <ada@example.com>", b"subject": b"Subject: Printer",
                b"message-id": b"Message-ID: <m-1@mail.example>"}
    for header in headers:
        defaults[header.split(b":", 1)[0].lower()] = header
    return b"\r\n".join(defaults.values()) + b"\r\n\r\n" + body


def multipart(*parts: bytes, boundary: bytes = b"BB") -> bytes:
    body = b"".join(b"--" + boundary + b"\r\n" + part + b"\r\n" for part in parts)
    return mail(b"Content-Type: multipart/mixed; boundary=" + boundary,
                body=body + b"--" + boundary + b"--\r\n")


def nested(depth: int) -> bytes:
    """A text part inside `depth` multiparts, each with its own boundary."""
    opening = b"".join(b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i)
                       for i in range(depth))
    closing = b"".join(b"\r\n--b%d--\r\n" % i for i in reversed(range(depth)))
    return (b"From: ada@example.com\r\nSubject: deep\r\nMessage-ID: <deep@mail.example>\r\n"
            + opening + b"Content-Type: text/plain\r\n\r\nthe words\r\n" + closing)


def unstorable(parsed: ParsedEmail) -> list[str]:
    """The fields of a parse that PostgreSQL or JSON could not store."""
    found = []
    for item in fields(parsed):
        value = getattr(parsed, item.name)
        values = value if isinstance(value, list) else [value]
        found += [item.name for v in values if isinstance(v, str) and not is_storable(v)]
    for a in parsed.attachments:
        found += [f"attachment {name}" for name in ("filename", "content_type", "content_id")
                  if getattr(a, name) is not None and not is_storable(getattr(a, name))]
    return found


ATTACHED_PDF = b'Content-Type: application/pdf\r\nContent-Disposition: attachment; filename='


@pytest.mark.parametrize("raw", [
    mail(b"Subject: a\x00b"),
    mail(b"From: A\x00da <ada@example.com>"),
    mail(b"Subject: =?utf-8?q?a=00b?="),
    mail(b"From: =?utf-8?q?A=00da?= <ada@example.com>"),
    mail(b'Content-Type: text/plain; charset="utf-8\x00"'),
    mail(body=b"a \x00 b\r\n"),
    mail(b"Subject: =?utf-16-le?b?ANg=?="),  # a lone surrogate, encoded
    mail(b"To: =?utf-8?q?a=00?= <b\x00@example.com>"),
    mail(b"Message-ID: <a\x00b@mail.example>", b"In-Reply-To: <c\x00@mail.example>"),
    multipart(b"Content-Type: text/plain\r\n\r\nhi", ATTACHED_PDF + b'"a\x00b.pdf"\r\n\r\nxx'),
    multipart(b"Content-Type: text/plain\r\n\r\nhi",
              b"Content-Type: application/pdf\r\nContent-Disposition: attachment; "
              b"filename*=utf-8''a%00b%ED%A0%80.pdf\r\nContent-ID: <c\x00id>\r\n\r\nxx"),
    multipart(b"Content-Type: text/plain; charset=utf-8\r\n\r\n\xed\xa0\x80 \xff"),
], ids=["subject", "from-name", "encoded-word", "from-encoded-word", "charset", "body",
        "surrogate-word", "to", "ids", "filename", "rfc2231-filename", "bad-utf8-body"])
def test_nul_and_surrogates_never_reach_what_is_stored(raw: bytes) -> None:
    parsed = parse_message(raw)

    assert unstorable(parsed) == []
    assert parsed.from_address in ("ada@example.com", None)


def test_nul_is_dropped_from_subject_name_and_filename_and_the_rest_kept() -> None:
    parsed = parse_message(multipart(
        b"Content-Type: text/plain\r\n\r\nhi", ATTACHED_PDF + b'"a\x00b.pdf"\r\n\r\nxx'))
    named = parse_message(mail(b"From: =?utf-8?q?A=00da?= <ada@example.com>",
                               b"Subject: Prin\x00ter"))

    assert [a.filename for a in parsed.attachments] == ["ab.pdf"]
    assert (named.subject, named.from_name) == ("Printer", "Ada")


def test_a_message_id_over_998_characters_becomes_the_same_short_id_wherever_it_appears(
) -> None:
    long_id = b"<" + b"x" * 1200 + b"@mail.example>"
    original = parse_message(mail(b"Message-ID: " + long_id))
    reply = parse_message(mail(b"Message-ID: <r@mail.example>", b"In-Reply-To: " + long_id,
                               b"References: <a@mail.example> " + long_id))

    assert original.message_id is not None and len(original.message_id) <= MAX_ID
    assert reply.in_reply_to == original.message_id
    assert reply.references == ["<a@mail.example>", original.message_id]
    assert any("Message-ID" in d for d in original.defects)


def test_a_from_address_over_320_characters_is_no_sender() -> None:
    parsed = parse_message(mail(b"From: Ada <" + b"a" * 400 + b"@example.com>"))

    assert parsed.from_address is None
    assert parsed.from_name == "Ada"
    assert any(d.startswith("From: no usable address") for d in parsed.defects)


def test_a_thousand_levels_of_nesting_parse_without_recursion_error() -> None:
    parsed = parse_message(nested(1_000))

    assert parsed.subject == "deep" and parsed.message_id == "<deep@mail.example>"
    # Below the bound the structure is unparsed: one opaque attachment holding the rest.
    [opaque] = parsed.attachments
    assert opaque.content_type == "application/octet-stream"
    assert b"the words" in opaque.payload
    assert any("nested too deep" in d for d in parsed.defects)


def test_nesting_within_the_bound_is_read_as_usual() -> None:
    parsed = parse_message(nested(MAX_DEPTH - 1))

    assert parsed.text.strip() == "the words" and parsed.attachments == []


def test_parts_beyond_the_budget_are_left_out_with_a_defect() -> None:
    parts = [b"Content-Type: application/x-part\r\n\r\n%d" % i for i in range(MAX_PARTS + 50)]

    parsed = parse_message(multipart(b"Content-Type: text/plain\r\n\r\nhi", *parts))

    assert len(parsed.attachments) == MAX_PARTS - 1
    assert parsed.text.strip() == "hi"
    assert any("left out" in d for d in parsed.defects)


def test_a_subject_with_encoded_crlf_is_one_line() -> None:
    parsed = parse_message(mail(b"Subject: =?utf-8?q?hi=0D=0ABcc:_evil@example.com?="))

    assert parsed.subject == "hi Bcc: evil@example.com"


def test_a_media_type_longer_than_its_column_is_read_as_octet_stream() -> None:
    parsed = parse_message(multipart(b"Content-Type: text/plain\r\n\r\nhi",
                                     b"Content-Type: application/" + b"x" * 300 + b"\r\n\r\nyy"))

    assert [a.content_type for a in parsed.attachments] == ["application/octet-stream"]


HUGE = [
    mail(b"Subject: " + b"word " * 200_000),
    mail(b"To: " + b'"\\a' * 40_000 + b'" <x@example.com>'),
    mail(b"From: " + b"(" * 5_000 + b"x" + b")" * 5_000 + b" <a@example.com>"),
    mail(b"References: " + b" ".join(b"<r%d@x.example>" % i for i in range(50_000))),
    multipart(*[b"Content-Type: application/x; " + b"a=b; " * 5_000 + b"\r\n\r\nx"] * 20),
]


@pytest.mark.parametrize("raw", HUGE, ids=["subject", "to", "comments", "references",
                                            "parameters"])
def test_huge_headers_are_cut_and_parsed_in_bounded_time(raw: bytes) -> None:
    started = time.perf_counter()
    parsed = parse_message(raw)

    assert time.perf_counter() - started < 5  # before the bound: 20 to 60 s each
    assert unstorable(parsed) == []
