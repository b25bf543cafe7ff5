"""Search snippets as markup a page can show: the matched words in <mark>, nothing else.

The search use case answers its snippet as HTML-escaped text with our <mark> tags
(db/search.py: `marked`). A page does not take that on trust as HTML: the text between the
tags is unescaped and escaped again here, and the tags are kept only as balanced pairs, so
even a snippet built some other way tomorrow can add no markup but <mark>.
"""

from __future__ import annotations

import html
import re

from markupsafe import Markup, escape

_MARK = re.compile(r"(<mark>|</mark>)")


def highlighted(snippet: str) -> Markup:
    parts: list[str] = []
    inside = False
    for piece in _MARK.split(snippet):
        if piece in ("<mark>", "</mark>"):
            opens = piece == "<mark>"
            if opens != inside:  # a stray open inside a mark, or a close outside one, is dropped
                parts.append(piece)
                inside = opens
        elif piece:
            parts.append(str(escape(html.unescape(piece))))
    if inside:
        parts.append("</mark>")
    return Markup("".join(parts))
