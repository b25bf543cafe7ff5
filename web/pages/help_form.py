"""/help: the public help form, its live knowledge-base answers, the articles they link to,
the confirmation page, and /help/embed.js, which puts the form on another site.

The use cases are services/help_form.py's; the form needs no sign-in and no CSRF cookie
(web/csrf.py says why). Refusals are pages the customer can act on: the form again with
what they typed and a message (too fast, invalid, over the limit), never problem+json.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from starlette.datastructures import FormData, UploadFile

from api.deps import DeskDep
from domain.text import is_storable
from services import help_form
from services.help_form import HelpFormIn
from services.kb_suggestions import read_article
from services.problems import Problem
from web.help_page import NOT_FRAMED, HelpRoute, render, site_policy
from web.uploads import form_uploads

router = APIRouter(prefix="/help", route_class=HelpRoute, include_in_schema=False)
EMBED_SCRIPT = Path(__file__).parent.parent / "static" / "help_embed.js"
FIELDS = ("name", "email", "subject", "description")
# What each text field may hold (the API's own limits are checked again when it opens).
_MAX = {"name": 200, "email": 320, "subject": 998, "description": 100_000, "website": 200,
        "key": 200, "site": 64}


@router.get("", response_class=HTMLResponse)
async def form_page(request: Request, desk: DeskDep, site: str | None = None) -> Response:
    policy = await site_policy(desk.session, site)
    key = help_form.draw_form(desk.settings)
    return render(request, "help/form_page.html", _context(key.key, site, {}), policy=policy)


@router.post("", response_class=HTMLResponse)
async def send(request: Request, desk: DeskDep) -> Response:
    """One ticket per drawn form; then POST-redirect-GET to its confirmation."""
    fields = _fields(await request.form())
    site = fields["site"] or None
    form = HelpFormIn(**{f: fields[f] for f in FIELDS}, honeypot=fields["website"])
    try:
        _require_storable(fields)
        sent = await help_form.submit(desk, form, fields["key"],
                                      await form_uploads(request, "attachments"))
    except Problem as err:
        return await _form_again(request, desk, fields, err)
    query = f"?{urlencode({'site': site})}" if site else ""
    return RedirectResponse(f"/help/sent/{sent.token}{query}", status_code=303)


@router.post("/suggest", response_class=HTMLResponse)
async def suggest(request: Request, desk: DeskDep) -> Response:
    """The three best published answers for what is typed so far (htmx, after a pause)."""
    fields = _fields(await request.form())
    found = None
    if is_storable(fields["subject"] + fields["description"] + fields["email"]):
        found = await help_form.suggest(desk, fields["key"], subject=fields["subject"],
                                        description=fields["description"],
                                        email=fields["email"])
    # A fragment for the page's script to place, never a page anyone frames.
    return render(request, "help/_suggestions.html",
                  {"found": found, "site": fields["site"] or None}, policy=NOT_FRAMED)


@router.get("/sent/{token}", response_class=HTMLResponse)
async def sent(token: str, request: Request, desk: DeskDep, site: str | None = None
               ) -> Response:
    ref = help_form.sent_ref(desk.settings, token)
    if ref is None:
        raise Problem(404, "not-found", "Page not found", "there is no such confirmation")
    return render(request, "help/sent.html", {"ref": ref, "site": site},
                  policy=await site_policy(desk.session, site))


@router.get("/articles/{article_id}", response_class=HTMLResponse)
async def article(article_id: str, request: Request, desk: DeskDep, s: str | None = None,
                  site: str | None = None) -> Response:
    """A published article, readable by anyone; opened from a form's suggestion (`s`), it
    counts as read there."""
    row = await read_article(desk, _uuid(article_id) or uuid.UUID(int=0),
                             from_suggestion=_uuid(s))
    if row is None:
        raise Problem(404, "not-found", "Article not found", "there is no such article")
    return render(request, "help/article.html", {"article": row, "site": site},
                  policy=await site_policy(desk.session, site))


@router.get("/embed.js")
async def embed_script() -> Response:
    """The script a site includes to show the form in a frame that fits its content."""
    return FileResponse(EMBED_SCRIPT, media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=300"})


async def _form_again(request: Request, desk: DeskDep, fields: dict[str, str],
                      problem: Problem) -> Response:
    """The form as sent, with what went wrong; a key that no longer stands is drawn anew."""
    key = fields["key"]
    if problem.slug == "form-expired":
        key = help_form.draw_form(desk.settings).key
    headers = {}
    if retry := problem.extra.get("retry_after_seconds"):
        headers["Retry-After"] = str(retry)
    context = _context(key, fields["site"] or None, fields) | {"problem": problem}
    return render(request, "help/form_page.html", context,
                  policy=await site_policy(desk.session, fields["site"]),
                  status_code=problem.status, headers=headers)


def _context(key: str, site: str | None, values: dict[str, str]) -> dict[str, Any]:
    return {"key": key, "site": site, "values": {f: values.get(f, "") for f in FIELDS},
            "problem": None}


def _fields(form: FormData) -> dict[str, str]:
    """The form's text fields, each cut to what it may hold (a file where text belongs: '')."""
    out = {}
    for name, cap in _MAX.items():
        value = form.get(name)
        out[name] = value[:cap] if isinstance(value, str) and not isinstance(value, UploadFile) \
            else ""
    return out


def _require_storable(fields: dict[str, str]) -> None:
    # Multipart bodies pass the API's text check (api/storable_input.py): checked here.
    if not all(is_storable(v) for v in fields.values()):
        raise Problem(422, "invalid-text", "Please check the form",
                      "the text holds a character that cannot be stored")


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None
