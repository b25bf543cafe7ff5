"""/docs and /redoc work without the internet: every script, style and icon they load is
served by the app itself, none by a CDN."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from bs4 import BeautifulSoup

from api.app import create_app
from settings import Settings

BASE = "http://helpdesk.test"
# Where each page names what it loads: the tag, and the attribute holding the URL.
LOADED = (("script", "src"), ("link", "href"), ("img", "src"), ("redoc", "spec-url"))


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    # The docs need neither the database nor Temporal: no lifespan, so none is opened.
    transport = httpx.ASGITransport(app=create_app(Settings()))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        yield client


def loaded_urls(page: str, html: str) -> list[str]:
    soup = BeautifulSoup(html, "html.parser")
    found = [tag[attribute] for name, attribute in LOADED
             for tag in soup.find_all(name) if tag.get(attribute)]
    return [urljoin(f"{BASE}{page}", str(url)) for url in found]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_a_docs_page_loads_only_what_the_app_serves(
    http: httpx.AsyncClient, page: str
) -> None:
    response = await http.get(page)
    assert response.status_code == 200
    urls = loaded_urls(page, response.text)

    assert any(url.endswith(".js") for url in urls), urls  # the page is not an empty shell
    off_host = [url for url in urls if urlsplit(url).netloc != urlsplit(BASE).netloc]
    assert off_host == []
    for url in urls:
        asset = await http.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 0, url


async def test_swagger_ui_gets_its_script_style_and_the_schema(http: httpx.AsyncClient) -> None:
    html = (await http.get("/docs")).text
    types = {urlsplit(url).path: (await http.get(url)).headers["content-type"]
             for url in loaded_urls("/docs", html)}

    assert any("javascript" in kind for kind in types.values()), types
    assert any(kind.startswith("text/css") for kind in types.values()), types
    assert "url: '/openapi.json'" in html
    assert (await http.get("/openapi.json")).json()["info"]["title"] == "Help desk"
