"""Turn raw RFC 5322 bytes into a `ParsedEmail` that never raises on bad input.

Intake must not lose a message because one header is garbled, so every header and
every part is read through a guard: on error we fall back to the raw value and record
a defect string instead.

Everything a `ParsedEmail` holds can be stored as it is: text is cleaned by
`domain.text.storable` (NUL dropped, lone surrogates replaced), header values are one line,
and what has a column of bounded width is bounded: a Message-ID (or an id in In-Reply-To or
References) over 998 characters becomes a digest of itself, an address over 320 is no
address. Parsing itself is bounded too (`adapters.email.bounded_mime`): header length,
nesting depth, number of parts.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from typing import Any, TypeVar

from adapters.email.bounded_mime import (
    MAX_HEADER_CHARS,
    MAX_PARTS,
    POLICY,
    SERIALIZE,
    header_was_cut,
    read_message,
)
from adapters.email.classify import Classification, bounced_message_ids, classify
from adapters.email.decoding import decode_bytes, html_to_text
from domain.text import storable

T = TypeVar("T")
D = TypeVar("D")

__all__ = ["Attachment", "ParsedEmail", "decode_bytes", "html_to_text", "message_ids",
           "normalize_message_id", "parse_message"]

# local@domain with something on both sides; "<@>" or "<[" are garbage, not ids.
_MSG_ID = re.compile(r"<\s*([^<>\s@]+@[^<>\s@]+)\s*>")

_MSG_ID_BARE = re.compile(r"(?<![<\w.@-])([\w.$%+=/!#&'*?^`{|}~-]+@[\w.-]+\w)")
# Line breaks of every kind (str.splitlines' set): a header value is one line.
_LINE_BREAKS = re.compile("[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+[ \t]*")
_CONTENT_TYPE = re.compile(r"[\w.+-]{1,100}/[\w.+-]{1,150}")
# The widths of the columns these end in (RFC 5322's line for ids, RFC 3696's for addresses).
MAX_ID = 998
MAX_ADDRESS = 320
MAX_NAME = 320
MAX_FILENAME = 255
# More is never real mail, only more to store: defects beyond are counted, not kept.
MAX_DEFECTS = 100
MAX_DEFECT_CHARS = 300
# Hops a mail server adds Delivered-To at; a mail with thousands is not worth reading them.
MAX_HOP_HEADERS = 50


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
    try:
        parsed = _parse(read_message(raw))
    except Exception as exc:  # a last guard (the bounds above should leave nothing to catch)
        parsed = _headers_only(raw, f"message: unparseable ({type(exc).__name__}), "
                                    "only its headers were read")
    return _storable(parsed)


def _parse(msg: Message, *, walk: bool = True) -> ParsedEmail:
    reader = _Reader(msg)
    text_parts, html_parts, attachments = reader.walk() if walk else ([], [], [])
    html = "\n".join(html_parts) or None
    text = "\n".join(text_parts)
    if not text.strip() and html:  # HTML-only, or an empty text/plain beside the HTML
        text = _safe(lambda: html_to_text(html), re.sub(r"<[^>]*>", " ", html))
    from_name, from_address = reader.sender()
    classification = classify(msg)
    return ParsedEmail(
        message_id=reader.first_id("Message-ID"),
        in_reply_to=reader.first_id("In-Reply-To"),
        references=reader.ids("References"),
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
        bounced_message_ids=[bounded_id(i) for i in bounced_message_ids(msg)]
        if classification.is_bounce else [],
        delivered_to=reader.all_addresses("Delivered-To") + reader.all_addresses("X-Original-To"),
    )


def _headers_only(raw: bytes, defect: str) -> ParsedEmail:
    """What can be read of a mail whose body defeated the parser: its headers, no text."""
    try:
        parsed = _parse(BytesHeaderParser(policy=POLICY).parsebytes(raw), walk=False)
    except Exception:
        parsed = ParsedEmail(
            message_id=None, in_reply_to=None, references=[], subject="", from_address=None,
            from_name=None, to=[], cc=[], date=None, text="", html=None, attachments=[],
            defects=[], classification=Classification(), bounced_message_ids=[])
    return replace(parsed, defects=[*parsed.defects, defect])


def _storable(mail: ParsedEmail) -> ParsedEmail:
    """Every text of the mail cleaned, whichever way it came: one place, so none is missed."""
    changes: dict[str, Any] = {}
    for item in fields(mail):
        value = getattr(mail, item.name)
        if isinstance(value, str):
            changes[item.name] = storable(value)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            changes[item.name] = [storable(v) for v in value]
    changes["attachments"] = [
        replace(a, filename=storable(a.filename) if a.filename else a.filename,
                content_id=storable(a.content_id) if a.content_id else a.content_id)
        for a in mail.attachments]
    # Each once (two hundred parts may share one defect), the first hundred of them.
    defects = list(dict.fromkeys(d[:MAX_DEFECT_CHARS] for d in changes["defects"]))
    if len(defects) > MAX_DEFECTS:
        defects = [*defects[:MAX_DEFECTS], f"{len(defects) - MAX_DEFECTS} more defects"]
    changes["defects"] = defects
    return replace(mail, **changes)


def message_ids(value: str | None) -> list[str]:
    """Every `<id>` in order, deduplicated; bare `local@domain` tokens if none is bracketed."""
    if not value:
        return []
    value = storable(value)
    found = [f"<{m}>" for m in _MSG_ID.findall(value)]
    if not found:
        # Some clients drop the angle brackets; an @ is the least we require of an id.
        found = [f"<{t}>" for t in _MSG_ID_BARE.findall(value)]
    return list(dict.fromkeys(bounded_id(i) for i in found))


def normalize_message_id(value: str | None) -> str | None:
    ids = message_ids(value)
    return ids[0] if ids else None


def bounded_id(message_id: str) -> str:
    """The id itself, or, over 998 characters, a digest of it: the same long id always maps
    to the same short one, so a reply naming it in In-Reply-To still threads."""
    if len(message_id) <= MAX_ID:
        return message_id
    digest = hashlib.sha256(message_id.encode("utf-8", "surrogatepass")).hexdigest()
    return f"<{digest}@long-id.invalid>"


class _Reader:
    """Guarded access to one parsed message; collects defects as it goes."""

    def __init__(self, msg: Message) -> None:
        self.msg = msg
        self.defects: list[str] = [_defect_name(d) for d in msg.defects]
        self.left_out = 0

    def header(self, name: str) -> str | None:
        if header_was_cut(self.msg, name):
            self.defects.append(f"{name}: over {MAX_HEADER_CHARS} characters, cut")
        try:
            value = self.msg.get(name)
            return None if value is None else storable(str(value))
        except Exception as exc:  # policy.default's header parser has raised many kinds
            self.defects.append(f"{name}: unparseable header ({type(exc).__name__})")
            return self.raw_header(name)

    def raw_header(self, name: str) -> str | None:
        for key, value in self.msg.raw_items():
            if key.lower() == name.lower():
                return storable(_one_line(str(value)[:MAX_HEADER_CHARS]))
        return None

    def first_id(self, name: str) -> str | None:
        return next(iter(self.ids(name)), None)

    def ids(self, name: str) -> list[str]:
        value = self.header(name)
        found = message_ids(value)
        if any(i.endswith("@long-id.invalid>") for i in found) and "long-id.invalid" not in (
                value or ""):
            self.defects.append(f"{name}: an id over {MAX_ID} characters, kept as its digest")
        return found

    def subject(self) -> str:
        value = self.header("Subject") or ""
        if "=?" in value:  # still encoded: the structured parse gave up on it
            value = _decode_words(value)
        raw = self.raw_header("Subject") or ""
        if raw.strip() and not value.strip():
            # An undecodable encoded-word decodes to nothing; the raw text says more.
            self.defects.append("Subject: undecodable encoded-word")
            value = raw
        # A decoded word may hold CR/LF ("=?utf-8?q?hi=0D=0ABcc:...?="): one line, always.
        return _one_line(value).strip()

    def sender(self) -> tuple[str | None, str | None]:
        """The first From address and its name; no address if it is not one we could use."""
        pairs = self._pairs("From", usable_only=False)
        if not pairs:
            return None, None
        display, addr = pairs[0]
        name = _one_line(display).strip()[:MAX_NAME] or None
        if not _usable_address(addr):
            self.defects.append(f"From: no usable address ({len(addr)} characters)")
            return name, None
        return name, addr

    def addresses(self, name: str) -> list[str]:
        return [addr for _, addr in self._pairs(name)]

    def all_addresses(self, name: str) -> list[str]:
        """Addresses of every occurrence of a header that mail servers add once per hop."""
        values = [storable(_one_line(str(v)[:MAX_HEADER_CHARS]))
                  for k, v in self.msg.raw_items() if k.lower() == name.lower()]
        pairs = [p for value in values[:MAX_HOP_HEADERS] for p in _fallback_pairs(value)]
        return [addr for _, addr in pairs if _usable_address(addr)]

    def _pairs(self, name: str, *, usable_only: bool = True) -> list[tuple[str, str]]:
        pairs = self._parsed_pairs(name)
        pairs = [(storable(n or ""), storable(a or "")) for n, a in pairs]
        if not usable_only:
            return pairs
        usable = [(n, a) for n, a in pairs if _usable_address(a)]
        if len(usable) < len([a for _, a in pairs if a]):
            self.defects.append(f"{name}: unusable addresses left out")
        return usable

    def _parsed_pairs(self, name: str) -> list[tuple[str, str]]:
        if header_was_cut(self.msg, name):
            self.defects.append(f"{name}: over {MAX_HEADER_CHARS} characters, cut")
        try:
            header: Any = self.msg.get(name)
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
        if self.left_out:
            self.defects.append(f"{self.left_out} parts beyond the first {MAX_PARTS} left out")
        return texts, htmls, attachments

    def _visit(
        self, part: Message, texts: list[str], htmls: list[str], out: list[Attachment]
    ) -> None:
        if getattr(part, "over_budget", False):
            self.left_out += 1
            return
        if getattr(part, "too_deep", False):
            self.defects.append("a part nested too deep, kept unparsed as an attachment")
        ctype = _safe(part.get_content_type, "application/octet-stream")
        if ctype.startswith("multipart/"):
            children = part.get_payload()
            if isinstance(children, list):
                for child in children:
                    if isinstance(child, Message):
                        self._visit(child, texts, htmls, out)
                return
            # A multipart whose boundary never appears: read the payload as plain text.
            ctype = "text/plain"
        try:
            self._visit_leaf(part, ctype, texts, htmls, out)
        except Exception as exc:  # one broken part must not cost us the rest of the mail
            self.defects.append(f"{ctype[:100]} part: unreadable ({type(exc).__name__})")

    def _visit_leaf(
        self, part: Message, ctype: str, texts: list[str], htmls: list[str], out: list[Attachment]
    ) -> None:
        disposition = _safe(part.get_content_disposition, None)
        filename = self._filename(part)
        is_body = ctype in ("text/plain", "text/html") and disposition != "attachment"
        if is_body and filename is None:
            (htmls if ctype == "text/html" else texts).append(self._text(part))
            return
        out.append(self._attachment(part, self._content_type(ctype), disposition, filename))

    def _filename(self, part: Message) -> str | None:
        try:
            name = part.get_filename()
        except Exception as exc:
            self.defects.append(f"filename: unparseable ({type(exc).__name__})")
            return None
        if not name or not name.strip():
            return None
        name = _one_line(storable(_decode_words(name) if "=?" in name else name)).strip()
        if len(name) > MAX_FILENAME:  # keep the end: the extension says what it is
            self.defects.append(f"filename: over {MAX_FILENAME} characters, cut")
            name = name[-MAX_FILENAME:]
        return name or None

    def _content_type(self, ctype: str) -> str:
        if _CONTENT_TYPE.fullmatch(ctype):
            return ctype
        self.defects.append("Content-Type: not a media type, read as application/octet-stream")
        return "application/octet-stream"

    def _text(self, part: Message) -> str:
        data = _payload_bytes(part)
        charset = _safe(lambda: part.get_content_charset(), None)
        text, defect = decode_bytes(data, charset)
        if defect:
            self.defects.append(defect)
        return storable(text.replace("\r\n", "\n").replace("\r", "\n"))

    def _attachment(
        self, part: Message, ctype: str, disposition: str | None, filename: str | None
    ) -> Attachment:
        data = _payload_bytes(part)
        # Content-IDs need no "@" (Gmail uses <f_lh8nwk8l3>); HTML refers to them as cid:<inner>.
        cid = storable((_part_header(part, "Content-ID") or "").strip().strip("<>"))
        content_id = cid if 0 < len(cid) <= MAX_ID else None
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


def _usable_address(address: str) -> bool:
    """One addr-spec we can store and answer: an @ with text on both sides, no whitespace,
    no control characters, within the column."""
    local, at, domain = address.rpartition("@")
    return (bool(at and local and domain) and len(address) <= MAX_ADDRESS
            and address.isprintable() and not any(c.isspace() for c in address))


def _part_header(part: Message, name: str) -> str | None:
    try:
        value = part.get(name)
        return None if value is None else str(value)
    except Exception:
        return next((str(v)[:MAX_HEADER_CHARS] for k, v in part.raw_items()
                     if k.lower() == name.lower()), None)


def _payload_bytes(part: Message) -> bytes:
    """Decoded bytes of a leaf, or the serialized message for message/* parts."""
    try:
        if part.is_multipart():  # message/rfc822 holds a parsed sub-message
            inner = part.get_payload(0)
            return inner.as_bytes(policy=SERIALIZE) if isinstance(inner, Message) else b""
        data = part.get_payload(decode=True)
        if isinstance(data, bytes):
            return data
    except Exception:
        pass
    raw = part.get_payload()
    if not isinstance(raw, str):
        return b""
    try:
        return raw.encode("utf-8", "surrogateescape")  # the bytes the parser read
    except UnicodeEncodeError:  # a surrogate that no byte escaped to
        return raw.encode("utf-8", "replace")


def _safe(fn: Callable[[], T], default: D) -> T | D:
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


def _one_line(value: str) -> str:
    """Folded or not, CR/LF or U+2028: a header value has no line break when we are done."""
    return _LINE_BREAKS.sub(" ", value)


def _defect_name(defect: Exception) -> str:
    return f"{type(defect).__name__}: {defect}" if str(defect) else type(defect).__name__
