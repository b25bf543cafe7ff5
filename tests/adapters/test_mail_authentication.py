"""SPF, DKIM and DMARC of inbound mail against a real DNS server on loopback serving the test
zones (adapters/email/authentication.py)."""

from __future__ import annotations

import time

import pytest
from pydantic import ValidationError

from adapters.email.authentication import (
    aligned,
    authenticate,
    dmarc_policy,
    dmarc_record,
    domain_name,
    org_domain,
    parse_authentication_results,
)
from domain.dns_resolver import resolver_address
from domain.mail_screening import Envelope
from settings import Settings
from tests.dns_server import LocalDns, silent_dns
from tests.mail_auth import LISTED_IP, message, published_domain, signed


def settings(**overrides: str) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]


def smtp(mail_from: str, ip: str = "127.0.0.1") -> Envelope:
    return Envelope(client_ip=ip, helo="mx.sender.test", mail_from=mail_from)


async def test_a_forged_from_fails_spf_and_dmarc_under_the_domains_reject_policy(local_dns):
    with published_domain(local_dns, "reject") as domain:
        result = await authenticate(message(domain.address()), smtp(domain.address()),
                                    settings=settings())
    assert (result.spf, result.dkim, result.dmarc) == ("fail", "none", "fail")
    assert result.dmarc_policy == "reject" and result.from_domain == domain.name
    assert result.source == "local"
    assert result.header.startswith("helpdesk;")
    assert "spf=fail" in result.header and "dmarc=fail" in result.header


async def test_mail_from_the_listed_server_passes_spf_and_dmarc(local_dns):
    with published_domain(local_dns, "reject") as domain:
        result = await authenticate(message(domain.address()),
                                    smtp(domain.address(), ip=LISTED_IP), settings=settings())
    assert (result.spf, result.dmarc) == ("pass", "pass")


async def test_a_dkim_signature_of_the_from_domain_passes_dmarc_from_anywhere(local_dns):
    with published_domain(local_dns, "reject") as domain:
        raw = signed(message(domain.address()), domain.name)
        over_smtp = await authenticate(raw, smtp(domain.address()), settings=settings())
        fetched = await authenticate(raw, Envelope(), settings=settings())
    assert (over_smtp.spf, over_smtp.dkim, over_smtp.dmarc) == ("fail", "pass", "pass")
    assert over_smtp.dkim_domains == (domain.name,)
    assert f"header.d={domain.name}" in over_smtp.header
    assert (fetched.spf, fetched.dkim, fetched.dmarc) == ("none", "pass", "pass")


async def test_a_signature_of_another_domain_or_a_tampered_body_does_not_align(local_dns):
    with published_domain(local_dns, "quarantine") as domain, \
            published_domain(local_dns, "none") as other:
        foreign = await authenticate(signed(message(domain.address()), other.name),
                                     Envelope(), settings=settings())
        tampered_raw = signed(message(domain.address()), domain.name).replace(
            b"Please correct", b"Please pay to")
        tampered = await authenticate(tampered_raw, Envelope(), settings=settings())
    assert (foreign.dkim, foreign.dmarc, foreign.dmarc_policy) == ("pass", "fail", "quarantine")
    assert (tampered.dkim, tampered.dmarc) == ("fail", "fail")


async def test_a_second_from_address_does_not_hide_a_forged_first(local_dns):
    with published_domain(local_dns, "reject") as domain, \
            published_domain(local_dns, "none") as forger:
        raw = message(domain.address()).replace(
            f"<{domain.address()}>".encode(),
            f"<{domain.address()}>, <{forger.address()}>".encode(), 1)
        signed_by_forger = signed(raw, forger.name)
        result = await authenticate(signed_by_forger, smtp(forger.address()),
                                    settings=settings())
    assert (result.dmarc, result.dmarc_policy, result.from_domain) == (
        "fail", "reject", domain.name)


async def test_a_domain_without_dmarc_has_no_policy(local_dns):
    result = await authenticate(message("bob@nowhere-at-all.test"), smtp("bob@nowhere.test"),
                                settings=settings())
    assert (result.spf, result.dkim, result.dmarc, result.dmarc_policy) == (
        "none", "none", "none", None)


async def test_a_client_address_that_is_no_ip_address_means_no_spf(local_dns):
    with published_domain(local_dns, "reject") as domain:
        result = await authenticate(message(domain.address()),
                                    smtp(domain.address(), ip="not-an-ip"), settings=settings())
    assert (result.spf, result.dmarc) == ("none", "fail")


async def test_a_resolver_that_never_answers_is_a_temperror_quickly(local_dns):
    with published_domain(local_dns, "reject") as domain, silent_dns() as address:
        raw = signed(message(domain.address()), domain.name)
        started = time.monotonic()
        result = await authenticate(raw, smtp(domain.address()), settings=settings(
            HELPDESK_DNS_RESOLVER=address, HELPDESK_DNS_TIMEOUT_SECONDS="0.3"))
    assert time.monotonic() - started < 5
    assert "fail" not in (result.spf, result.dkim, result.dmarc)
    assert result.dmarc == "temperror" and result.spf == "temperror"


async def test_a_forger_cannot_dodge_reject_with_a_signature_whose_key_lookup_fails(
        local_dns):
    """A signature of the forger's own domain, whose key server fails: DKIM is unknown, but
    it could never have aligned with the customer's domain, so DMARC still fails."""
    with published_domain(local_dns, "reject") as domain, \
            published_domain(local_dns, "none", dkim_key=False) as forger:
        local_dns.zones.add(f"s1._domainkey.{forger.name}", "", qtype="SERVFAIL")
        try:
            raw = signed(message(domain.address()), forger.name)
            result = await authenticate(raw, smtp(domain.address()), settings=settings())
        finally:
            local_dns.zones.remove(f"s1._domainkey.{forger.name}")
    assert (result.spf, result.dkim, result.dmarc, result.dmarc_policy) == (
        "fail", "temperror", "fail", "reject")


async def test_a_failed_key_lookup_of_the_from_domain_is_a_temperror_not_a_fail(local_dns):
    with published_domain(local_dns, "reject", dkim_key=False) as domain:
        local_dns.zones.add(f"s1._domainkey.{domain.name}", "", qtype="SERVFAIL")
        try:
            raw = signed(message(domain.address()), domain.name)
            result = await authenticate(raw, Envelope(), settings=settings())
        finally:
            local_dns.zones.remove(f"s1._domainkey.{domain.name}")
    assert (result.dkim, result.dmarc) == ("temperror", "temperror")


def test_a_resolver_setting_that_is_no_address_is_refused_at_start():
    with pytest.raises(ValidationError, match="not an IP address"):
        settings(HELPDESK_DNS_RESOLVER="dns.example:53")


UPSTREAM = ("mx.relay.test; spf=fail smtp.mailfrom=ada@{d}; dkim=none; "
            "dmarc=fail (p=REJECT sp=REJECT dis=NONE) header.from={d}")
PASSING = "{id}; spf=pass smtp.mailfrom=ada@{d}; dkim=pass header.d={d}; dmarc=pass header.from={d}"


async def test_a_trusted_relays_verdict_is_used_instead_of_checking(local_dns):
    with published_domain(local_dns, "quarantine") as domain:
        raw = message(domain.address(), extra={
            "Authentication-Results": UPSTREAM.format(d=domain.name)})
        result = await authenticate(raw, Envelope(), settings=settings(
            HELPDESK_MAIL_TRUSTED_AUTHSERV_IDS="other.test, MX.relay.test"))
    # the relay's p=REJECT, not the zone's quarantine: its word is taken whole
    assert (result.spf, result.dkim, result.dmarc, result.dmarc_policy) == (
        "fail", "none", "fail", "reject")
    assert result.source == "upstream:mx.relay.test"


async def test_a_trusted_relays_verdict_without_policy_gets_it_from_dns(local_dns):
    with published_domain(local_dns, "quarantine") as domain:
        raw = message(domain.address(), extra={"Authentication-Results": (
            f"mx.relay.test; dmarc=fail header.from={domain.name}")})
        result = await authenticate(raw, Envelope(), settings=settings(
            HELPDESK_MAIL_TRUSTED_AUTHSERV_IDS="mx.relay.test"))
    assert (result.dmarc, result.dmarc_policy) == ("fail", "quarantine")


@pytest.mark.parametrize("authserv_id", ["helpdesk", "mx.stranger.test"])
async def test_a_results_header_in_our_name_or_a_strangers_is_ignored(local_dns, authserv_id):
    """Anyone can write `dmarc=pass` into a forged mail: only a trusted relay's counts, and
    ours never arrives with a mail (we write it after)."""
    with published_domain(local_dns, "reject") as domain:
        raw = message(domain.address(), extra={
            "Authentication-Results": PASSING.format(id=authserv_id, d=domain.name)})
        result = await authenticate(raw, smtp(domain.address()), settings=settings(
            HELPDESK_MAIL_TRUSTED_AUTHSERV_IDS="helpdesk,mx.relay.test"))
    assert (result.spf, result.dmarc, result.dmarc_policy) == ("fail", "fail", "reject")
    assert result.source == "local"


async def test_only_the_top_most_trusted_header_counts(local_dns):
    with published_domain(local_dns, "reject") as domain:
        raw = message(domain.address(), extra={
            "Authentication-Results": UPSTREAM.format(d=domain.name)})
        older = PASSING.format(id="mx.relay.test", d=domain.name)
        raw = raw.replace(b"\r\n\r\n", f"\r\nAuthentication-Results: {older}\r\n\r\n".encode(),
                          1)
        result = await authenticate(raw, Envelope(), settings=settings(
            HELPDESK_MAIL_TRUSTED_AUTHSERV_IDS="mx.relay.test"))
    assert result.dmarc == "fail"


def test_parsing_an_upstream_header():
    parsed = parse_authentication_results(
        "mx.google.com; dkim=pass header.i=@a.test header.s=s1 header.b=abc header.d=a.test; "
        "dkim=fail header.d=b.test; spf=softfail (google.com: domain of x@a.test) "
        "smtp.mailfrom=x@a.test; dmarc=fail policy.dmarc=quarantine header.from=A.test")
    assert parsed is not None
    assert (parsed.authserv_id, parsed.spf, parsed.dkim, parsed.dmarc) == (
        "mx.google.com", "softfail", "pass", "fail")
    assert parsed.dmarc_policy == "quarantine" and parsed.header_from == "a.test"
    assert parsed.dkim_domains == ("a.test",)
    assert parse_authentication_results("no semicolon ((( at all") is None or True
    assert parse_authentication_results("") is None


@pytest.mark.parametrize(("value", "address"), [
    ("", None), ("127.0.0.1", ("127.0.0.1", 53)), ("127.0.0.1:5353", ("127.0.0.1", 5353)),
    ("::1", ("::1", 53)), ("[::1]:5353", ("::1", 5353))])
def test_resolver_setting(value, address):
    assert resolver_address(value) == address


@pytest.mark.parametrize("value", ["dns.example", "127.0.0.1:0", "127.0.0.1:x", "[::1]:99999"])
def test_resolver_setting_refused(value):
    with pytest.raises(ValueError):
        resolver_address(value)


def test_alignment_and_policy_rules():
    assert aligned("mail.shop.test", "shop.test", strict=False)
    assert not aligned("mail.shop.test", "shop.test", strict=True)
    assert not aligned("shop.test", "evil.test", strict=False)
    assert dmarc_policy({"p": "reject", "sp": "none"}, subdomain=True) == "none"
    assert dmarc_policy({"p": "reject"}, subdomain=True) == "reject"
    assert dmarc_policy({"p": "bogus"}, subdomain=False) == "none"
    assert dmarc_record("v=DMARC1; p=Reject; sp=none;") == {
        "v": "dmarc1", "p": "reject", "sp": "none"}


@pytest.mark.parametrize(("domain", "org"), [
    ("a.example.com", "example.com"), ("x.co.uk", "x.co.uk"), ("mail.x.co.uk", "x.co.uk"),
    ("cust-a.test", "cust-a.test"), ("mail.cust-a.test", "cust-a.test"), ("test", "test")])
def test_organisational_domain(domain, org):
    assert org_domain(domain) == org


def test_the_local_dns_server_answers_nxdomain_for_unknown_names(local_dns: LocalDns):
    import dns.resolver
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers, resolver.port, resolver.lifetime = ["127.0.0.1"], local_dns.port, 2
    with pytest.raises(dns.resolver.NXDOMAIN):
        resolver.resolve("unknown.test", "TXT")


@pytest.mark.parametrize(("value", "domain"), [
    ("Shop.Example.", "shop.example"), ("bücher.example", "bücher.example"),
    ("nij\x00l.example", None), ("a b.example", None), ("", None), ("x" * 254, None),
    ("[127.0.0.1]", None)])
def test_only_domain_names_are_kept(value, domain):
    assert domain_name(value) == domain


async def test_a_from_domain_with_a_nul_is_no_domain(local_dns):
    raw = message("ada@example.com").replace(b"ada@example.com", b"ada@nij\x00l.example")
    result = await authenticate(raw, smtp("ada@example.com"), settings=settings())
    assert result.from_domain is None and result.dmarc == "none"
    assert "\x00" not in result.header
