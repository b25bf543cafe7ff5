"""Text that PostgreSQL and JSON can both store.

PostgreSQL `text` cannot hold NUL (U+0000), and a lone UTF-16 surrogate (U+D800-U+DFFF, which
Python's `json` happily decodes from `"\\ud800"`) cannot be encoded as UTF-8 at all: either one
reaching a write fails it on every retry. The JSON API refuses such text (422); channels that
cannot refuse (mail, which a sender would only retry) clean it instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import fields, is_dataclass
from typing import Any

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def is_storable(text: str) -> bool:
    return _UNSTORABLE.search(text) is None


def storable(text: str) -> str:
    """`text` with NUL dropped and lone surrogates replaced by U+FFFD."""
    if is_storable(text):
        return text
    return _UNSTORABLE.sub(lambda m: "" if m.group() == "\x00" else REPLACEMENT, text)


def unstorable_paths(value: Any, path: tuple[str | int, ...] = ()
                     ) -> Iterator[tuple[str | int, ...]]:
    """Where in a decoded JSON document a string (value or key) cannot be stored."""
    if isinstance(value, str):
        if not is_storable(value):
            yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and not is_storable(key):
                yield (*path, storable(key))
            yield from unstorable_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from unstorable_paths(item, (*path, index))


def storable_document(value: Any) -> Any:
    """A decoded JSON document with every string (value or key) made storable."""
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return {storable(k) if isinstance(k, str) else k: storable_document(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [storable_document(item) for item in value]
    return value


def clean_in_place(value: Any) -> int:
    """Make every string in a tree of dataclasses, lists and dicts storable; how many changed.

    The last line of defence before a write: input is refused or cleaned where it enters,
    so anything found here is a gap in that, worth a warning."""
    changed = 0
    if is_dataclass(value) and not isinstance(value, type):
        for f in fields(value):
            item = getattr(value, f.name)
            if isinstance(item, str) and not is_storable(item):
                setattr(value, f.name, storable(item))
                changed += 1
            else:
                changed += clean_in_place(item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, str) and not is_storable(item):
                value[index] = storable(item)
                changed += 1
            else:
                changed += clean_in_place(item)
    elif isinstance(value, dict):
        for key, item in list(value.items()):
            if isinstance(item, str) and not is_storable(item):
                value[key] = storable(item)
                changed += 1
            else:
                changed += clean_in_place(item)
    return changed
