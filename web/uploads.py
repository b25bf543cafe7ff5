"""Files a page's form sends (multipart): the ticket composer's and the help form's."""

from __future__ import annotations

import re

from fastapi import Request
from starlette.datastructures import UploadFile

from domain.text import storable
from services import tickets
from services.composer import Upload
from services.problems import Problem

_CONTENT_TYPE = re.compile(r"^[\w.+-]{1,100}/[\w.+-]{1,150}$")


async def form_uploads(request: Request, field: str = "files") -> list[Upload]:
    """The files sent in `field` (none chosen: an empty part, left out); more than a message
    takes is refused whole, as the JSON API refuses them."""
    files = [f for f in (await request.form()).getlist(field)
             if isinstance(f, UploadFile) and (f.filename or f.size)]
    if len(files) > tickets.MAX_ATTACHMENTS:
        raise Problem(413, "too-many-attachments", "Too many attachments",
                      f"a message takes at most {tickets.MAX_ATTACHMENTS} attachments")
    return [Upload(filename=storable(f.filename or "")[:255] or None,
                   content_type=_content_type(f.content_type), payload=await f.read())
            for f in files]


def _content_type(value: str | None) -> str:
    # Whatever the browser claims, the download goes out as an attachment (sandboxed).
    value = (value or "").split(";")[0].strip().lower()
    return value if _CONTENT_TYPE.match(value) else "application/octet-stream"
