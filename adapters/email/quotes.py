"""Separate the new text of a reply from quoted history and the signature.

The heavy lifting (multilingual "On ... wrote:" headers, Outlook blocks, "Sent from my
iPhone" signatures) is done by `mail-parser-reply`; we only add two things it leaves in
the latest fragment: bottom-posted `>` quote lines and an attribution line in a language
it does not know (e.g. Russian "... написал:"). The original text is always kept.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from mailparser_reply import EmailReplyParser

logger = logging.getLogger(__name__)

# Every language the library knows: a customer writes in whatever client language they use.
LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "da", "sv", "pl", "cs", "ja", "ko", "zh")
_QUOTE_LINE = re.compile(r"^\s*>")


@dataclass(frozen=True)
class Reply:
    new_text: str
    quoted: str
    signature: str
    original: str


def split_reply(text: str, languages: tuple[str, ...] = LANGUAGES) -> Reply:
    if not text.strip():
        return Reply(new_text="", quoted="", signature="", original=text)
    try:
        replies = EmailReplyParser(languages=list(languages)).read(text).replies
    except Exception:  # a parsing library must never make us lose the customer's words
        logger.exception("mail-parser-reply failed; keeping the whole text as new")
        return Reply(new_text=text.strip(), quoted="", signature="", original=text)
    if not replies:
        return Reply(new_text=text.strip(), quoted="", signature="", original=text)
    latest = replies[0]
    new_lines, quoted_lines = _split_quote_lines(latest.body.splitlines())
    history = [latest.headers] if latest.headers else []
    history += quoted_lines + [r.content for r in replies[1:]]
    new_text = "\n".join(new_lines).strip()
    if not new_text:  # everything was quoted: better to show it all than nothing
        new_text = latest.full_body or text.strip()
    return Reply(
        new_text=new_text,
        quoted="\n".join(history).strip(),
        signature=latest.signatures,
        original=text,
    )


def _split_quote_lines(lines: list[str]) -> tuple[list[str], list[str]]:
    """Move `>` lines, and the attribution line just above the first of them, to history."""
    new = [line for line in lines if not _QUOTE_LINE.match(line)]
    quoted = [line for line in lines if _QUOTE_LINE.match(line)]
    first_quote = next((i for i, line in enumerate(lines) if _QUOTE_LINE.match(line)), None)
    if first_quote is None:
        return new, quoted
    attribution = _attribution_above(lines, first_quote)
    if not attribution:
        return new, quoted
    start = first_quote - len(attribution)
    new = [line for line in lines[:start] + lines[first_quote:] if not _QUOTE_LINE.match(line)]
    return new, attribution + quoted


def _attribution_above(lines: list[str], first_quote: int) -> list[str]:
    """The "<date> <name> wrote:" line (possibly wrapped once) that introduces a quote."""
    i = first_quote - 1
    while i >= 0 and not lines[i].strip():
        i -= 1
    if i < 0 or not lines[i].rstrip().endswith(":"):
        return []
    start = i - 1 if i > 0 and lines[i - 1].rstrip().endswith(("<", ",")) else i
    return lines[start:first_quote]
