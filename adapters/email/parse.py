"""Turn raw RFC 5322 bytes into a `ParsedEmail` that never raises on bad input.

Intake must not lose a message because one header is garbled, so every header and
every part is read through a guard: on error we fall back to the raw value and record
a defect string instead.
"""

from __future__ import annotations

import email
import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.utils import getaddresses, parseaddr, parsedate_to_datetime

from bs4 import BeautifulSoup

from adapters.email.classify import Classification, bounced_message_ids, classify

# local@domain with something on both sides; "<@>" or "<[" are garbage, not ids.
_MSG_ID = re.compile(r"<\s*([^<>\s@]+@[^<>\s@]+)\s*>")

_MSG_ID_BARE = re.compile(r"(?<![<\w.@-])([\w.$%+=/!#&'*?^`{|}~-]+@[\w.-]+\w)")


@dataclass(frozen=True)
class Attachment:
    filename: str | None
    content_type: str
    size: int
    content_id: str | None
    inline: bool
    sha256: str
    payload: bytes = field(repr=False)


@dataclass(frozen=True)
class ParsedEmail:
    message_id: str | None
    in_reply_to: str | None
    references: list[str]
    subject: str
    from_address: str | None
    from_name: str | None
    to: list[str]
    cc: list[str]
    date: datetime | None
    text: str
    html: str | None
    attachments: list[Attachment]
    defects: list[str]
    classification: Classification
    bounced_message_ids: list[str]
    # Delivered-To and X-Original-To (every occurrence): where the mail server delivered it,
    # which names the plus-address even when To does not (a Bcc, a list).
    delivered_to: list[str] = field(default_factory=list)

    @property
    def is_bounce(self) -> bool:
        return self.classification.is_bounce

    @property
    def is_automatic(self) -> bool:
        return self.classification.is_automatic


def parse_message(raw: bytes) -> ParsedEmail:
    msg = email.message_from_bytes(raw, policy=policy.default)
    reader = _Reader(msg)
    text_parts, html_parts, attachments = reader.walk()
    html = "\n".join(html_parts) or None
    text = "\n".join(text_parts)
    if not text.strip() and html:  # HTML-only, or an empty text/plain beside the HTML
        text = _safe(lambda: html_to_text(html), re.sub(r"<[^>]*>", " ", html))
    from_name, from_address = reader.sender()
    classification = classify(msg)
    return ParsedEmail(
        message_id=normalize_message_id(reader.header("Message-ID")),
        in_reply_to=next(iter(message_ids(reader.header("In-Reply-To"))), None),
        references=message_ids(reader.header("References")),
        subject=reader.subject(),
        from_address=from_address,
        from_name=from_name,
        to=reader.addresses("To"),
        cc=reader.addresses("Cc"),
        date=reader.date(),
        text=text,
        html=html,
        attachments=attachments,
        defects=reader.defects,
        classification=classification,
        bounced_message_ids=bounced_message_ids(msg) if classification.is_bounce else [],
        delivered_to=reader.all_addresses("Delivered-To") + reader.all_addresses("X-Original-To"),
    )


def message_ids(value: str | None) -> list[str]:
    """Every `<id>` in order, deduplicated; bare `local@domain` tokens if none is bracketed."""
    if not value:
        return []
    found = [f"<{m}>" for m in _MSG_ID.findall(value)]
    if not found:
        # Some clients drop the angle brackets; an @ is the least we require of an id.
        found = [f"<{t}>" for t in _MSG_ID_BARE.findall(value)]
    return list(dict.fromkeys(found))


def normalize_message_id(value: str | None) -> str | None:
    ids = message_ids(value)
    return ids[0] if ids else None


class _Reader:
    """Guarded access to one parsed message; collects defects as it goes."""

    def __init__(self, msg: EmailMessage) -> None:
        self.msg = msg
        self.defects: list[str] = [_defect_name(d) for d in msg.defects]

    def header(self, name: str) -> str | None:
        try:
            value = self.msg.get(name)
            return None if value is None else str(value)
        except Exception as exc:  # policy.default's header parser has raised many kinds
            self.defects.append(f"{name}: unparseable header ({type(exc).__name__})")
            return self.raw_header(name)

    def raw_header(self, name: str) -> str | None:
        for key, value in self.msg.raw_items():
            if key.lower() == name.lower():
                return _unfold(str(value))
        return None

    def subject(self) -> str:
        value = self.header("Subject") or ""
        if "=?" in value:  # still encoded: the structured parse gave up on it
            value = _decode_words(value)
        raw = self.raw_header("Subject") or ""
        if raw.strip() and not value.strip():
            # An undecodable encoded-word decodes to nothing; the raw text says more.
            self.defects.append("Subject: undecodable encoded-word")
            value = raw
        return _unfold(value).strip()

    def sender(self) -> tuple[str | None, str | None]:
        addrs = self._pairs("From")
        if not addrs:
            return None, None
        name, addr = addrs[0]
        return name or None, addr or None

    def addresses(self, name: str) -> list[str]:
        return [addr for _, addr in self._pairs(name) if addr]

    def all_addresses(self, name: str) -> list[str]:
        """Addresses of every occurrence of a header that mail servers add once per hop."""
        values = [_unfold(str(v)) for k, v in self.msg.raw_items() if k.lower() == name.lower()]
        return [addr for value in values for _, addr in _fallback_pairs(value) if addr]

    def _pairs(self, name: str) -> list[tuple[str, str]]:
        try:
            header = self.msg.get(name)
            if header is None:
                return []
            pairs = [(a.display_name, a.addr_spec) for a in header.addresses]
            return [(n, a) for n, a in pairs if a and a != "<>"] or _fallback_pairs(str(header))
        except Exception as exc:
            self.defects.append(f"{name}: unparseable address ({type(exc).__name__})")
            return _fallback_pairs(self.raw_header(name) or "")

    def date(self) -> datetime | None:
        value = self.header("Date")
        try:
            parsed = getattr(self.msg.get("Date"), "datetime", None)
        except Exception:
            parsed = None
        if parsed is None and value:
            parsed = _parse_date(value)
            if parsed is None:
                self.defects.append("Date: unparseable")
        if parsed is not None and parsed.tzinfo is None:
            # "-0000" means UTC with no local-time information (RFC 5322 3.3).
            parsed = parsed.replace(tzinfo=UTC)
        return parsed

    def walk(self) -> tuple[list[str], list[str], list[Attachment]]:
        texts: list[str] = []
        htmls: list[str] = []
        attachments: list[Attachment] = []
        self._visit(self.msg, texts, htmls, attachments)
        return texts, htmls, attachments

    def _visit(
        self, part: Message, texts: list[str], htmls: list[str], out: list[Attachment]
    ) -> None:
        ctype = _safe(part.get_content_type, "application/octet-stream")
        if ctype.startswith("multipart/"):
            children = part.get_payload()
            if isinstance(children, list):
                for child in children:
                    self._visit(child, texts, htmls, out)
                return
            # A multipart whose boundary never appears: read the payload as plain text.
            ctype = "text/plain"
        try:
            self._visit_leaf(part, ctype, texts, htmls, out)
        except Exception as exc:  # one broken part must not cost us the rest of the mail
            self.defects.append(f"{ctype} part: unreadable ({type(exc).__name__})")

    def _visit_leaf(
        self, part: Message, ctype: str, texts: list[str], htmls: list[str], out: list[Attachment]
    ) -> None:
        disposition = _safe(part.get_content_disposition, None)
        filename = self._filename(part)
        is_body = ctype in ("text/plain", "text/html") and disposition != "attachment"
        if is_body and filename is None:
            (htmls if ctype == "text/html" else texts).append(self._text(part))
            return
        out.append(self._attachment(part, ctype, disposition, filename))

    def _filename(self, part: Message) -> str | None:
        try:
            name = part.get_filename()
        except Exception as exc:
            self.defects.append(f"filename: unparseable ({type(exc).__name__})")
            return None
        if not name or not name.strip():
            return None
        return _decode_words(name) if "=?" in name else name

    def _text(self, part: Message) -> str:
        data = _payload_bytes(part)
        charset = _safe(lambda: part.get_content_charset(), None)
        text, defect = decode_bytes(data, charset)
        if defect:
            self.defects.append(defect)
        return text.replace("\r\n", "\n").replace("\r", "\n")

    def _attachment(
        self, part: Message, ctype: str, disposition: str | None, filename: str | None
    ) -> Attachment:
        data = _payload_bytes(part)
        # Content-IDs need no "@" (Gmail uses <f_lh8nwk8l3>); HTML refers to them as cid:<inner>.
        content_id = (_part_header(part, "Content-ID") or "").strip().strip("<>") or None
        # An image referenced by cid: with no disposition is inline in practice.
        inline = disposition == "inline" or (disposition is None and content_id is not None)
        return Attachment(
            filename=filename,
            content_type=ctype,
            size=len(data),
            content_id=content_id,
            inline=inline,
            sha256=hashlib.sha256(data).hexdigest(),
            payload=data,
        )


def _part_header(part: Message, name: str) -> str | None:
    try:
        value = part.get(name)
        return None if value is None else str(value)
    except Exception:
        return next((str(v) for k, v in part.raw_items() if k.lower() == name.lower()), None)


def _payload_bytes(part: Message) -> bytes:
    """Decoded bytes of a leaf, or the serialized message for message/* parts."""
    try:
        if part.is_multipart():  # message/rfc822 holds a parsed sub-message
            inner = part.get_payload(0)
            return inner.as_bytes(policy=policy.default.clone(linesep="\r\n"))
        data = part.get_payload(decode=True)
        if isinstance(data, bytes):
            return data
    except Exception:
        pass
    raw = part.get_payload()
    return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""


def _safe(fn, default):
    try:
        return fn()
    except Exception:
        return default


def _decode_words(value: str) -> str:
    """RFC 2047 decode that never raises: undecodable words are kept as they were."""
    try:
        return str(make_header(decode_header(value)))
    except Exception:
        return value


def _fallback_pairs(value: str) -> list[tuple[str, str]]:
    pairs = getaddresses([_decode_words(value)])
    return [(n, a) for n, a in pairs if "@" in a] or [parseaddr(value)]


def _parse_date(value: str) -> datetime | None:
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None


def _unfold(value: str) -> str:
    return re.sub(r"\r?\n[ \t]*|\r[ \t]*", " ", value)


def _defect_name(defect: Exception) -> str:
    return f"{type(defect).__name__}: {defect}" if str(defect) else type(defect).__name__


# Labels that lie in practice: the superset codec decodes everything the label promises
# plus what real senders actually put there (e.g. Outlook's cp949 under "ks_c_5601-1987").
_SUPERSETS = {
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "shift_jis": "cp932",
    "x-sjis": "cp932",
    "iso-2022-jp": "iso2022_jp_ext",
    "iso-8859-1": "cp1252",
    "us-ascii": "utf-8",
    "ascii": "utf-8",
    "latin1": "cp1252",
}


def decode_bytes(data: bytes, charset: str | None) -> tuple[str, str | None]:
    """Declared charset, then UTF-8, then cp1252; a lossy decode only as the last resort."""
    declared = (charset or "").strip().strip('"').lower()
    candidates = (_SUPERSETS.get(declared), declared, "utf-8", "cp1252")
    chain = list(dict.fromkeys(c for c in candidates if c))
    for codec in chain:
        try:
            text = data.decode(codec)
        except (LookupError, ValueError):  # unknown label, bad bytes, or a NUL in the label
            continue
        defect = None if codec == chain[0] else f"charset {declared or 'none'}: decoded as {codec}"
        return text, defect
    return data.decode("utf-8", "replace"), f"charset {declared or 'none'}: undecodable bytes"


_BLOCKS = ("p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "blockquote", "table", "hr")


def html_to_text(html: str) -> str:
    """Readable text for display, not markup conversion: block elements become line breaks."""
    soup = BeautifulSoup(html, "html.parser")
    for junk in soup(["script", "style", "head", "title"]):
        junk.decompose()
    for tag in soup.find_all(_BLOCKS):
        tag.insert_before("\n")
        if tag.name != "br":
            tag.insert_after("\n")
    lines = (" ".join(line.split()) for line in soup.get_text().splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
