"""A version string for static URLs (`?v=`), so a browser never runs yesterday's script with
today's pages: a digest of the static files' contents, taken once at import."""

from __future__ import annotations

import hashlib
from pathlib import Path

STATIC = Path(__file__).parent / "static"


def _digest() -> str:
    h = hashlib.sha256()
    for path in sorted(STATIC.rglob("*")):
        if path.is_file():
            h.update(path.name.encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:12]


VERSION = _digest()
