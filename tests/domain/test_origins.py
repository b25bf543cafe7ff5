"""Origins as browsers send them, compared the way CORS and frame-ancestors do."""

from __future__ import annotations

import pytest

from domain.origins import frame_ancestors, normalize_origin, origin_allowed


@pytest.mark.parametrize(("given", "normal"), [
    ("https://Shop.Example", "https://shop.example"),
    ("https://shop.example:443/", "https://shop.example"),
    ("http://shop.example:80", "http://shop.example"),
    ("http://127.0.0.1:8123", "http://127.0.0.1:8123"),
    ("http://[::1]:9000", "http://[::1]:9000"),
])
def test_an_origin_is_kept_in_the_form_browsers_send(given: str, normal: str) -> None:
    assert normalize_origin(given) == normal


@pytest.mark.parametrize("bad", ["shop.example", "https://shop.example/help", "null", "",
                                 "https://*.shop.example", "javascript:alert(1)",
                                 "https://user@shop.example", "https://shop.example?x=1"])
def test_anything_but_an_origin_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        normalize_origin(bad)


def test_only_a_listed_origin_is_allowed() -> None:
    allowed = ["https://shop.example"]
    assert origin_allowed("https://shop.example", allowed)
    assert origin_allowed("https://SHOP.example:443", allowed)
    assert not origin_allowed("https://evil.example", allowed)
    assert not origin_allowed("http://shop.example", allowed)  # another scheme, another origin
    assert not origin_allowed("null", allowed)
    assert not origin_allowed(None, allowed)


def test_frame_ancestors_names_the_sites_or_none() -> None:
    assert frame_ancestors([]) == "'none'"
    assert frame_ancestors(["https://b.example", "https://a.example"]) == \
        "https://a.example https://b.example"
