"""How an SMS body is cut: into the segments a carrier bills (counted as Twilio counts them),
and into the messages Twilio accepts (a body of at most 1,600 characters).

A body whose every character is in the GSM-7 alphabet is sent 7 bits a character: 160 fit one
segment; a longer body is sent in parts of 153 (each part spends 7 characters on the header
that joins them again). A character of the GSM-7 extension table (`€`, `[`, `{`, ...) costs
two (an escape and itself), and the pair is never split between parts. One character outside
GSM-7 (an emoji, `ł`, a curly quote) sends the whole body as UCS-2: 70 to a segment, 67 per
part, counted in UTF-16 code units (an emoji takes two, and its pair is not split either).
"""

from __future__ import annotations

from dataclasses import dataclass

# GSM 03.38 basic character set (without the escape character itself).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
# The extension table: each costs an escape septet and its own.
GSM7_EXTENDED = frozenset("\f^{}\\[~]|€")
GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67
# Twilio refuses a longer body (error 21617): a longer reply goes as several messages.
MAX_BODY_CHARS = 1600


@dataclass(frozen=True)
class SegmentCount:
    encoding: str  # "GSM-7" or "UCS-2"
    segments: int


def is_gsm7(text: str) -> bool:
    return all(c in GSM7_BASIC or c in GSM7_EXTENDED for c in text)


def count_segments(text: str) -> SegmentCount:
    """The segments Twilio bills for `text` (an empty body still sends one)."""
    if is_gsm7(text):
        units = [2 if c in GSM7_EXTENDED else 1 for c in text]
        return SegmentCount("GSM-7", _parts(units, GSM7_SINGLE, GSM7_PART))
    units = [len(c.encode("utf-16-le")) // 2 for c in text]
    return SegmentCount("UCS-2", _parts(units, UCS2_SINGLE, UCS2_PART))


def _parts(units: list[int], single: int, per_part: int) -> int:
    """Parts of at most `per_part` units, a character's units never split (greedy, as the
    sending side fills them)."""
    if sum(units) <= single:
        return 1
    parts, used = 1, 0
    for size in units:
        if used + size > per_part:
            parts, used = parts + 1, 0
        used += size
    return parts


def split_for_twilio(text: str, limit: int = MAX_BODY_CHARS) -> list[str]:
    """`text` as the bodies of consecutive messages, each at most `limit` characters, cut at
    the best boundary in the second half of each: a paragraph, a line, a sentence, a word
    (a hard cut only for a run of `limit` characters without a space)."""
    bodies: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = _boundary(rest[:limit + 1], limit)
        bodies.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest or not bodies:
        bodies.append(rest)
    return bodies


def _boundary(window: str, limit: int) -> int:
    """Where to cut `window` (its first `limit` + 1 characters) so the first piece has at most
    `limit`: after the last paragraph break, line break, sentence end or space."""
    for mark in ("\n\n", "\n", ". ", "! ", "? ", " "):
        at = window.rfind(mark, limit // 2, limit + 1)
        if at != -1:
            return at + len(mark)  # the piece's trailing whitespace is stripped
    return limit
