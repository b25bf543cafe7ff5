"""The real-world corpus (tests/fixtures/email_corpus, a copy of ../shared/corpus/email): parse
all of it, classify robots right."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from adapters.email.parse import ParsedEmail, parse_message
from adapters.email.quotes import split_reply

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "email_corpus"
if not CORPUS.is_dir():
    raise RuntimeError(f"email corpus missing at {CORPUS}")  # it is part of the repo

ALL_EML = sorted(CORPUS.rglob("*.eml"))
SISIMAI = CORPUS / "sisimai" / "maildir"
BOUNCES = (
    sorted(SISIMAI.rglob("[lr]host-*.eml"))
    + sorted((CORPUS / "mikel-mail" / "multipart_report_emails").glob("*.eml"))
    + [CORPUS / "chatwoot" / "bounced_gmail.eml", CORPUS / "chatwoot" / "bounced_with_no_from.eml"]
)
AUTO_REPLIES = sorted(SISIMAI.glob("bsd/rfc3834-*.eml")) + [
    CORPUS / "chatwoot" / "auto_reply.eml",
    CORPUS / "chatwoot" / "auto_reply_with_auto_submitted.eml",
]
HUMAN_REPLIES = (
    sorted((CORPUS / "talon" / "standard_replies").glob("*.eml"))
    + [
        CORPUS / "chatwoot" / name
        for name in (
            "reply.eml",
            "reply_cc.eml",
            "in_reply_to.eml",
            "mail_with_quote.eml",
            "references.eml",
            "only_text.eml",
            "only_html.eml",
            "support.eml",
        )
    ]
    + sorted(SISIMAI.glob("not/is-not-bounce-*.eml"))
)


def parse(path: Path) -> ParsedEmail:
    return parse_message(path.read_bytes())


def rel(path: Path) -> str:
    return str(path.relative_to(CORPUS))


def squash(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("path", ALL_EML, ids=rel)
def test_every_message_parses(path: Path) -> None:
    msg = parse(path)
    assert isinstance(msg.text, str) and isinstance(msg.subject, str)
    assert msg.date is None or msg.date.tzinfo is not None


@pytest.mark.parametrize("path", BOUNCES, ids=rel)
def test_bounces_are_bounces_and_automatic(path: Path) -> None:
    msg = parse(path)
    assert msg.is_bounce and msg.is_automatic, msg.classification
    assert not msg.classification.is_feedback_report


@pytest.mark.parametrize(
    ("name", "original_id"),
    [
        (
            "chatwoot/bounced_gmail.eml",
            "<conversation/93775311-9416-4428-964b-862001f8a8b2/messages/27855337@gmail.com>",
        ),
        (
            "sisimai/maildir/bsd/rfc3464-01.eml",
            "<E1C50F1B-1C83-4820-BC36-AC6FBFBE8568@example.org>",
        ),
        (
            "sisimai/maildir/mac/lhost-sendmail-01.eml",
            "<E1C50F1B-1C83-4820-BC36-AC6FBFBE8568@example.org>",
        ),
        (
            "sisimai/maildir/bsd/lhost-amazonses-01.eml",
            "<000001321defbd2a-788e31c8-2be1-422f-a8d4-cf7765cc9ed7-000000@email.amazonses.com>",
        ),
        (
            "sisimai/maildir/bsd/lhost-qmail-01.eml",  # text-only bounce, headers pasted in body
            "<000000000.9999999999999.JavaMail.postmaster@mailhub>",
        ),
        (
            "sisimai/maildir/bsd/rhost-google-01.eml",  # broken boundary swallows rfc822-headers
            "<201305110000000000000.r4B003v000000@mail4.example.co.jp>",
        ),
        (
            "mikel-mail/multipart_report_emails/report_530.eml",
            "<200712232303.lBNN3jDq002941@mail12.rrrr.com.au>",
        ),
    ],
)
def test_bounce_names_the_original_message_id(name: str, original_id: str) -> None:
    msg = parse(CORPUS / name)
    assert msg.bounced_message_ids == [original_id]
    assert msg.message_id not in msg.bounced_message_ids


EXIM_01 = [p for p in BOUNCES if p.name == "lhost-exim-01.eml"]


@pytest.mark.parametrize("path", EXIM_01, ids=rel)
def test_nested_bounce_lists_every_returned_id(path: Path) -> None:
    # Exim returned an earlier bounce: both its id and the original's are candidates.
    ids = parse(path).bounced_message_ids
    assert ids == ["<E1P1ce6-000Egt-GZ@e1.example.org>", "<hogeuoiuadogalhg.dg9i09@example.jp>"]


@pytest.mark.parametrize("path", AUTO_REPLIES, ids=rel)
def test_auto_replies_are_automatic_not_bounces(path: Path) -> None:
    msg = parse(path)
    assert msg.is_automatic and not msg.is_bounce, msg.classification


def test_header_rule_beats_subject_for_rfc3834() -> None:
    reasons = {p.name: parse(p).classification for p in AUTO_REPLIES}
    assert reasons["rfc3834-01.eml"].reason == "auto-submitted"
    assert reasons["rfc3834-02.eml"].reason == "x-auto-response-suppress"
    assert reasons["rfc3834-03.eml"].weak  # only "Auto reply:" in the subject
    assert reasons["auto_reply.eml"].reason == "x-autoreply"


def test_arf_is_feedback_report_not_bounce() -> None:
    msg = parse(SISIMAI / "bsd" / "arf-01.eml")
    assert msg.classification.is_feedback_report and msg.is_automatic
    assert not msg.is_bounce


@pytest.mark.parametrize("path", HUMAN_REPLIES, ids=rel)
def test_human_mail_is_neither_automatic_nor_bounce(path: Path) -> None:
    msg = parse(path)
    assert not msg.is_automatic and not msg.is_bounce, msg.classification


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("japanese.eml", "かきくえこ"),
        ("japanese_iso_2022.eml", "すみません。"),
        ("japanese_shift_jis.eml", "このメールはテスト用のメールです。"),
        ("ks_c_5601-1987.eml", "스티해"),
    ],
)
def test_east_asian_charsets_decode(name: str, expected: str) -> None:
    msg = parse(CORPUS / "mikel-mail" / "multi_charset" / name)
    assert expected in msg.text
    assert "\ufffd" not in msg.text


def test_encoded_attachment_filename_and_subject() -> None:
    msg = parse(CORPUS / "mikel-mail" / "multi_charset" / "japanese_attachment.eml")
    assert [a.filename for a in msg.attachments] == ["てすと.txt"]
    long_name = parse(CORPUS / "mikel-mail" / "multi_charset" / "japanese_attachment_long_name.eml")
    assert long_name.subject.startswith("まみむめも")


@pytest.mark.parametrize("name", ["only_html.eml", "notification.eml", "support_1.eml"])
def test_html_only_mail_yields_readable_text(name: str) -> None:
    msg = parse(CORPUS / "chatwoot" / name)
    assert msg.html and msg.text.strip()
    assert not re.search(r"<\s*/?\s*(p|div|br|span|table|a)\b", msg.text, re.IGNORECASE)


def test_notification_html_text_content() -> None:
    text = parse(CORPUS / "chatwoot" / "notification.eml").text
    assert "A new conversation has been assigned to you" in text


def test_attachments_listed_with_types_and_sizes() -> None:
    msg = parse(CORPUS / "chatwoot" / "only_attachments.eml")
    [att] = msg.attachments
    assert att.content_type == "image/jpeg" and att.size == len(att.payload) == 203542
    pdf = parse(CORPUS / "chatwoot" / "email_with_inline_pdf.eml").attachments
    assert [(a.filename, a.content_type, a.size, a.inline) for a in pdf] == [
        ("dummy.pdf", "application/pdf", 13264, True)
    ]


def test_attachments_without_filename_have_none() -> None:
    msg = parse(CORPUS / "chatwoot" / "attachments_without_filename.eml")
    assert [(a.filename, a.content_type, a.content_id) for a in msg.attachments] == [
        (None, "image/png", "f_lh8nwk8l3"),
        (None, "image/png", "f_lh8nwk8l2"),
    ]


def test_cid_image_without_disposition_is_inline() -> None:
    msg = parse(CORPUS / "chatwoot" / "cid_inline_images_without_disposition.eml")
    [image] = msg.attachments
    assert image.inline and image.content_id == "image001.jpg@test"
    assert image.content_type == "image/jpeg" and image.size > 0


def test_multiple_attachments_all_listed() -> None:
    msg = parse(CORPUS / "chatwoot" / "multiple_attachments.eml")
    assert len(msg.attachments) >= 4
    assert all(a.filename and a.content_type.startswith("image/") for a in msg.attachments[:4])


@pytest.mark.parametrize("name", ["iphone", "sparrow"])
def test_talon_reply_text_matches_expected(name: str) -> None:
    folder = CORPUS / "talon" / "standard_replies"
    reply = split_reply(parse(folder / f"{name}.eml").text)
    expected = (folder / f"{name}_reply_text").read_text()
    # talon's oracle keeps the signature inside the reply; we return it separately.
    assert squash(f"{reply.new_text}\n{reply.signature}") == squash(expected)
    assert "Hi" in reply.quoted


@pytest.mark.parametrize(
    "path", sorted((CORPUS / "talon" / "standard_replies").glob("*.eml")), ids=rel
)
def test_talon_standard_replies_new_text_is_hello(path: Path) -> None:
    msg = parse(path)
    reply = split_reply(msg.text)
    assert squash(reply.new_text) == "Hello"
    assert reply.original == msg.text


@pytest.mark.parametrize("path", sorted((CORPUS / "mail-parser-reply").glob("*.txt")), ids=rel)
def test_split_reply_never_loses_text(path: Path) -> None:
    text = path.read_text(encoding="utf-8", errors="replace")
    reply = split_reply(text)
    assert reply.original == text
    assert bool(reply.new_text) == bool(text.strip())
