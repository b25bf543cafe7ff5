"""Bytes to text: a mail's declared charset, and what real senders put under it; HTML to text."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup

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
    label = declared[:40] or "none"  # for the defect: a label is short, a hostile one not
    candidates = (_SUPERSETS.get(declared), declared, "utf-8", "cp1252")
    chain = list(dict.fromkeys(c for c in candidates if c))
    for codec in chain:
        try:
            text = data.decode(codec)
        except (LookupError, ValueError):  # unknown label, bad bytes, or a NUL in the label
            continue
        defect = None if codec == chain[0] else f"charset {label}: decoded as {codec}"
        return text, defect
    return data.decode("utf-8", "replace"), f"charset {label}: undecodable bytes"


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
