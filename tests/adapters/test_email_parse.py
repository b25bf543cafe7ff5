"""Parsing hand-built messages: encodings, garbled headers, ids, line endings."""

from __future__ import annotations

from datetime import UTC, datetime

from adapters.email.classify import classify
from adapters.email.parse import decode_bytes, message_ids, parse_message
from adapters.email.quotes import split_reply


def raw(*headers: str, body: str = "Hello\n", eol: str = "\n") -> bytes:
    lines = [*headers, "", body]
    return eol.join(lines).encode("utf-8")


def test_subject_rfc2047_base64_utf8() -> None:
    msg = parse_message(raw("Subject: =?UTF-8?B?44G+44G/44KA44KB44KC?=", "From: a@example.com"))
    assert msg.subject == "まみむめも"


def test_subject_rfc2047_q_encoding_with_underscores() -> None:
    msg = parse_message(raw("Subject: =?utf-8?Q?Caf=C3=A9_cr=C3=A8me?= ok", "From: a@example.com"))
    assert msg.subject == "Café crème ok"


def test_subject_with_unknown_charset_falls_back_to_raw_text() -> None:
    msg = parse_message(raw("Subject: =?x-bogus?B?####?=", "From: a@example.com"))
    assert msg.subject == "=?x-bogus?B?####?="
    assert "Subject: undecodable encoded-word" in msg.defects


def test_garbled_address_header_that_makes_policy_default_raise() -> None:
    # On Python 3.11 `str(msg["To"])` raises IndexError for a lone "<".
    msg = parse_message(raw("From: Ann <ann@example.com>", "To: <", "Message-ID: <["))
    assert msg.from_address == "ann@example.com"
    assert msg.to == []
    assert msg.message_id is None
    assert any(d.startswith("To:") for d in msg.defects)
    assert any(d.startswith("Message-ID:") for d in msg.defects)


def test_missing_message_id_is_none() -> None:
    msg = parse_message(raw("From: a@example.com", "Subject: hi"))
    assert msg.message_id is None
    assert msg.in_reply_to is None
    assert msg.references == []


def test_message_id_is_normalized_to_angle_brackets() -> None:
    msg = parse_message(raw("From: a@example.com", "Message-ID:   <abc@example.com>  "))
    assert msg.message_id == "<abc@example.com>"


def test_references_deduplicated_in_order_across_folded_whitespace() -> None:
    headers = (
        "From: a@example.com",
        "In-Reply-To: <two@x.org> <one@x.org>",
        "References: <one@x.org>\n\t<two@x.org>  <one@x.org>\n <three@x.org>",
    )
    msg = parse_message(raw(*headers))
    assert msg.references == ["<one@x.org>", "<two@x.org>", "<three@x.org>"]
    assert msg.in_reply_to == "<two@x.org>"


def test_message_ids_accept_bare_ids_and_reject_garbage() -> None:
    assert message_ids("a@b.org, c@d.org") == ["<a@b.org>", "<c@d.org>"]
    assert message_ids("<@> <[") == []


def test_date_is_timezone_aware_and_garbage_date_is_none() -> None:
    good = parse_message(raw("From: a@example.com", "Date: Tue, 3 Apr 2012 16:23:59 -0000"))
    assert good.date == datetime(2012, 4, 3, 16, 23, 59, tzinfo=UTC)
    bad = parse_message(raw("From: a@example.com", "Date: the day after tomorrow"))
    assert bad.date is None


def test_crlf_lf_and_cr_only_line_endings_parse_alike() -> None:
    headers = ("From: Ann <ann@example.com>", "Subject: endings", "Message-ID: <e@x.org>")
    body = "line one\nline two\n"
    parsed = [
        parse_message(raw(*headers, body=body.replace("\n", eol), eol=eol))
        for eol in ("\r\n", "\n", "\r")
    ]
    for msg in parsed:
        assert msg.subject == "endings"
        assert msg.message_id == "<e@x.org>"
        assert msg.from_address == "ann@example.com"
        assert "line one" in msg.text and "line two" in msg.text


def test_mislabelled_charset_falls_back_without_raising() -> None:
    text, defect = decode_bytes("naïve".encode("cp1252"), "utf-8")
    assert text == "naïve"
    assert defect is not None
    text, defect = decode_bytes(b"\xff\xfe", "no-such-charset")
    assert text and defect


def test_html_only_mail_is_rendered_to_text() -> None:
    html = "<html><style>p{}</style><body><p>Hello&nbsp;<b>there</b></p><p>Bye</p></body></html>"
    msg = parse_message(raw("From: a@example.com", "Content-Type: text/html", body=html))
    assert msg.html is not None
    assert "Hello there" in msg.text and "Bye" in msg.text
    assert "<" not in msg.text and "p{}" not in msg.text


def test_attachment_payload_is_kept_but_not_in_repr() -> None:
    body = (
        "--b\nContent-Type: text/plain\n\nsee file\n"
        "--b\nContent-Type: application/pdf\nContent-Disposition: attachment; filename=a.pdf\n"
        "Content-Transfer-Encoding: base64\n\nJVBERi0=\n--b--\n"
    )
    msg = parse_message(
        raw("From: a@example.com", 'Content-Type: multipart/mixed; boundary="b"', body=body)
    )
    [attachment] = msg.attachments
    assert (attachment.filename, attachment.size, attachment.inline) == ("a.pdf", 5, False)
    assert attachment.payload == b"%PDF-"
    assert "payload" not in repr(attachment)


def test_auto_submitted_no_is_a_human() -> None:
    msg = parse_message(raw("From: a@example.com", "Auto-Submitted: no"))
    assert not msg.is_automatic


def test_subject_only_auto_reply_is_weak_and_re_prefix_is_human() -> None:
    auto = parse_message(raw("From: a@example.com", "Subject: Out of Office: back Monday"))
    assert auto.is_automatic and auto.classification.weak
    human = parse_message(raw("From: a@example.com", "Subject: Re: Automatic reply: hi"))
    assert not human.is_automatic


def test_classify_accepts_a_stdlib_message() -> None:
    import email
    from email import policy

    msg = email.message_from_bytes(
        raw("From: a@example.com", "Precedence: bulk"), policy=policy.default
    )
    assert classify(msg).reason == "precedence"


def test_split_reply_keeps_original_and_moves_bottom_quote() -> None:
    text = "On Mon, Ann wrote:\n> Hi\nHello back\n"
    reply = split_reply(text)
    assert reply.new_text == "Hello back"
    assert "> Hi" in reply.quoted
    assert reply.original == text


def test_split_reply_of_empty_text() -> None:
    assert split_reply("  \n").new_text == ""


def test_nul_in_charset_label_does_not_raise() -> None:
    # Found by mutating the corpus: str.decode raises ValueError, not LookupError, here.
    msg = parse_message(raw("From: a@example.com", "Content-Type: text/plain; charset=utf\x00-8"))
    assert "Hello" in msg.text
