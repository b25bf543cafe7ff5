"""The standard library's MIME parser, with the bounds it lacks.

`email.policy.default` parses a header value each time it is read, in time that grows faster
than its length (a 90 KB To header: 30 s; a 4 KB Content-Type full of parameters: 50 ms, read
eight times per part), and its feed parser recurses once per nesting level (1,000 levels:
RecursionError before anything is returned). Fine for real mail, fatal for hostile mail, so:

- a header value is cut (`max_chars`) before it is parsed (the raw value stays in the message;
  `header_was_cut` says so, to record a defect), and parsed once per message part;
- a part nested deeper than `MAX_DEPTH` is not parsed: it reads as one opaque
  application/octet-stream leaf holding its raw text (`too_deep`);
- parts beyond the first `MAX_PARTS` are not parsed either (`over_budget`): the reader leaves
  them out.
"""

from __future__ import annotations

import email
from email.message import EmailMessage, Message
from email.policy import EmailPolicy
from typing import Any, cast

# The longest header of a real mail in our corpus is 2 KB (a Yahoo trace header); a To of some
# 300 recipients or a References of 100 ids still fits.
MAX_HEADER_CHARS = 8_192
# Parameter lists parse slowest (25 ms for 2 KB) and are read on every part; a long RFC 2231
# filename in UTF-8 still fits.
MAX_PARAMETER_HEADER_CHARS = 2_048
_PARAMETER_HEADERS = frozenset({"content-type", "content-disposition"})
# Real mail nests a few levels (a forward of a forward with alternatives and images: ~8).
MAX_DEPTH = 32
# Real mail has tens of parts (the corpus: 33 at most; a digest of 50 mails some 150).
MAX_PARTS = 200
OPAQUE_TYPE = "application/octet-stream"


def max_chars(name: str) -> int:
    """How much of this header's value is parsed."""
    if name.lower() in _PARAMETER_HEADERS:
        return MAX_PARAMETER_HEADER_CHARS
    return MAX_HEADER_CHARS


class _BoundedPolicy(EmailPolicy):
    def header_fetch_parse(self, name: str, value: Any) -> Any:
        if isinstance(value, str) and len(value) > max_chars(name):
            value = value[:max_chars(name)]
        return super().header_fetch_parse(name, value)


class _Budget:
    """Parts parsed so far, shared by a message and all its parts."""

    parts = 0


class BoundedMessage(EmailMessage):
    """A part that knows how deep it sits and whether the parts budget still covers it."""

    depth = 0
    too_deep = False
    over_budget = False
    _budget: _Budget | None = None
    _parsed: dict[tuple[str, Any], Any] | None = None

    def attach(self, payload: Any) -> None:
        # The feed parser attaches each new part to its parent before reading the part's
        # headers, so this is known before it decides whether to descend into the part.
        if isinstance(payload, BoundedMessage):
            self._budget = budget = self._budget or _Budget()
            budget.parts += 1
            payload._budget, payload.depth = budget, self.depth + 1
            payload.too_deep = payload.depth > MAX_DEPTH
            payload.over_budget = budget.parts > MAX_PARTS
        super().attach(payload)

    def get_content_type(self) -> str:
        if self.too_deep or self.over_budget:
            return OPAQUE_TYPE
        return super().get_content_type()

    def get(self, name: str, failobj: Any = None) -> Any:
        # Every accessor (content type, boundary, charset, filename) reads through here; the
        # raw value is part of the key, so a header set later is parsed afresh.
        wanted = name.lower()
        for key, value in self.raw_items():
            if key.lower() == wanted:
                return self._parse_once(key, value)
        return failobj

    def _parse_once(self, key: str, value: Any) -> Any:
        if self._parsed is None:
            self._parsed = {}
        if (key, value) not in self._parsed:
            self._parsed[(key, value)] = self.policy.header_fetch_parse(key, value)
        return self._parsed[(key, value)]


POLICY = _BoundedPolicy(message_factory=BoundedMessage)
# Serializing a part again (an attached message/rfc822) keeps its headers as they came:
# refolding would parse every long header once more.
SERIALIZE = POLICY.clone(linesep="\r\n", refold_source="none")


def read_message(raw: bytes) -> BoundedMessage:
    return cast(BoundedMessage, email.message_from_bytes(raw, policy=POLICY))


def header_was_cut(msg: Message, name: str) -> bool:
    return any(key.lower() == name.lower() and len(str(value)) > max_chars(name)
               for key, value in msg.raw_items())
