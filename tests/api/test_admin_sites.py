"""Sites: an admin registers the websites that embed the help form and the chat widget."""

from __future__ import annotations

import httpx

from domain.origins import identity_signature, identity_verified
from tests.api.helpers import as_, assert_problem, issue_token, make_team

SITES = "/api/v1/admin/sites"


async def test_a_site_is_made_with_normalized_origins_and_its_secret_shown_once(http):
    team = await make_team(http, "Shop support")
    made = await http.post(SITES, json={
        "key": "shop", "name": "Our shop", "team_id": team["id"],
        "allowed_origins": ["https://Shop.Example:443/", "http://localhost:8080"]})
    assert made.status_code == 201, made.text
    site = made.json()
    assert site["allowed_origins"] == ["http://localhost:8080", "https://shop.example"]
    secret = site["identity_secret"]
    assert len(secret) >= 32
    read = (await http.get(f"{SITES}/shop")).json()
    assert "identity_secret" not in read and read["team_id"] == team["id"]
    listed = (await http.get(SITES)).json()["items"]
    assert [s["key"] for s in listed] == ["shop"] and "identity_secret" not in listed[0]
    # The secret verifies what the site's server signs, and nothing else.
    signed = identity_signature(secret, "Ada@Example.com")
    assert identity_verified(secret, "ada@example.com", signed)
    assert not identity_verified(secret, "eve@example.com", signed)


async def test_a_rotated_secret_stops_the_old_signatures(http):
    old = (await http.post(SITES, json={"key": "blog", "name": "Blog"})).json()
    rotated = await http.post(f"{SITES}/blog/identity-secret")
    assert rotated.status_code == 200
    new = rotated.json()["identity_secret"]
    assert new != old["identity_secret"]
    signed = identity_signature(old["identity_secret"], "ada@example.com")
    assert not identity_verified(new, "ada@example.com", signed)


async def test_bad_origins_keys_and_teams_are_refused_plainly(http):
    for origins in (["shop.example"], ["https://shop.example/path"], ["https://*.example"],
                    ["ftp://shop.example"]):
        response = await http.post(SITES, json={"key": "x", "name": "X",
                                                "allowed_origins": origins})
        assert_problem(response, 422, "invalid-body")
    assert_problem(await http.post(SITES, json={"key": "Not A Key", "name": "X"}),
                   422, "invalid-body")
    assert_problem(await http.post(SITES, json={"key": "x", "name": "X",
                                                "team_id": "00000000-0000-0000-0000-000000000001"}),
                   422, "unknown-team")
    assert (await http.post(SITES, json={"key": "dup", "name": "A"})).status_code == 201
    assert_problem(await http.post(SITES, json={"key": "dup", "name": "B"}), 409, "conflict")


async def test_a_site_is_changed_and_deleted_and_only_an_admin_may(http: httpx.AsyncClient):
    await http.post(SITES, json={"key": "docs", "name": "Docs"})
    changed = await http.patch(f"{SITES}/docs", json={"allowed_origins": ["https://docs.example"],
                                                      "require_verified_identity": True})
    assert changed.status_code == 200, changed.text
    assert changed.json()["allowed_origins"] == ["https://docs.example"]
    assert changed.json()["require_verified_identity"] is True
    integration = await issue_token(http, "integration")
    assert (await http.get(SITES, headers=as_(integration))).status_code == 403
    assert (await http.delete(f"{SITES}/docs")).status_code == 204
    assert_problem(await http.get(f"{SITES}/docs"), 404, "not-found")
