"""SPF, DKIM and DMARC of one inbound mail (issue 20, item 1).

`authenticate` never raises for a mail or a DNS failure: a lookup that fails or times out is
a temperror in the result, and a temperror refuses nothing (domain/mail_screening.py acts on
a DMARC *fail* only), so a broken resolver delays or loses no mail.

Every lookup goes to one resolver, built from `HELPDESK_DNS_RESOLVER` and
`HELPDESK_DNS_TIMEOUT_SECONDS`: dkimpy is handed it as its `dnsfunc`, the DMARC lookup here
uses it, and pyspf's module-level lookup is pointed at it for the checks this module runs.

A mail carrying an Authentication-Results header of a relay we trust (by authserv-id,
`HELPDESK_MAIL_TRUSTED_AUTHSERV_IDS`) is not checked again: the top-most such header's
verdicts are ours. A header in our own name, or an untrusted relay's, is ignored: anyone can
write one into a mail.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses
from functools import cache
from typing import Any

import authres
import dkim
import dns.exception
import dns.name
import dns.resolver
import spf
from authres.dmarc import DMARCAuthenticationResult
from publicsuffix2 import PublicSuffixList

from domain.dns_resolver import resolver_address
from domain.mail_screening import AuthResults, Envelope
from settings import Settings

log = logging.getLogger("helpdesk.email.authentication")

RESULT_WORDS = frozenset({"pass", "fail", "softfail", "neutral", "none", "temperror",
                          "permerror", "policy"})
POLICIES = frozenset({"none", "quarantine", "reject"})


async def authenticate(raw: bytes, envelope: Envelope, *, settings: Settings) -> AuthResults:
    """The mail's authentication results, checked by us or taken from a trusted relay."""
    try:  # DNS waits and RSA: off the event loop
        return await asyncio.to_thread(_authenticate, raw, envelope, settings)
    except Exception:  # a bug here must not cost the mail: unknown, as if DNS had failed
        log.exception("mail authentication failed")
        unknown = AuthResults(spf="temperror", dkim="temperror", dmarc="temperror")
        return _with_header(unknown, settings)


# --- the one resolver ----------------------------------------------------------------------

def make_resolver(settings: Settings) -> dns.resolver.Resolver:
    address = resolver_address(settings.dns_resolver)
    if address is None:
        resolver = dns.resolver.Resolver()  # the system's (/etc/resolv.conf)
    else:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [address[0]]
        resolver.port = address[1]
    resolver.timeout = resolver.lifetime = settings.dns_timeout_seconds
    return resolver


class Lookups:
    """TXT lookups through one resolver, remembering whether any of them failed (a timeout,
    no server answering) as opposed to finding nothing (NXDOMAIN, no TXT)."""

    def __init__(self, resolver: dns.resolver.Resolver) -> None:
        self.resolver = resolver
        self.failed = False

    def answer(self, name: str, qtype: str) -> dns.resolver.Answer | None:
        try:
            asked = dns.name.from_text(name)
        except (dns.exception.DNSException, ValueError):
            return None  # a name that cannot be asked (too long, bad IDNA) names nothing
        try:
            return self.resolver.resolve(asked, qtype, search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return None
        except (dns.exception.DNSException, OSError) as error:
            self.failed = True
            raise _DnsTrouble(str(error)) from error

    def txt(self, name: str) -> list[bytes]:
        answer = self.answer(name, "TXT")
        return [b"".join(r.strings) for r in answer] if answer is not None else []

    def dkim_txt(self, name: bytes | str, timeout: float = 5) -> bytes | None:
        """dkimpy's dnsfunc: the key record, None when there is none."""
        text = name.decode("ascii", "replace") if isinstance(name, bytes) else name
        try:
            records = self.txt(text)
        except _DnsTrouble as error:
            raise dkim.DnsTimeoutError(str(error)) from error
        return records[0] if records else None

    def dmarc_txt(self, name: str) -> str | None:
        """The DMARC record at a _dmarc name: its text, None when there is none."""
        found = [r.decode("utf-8", "replace") for r in self.txt(name) if _DMARC1.match(r)]
        return found[0] if len(found) == 1 else None  # two records count as none (RFC 7489)

    def spf_lookup(self, name: str, qtype: str, strict: bool = True,
                   timeout: float = 20) -> list[tuple[tuple[str, str], Any]]:
        """pyspf's DNSLookup, as its dnspython one but through our resolver."""
        try:
            answer = self.answer(name, qtype)
        except _DnsTrouble as error:
            raise spf.TempError(f"DNS {error}") from error
        found: list[tuple[tuple[str, str], Any]] = []
        for rdata in answer or ():
            if qtype in ("A", "AAAA"):
                found.append(((name, qtype), rdata.address))
            elif qtype == "MX":
                found.append(((name, qtype), (rdata.preference, rdata.exchange)))
            elif qtype == "PTR":
                found.append(((name, qtype), rdata.target.to_text(True)))
            elif qtype in ("TXT", "SPF"):
                found.append(((name, qtype), rdata.strings))
        return found


_DMARC1 = re.compile(rb"v\s*=\s*DMARC1\s*(;|$)", re.I)


class _DnsTrouble(Exception):
    pass


# pyspf looks names up through a module global: point it, once, at the lookups of whichever
# check runs in this context (asyncio.to_thread carries the context into its thread).
_spf_lookups: ContextVar[Lookups | None] = ContextVar("spf_lookups", default=None)
_pyspf_own_lookup = spf.DNSLookup


def _spf_dns(name: str, qtype: str, strict: bool = True, timeout: float = 20) -> Any:
    lookups = _spf_lookups.get()
    if lookups is None:  # someone else's SPF check: pyspf's own way
        return _pyspf_own_lookup(name, qtype, strict, timeout)
    return lookups.spf_lookup(name, qtype, strict, timeout)


spf.DNSLookup = _spf_dns


@contextmanager
def _spf_through(lookups: Lookups) -> Iterator[None]:
    token = _spf_lookups.set(lookups)
    try:
        yield
    finally:
        _spf_lookups.reset(token)


# --- checking ------------------------------------------------------------------------------

def _authenticate(raw: bytes, envelope: Envelope, settings: Settings) -> AuthResults:
    headers = BytesHeaderParser(policy=compat32).parsebytes(raw)
    from_domains = from_domains_of(headers)
    from_domain = from_domains[0] if from_domains else None
    try:
        resolver = make_resolver(settings)
    except (ValueError, dns.exception.DNSException) as error:
        log.warning("no DNS resolver for mail authentication: %s", error)
        unknown = AuthResults(spf="temperror", dkim="temperror", dmarc="temperror",
                              from_domain=from_domain)
        return _with_header(unknown, settings)
    lookups = Lookups(resolver)
    upstream = trusted_upstream(headers.get_all("Authentication-Results") or [], settings)
    if upstream is not None:
        return _with_header(_from_upstream(upstream, from_domain, lookups), settings)
    spf_result, spf_domain = _check_spf(envelope, lookups, settings)
    dkim_check = _check_dkim(raw, lookups)
    # Several From addresses: each domain's DMARC counts, and the strictest failure decides
    # (RFC 7489 6.6.1), or a forger would add a second address to escape `p=reject`.
    verdicts: list[tuple[tuple[str, str | None], str | None]] = [
        (_check_dmarc(domain, spf_result, spf_domain, dkim_check, lookups), domain)
        for domain in from_domains[:5]] or [(("none", None), None)]
    (dmarc, policy), from_domain = min(verdicts, key=lambda v: _severity(*v[0]))
    results = AuthResults(spf=spf_result, dkim=dkim_check.result, dmarc=dmarc,
                          dmarc_policy=policy, from_domain=from_domain,
                          dkim_domains=dkim_check.passed,
                          source="local")
    return _with_header(results, settings, smtp_mailfrom=envelope.mail_from,
                        smtp_helo=envelope.helo)


def from_domains_of(headers: Message) -> list[str]:
    """The RFC5322.From domains DMARC is about, in order, each once."""
    found: list[str] = []
    for _, address in getaddresses([str(v) for v in headers.get_all("From") or []]):
        domain = domain_name(address.rpartition("@")[2]) if "@" in address else None
        if domain and domain not in found:
            found.append(domain)
    return found


_SEVERITY = {("fail", "reject"): 0, ("fail", "quarantine"): 1, ("temperror", None): 2,
             ("fail", None): 3, ("permerror", None): 4, ("none", None): 5}


def _severity(dmarc: str, policy: str | None) -> int:
    return _SEVERITY.get((dmarc, policy), _SEVERITY.get((dmarc, None), 6))


_DOMAIN = re.compile(r"[\w-]+(\.[\w-]+)*")


def domain_name(value: Any) -> str | None:
    """A domain as mail names it (lower-cased, no final dot), None for anything that is not
    one: what we store and show must be a name, not whatever bytes a header held."""
    domain = str(value or "").strip().rstrip(".").lower()
    return domain if len(domain) <= 253 and _DOMAIN.fullmatch(domain) else None


def valid_ip(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def _check_spf(envelope: Envelope, lookups: Lookups,
               settings: Settings) -> tuple[str, str | None]:
    """SPF of the connecting address for the envelope sender (or the HELO name for a null
    sender); "none" without an address (IMAP, the API)."""
    ip = valid_ip(envelope.client_ip)
    if ip is None:
        return "none", None
    helo = (envelope.helo or "").strip()
    mail_from = (envelope.mail_from or "").strip()
    domain = mail_from.rpartition("@")[2].lower() if "@" in mail_from else helo.lower()
    if not domain:
        return "none", None
    try:
        with _spf_through(lookups):
            result, _ = spf.check2(ip, mail_from, helo or domain,
                                   querytime=settings.dns_timeout_seconds * 3)
    except Exception as error:  # pyspf's own bugs on odd input: unknown
        log.warning("SPF check failed: %s", error)
        return "temperror", domain
    result = str(result).lower()
    return (result if result in RESULT_WORDS else "permerror"), domain


@dataclass(frozen=True)
class DkimCheck:
    result: str
    passed: tuple[str, ...] = ()  # the domains of the signatures that verified
    unknown: tuple[str, ...] = ()  # those whose key lookup failed (might have verified)


def _check_dkim(raw: bytes, lookups: Lookups) -> DkimCheck:
    """Every DKIM signature checked: pass when one passes."""
    try:
        count = sum(1 for name, _ in dkim.DKIM(raw).headers
                    if name.lower() == b"dkim-signature")
    except Exception:  # a message dkimpy cannot read at all
        return DkimCheck("permerror")
    if count == 0:
        return DkimCheck("none")
    passed: list[str] = []
    unknown: list[str] = []
    for index in range(min(count, 5)):  # a mail with fifty signatures gets five lookups
        signer = dkim.DKIM(raw)
        lookups.failed = False
        try:
            ok = signer.verify(idx=index, dnsfunc=lookups.dkim_txt)
        except Exception:
            ok = False
        fields = getattr(signer, "signature_fields", None) or {}
        domain = domain_name(fields.get(b"d", b"").decode("ascii", "replace"))
        if domain is None:
            continue
        if ok and domain not in passed:
            passed.append(domain)
        elif not ok and lookups.failed and domain not in unknown:
            unknown.append(domain)
    if passed:
        return DkimCheck("pass", tuple(passed), tuple(unknown))
    return DkimCheck("temperror" if unknown else "fail", (), tuple(unknown))


def _check_dmarc(from_domain: str | None, spf_result: str, spf_domain: str | None,
                 dkim_check: DkimCheck, lookups: Lookups) -> tuple[str, str | None]:
    """DMARC result and the published policy (None: no record). A check that could not be
    made counts only if it could have passed aligned: a forger cannot dodge `p=reject` by
    signing with a domain of their own whose key lookup times out."""
    if from_domain is None:
        return "none", None
    try:
        record, org = receiver_record(from_domain, dnsfunc=lookups.dmarc_txt)
    except _DnsTrouble:
        return "temperror", None
    except DMARCException:
        return "permerror", None
    if not record or not record.get("p"):
        return "none", None
    policy = dmarc_policy(record, subdomain=org is not None)
    strict_spf, strict_dkim = record.get("aspf", "r") == "s", record.get("adkim", "r") == "s"
    spf_aligned = spf_domain is not None and aligned(from_domain, spf_domain,
                                                     strict=strict_spf)
    if (spf_result == "pass" and spf_aligned) or any(
            aligned(from_domain, d, strict=strict_dkim) for d in dkim_check.passed):
        return "pass", policy
    if (spf_result == "temperror" and spf_aligned) or any(
            aligned(from_domain, d, strict=strict_dkim) for d in dkim_check.unknown):
        return "temperror", policy
    return "fail", policy


def dmarc_policy(record: dict[str, str], *, subdomain: bool) -> str | None:
    """The policy that applies: `sp` for a subdomain found through its organisation's record
    (defaulting to `p`); an unknown word is treated as none (RFC 7489 6.3)."""
    policy = (record.get("sp") or record.get("p")) if subdomain else record.get("p")
    policy = (policy or "").strip().rstrip("\\").lower()
    return policy if policy in POLICIES else "none"


class DMARCException(Exception):
    """A DMARC record that cannot be read: a permerror."""


def dmarc_record(text: str) -> dict[str, str]:
    """A DMARC record's tags (lower-cased); DMARCException when one has no value."""
    tags: dict[str, str] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        if not sep or not name.strip():
            raise DMARCException(f"missing tag or value: {part.strip()[:50]}")
        tags.setdefault(name.strip().lower(), value.strip().lower())
    return tags


def receiver_record(domain: str, *, dnsfunc: Any) -> tuple[dict[str, str], str | None]:
    """The DMARC record for `domain`: its own, else its organisational domain's (then that
    domain is returned too; RFC 7489 6.6.3)."""
    text = dnsfunc(f"_dmarc.{domain}")
    if text:
        return dmarc_record(text), None
    org = org_domain(domain)
    if org == domain:
        return {}, None
    text = dnsfunc(f"_dmarc.{org}")
    return (dmarc_record(text), org) if text else ({}, None)


@cache
def _suffixes() -> PublicSuffixList:
    return PublicSuffixList()


def org_domain(domain: str) -> str:
    """The organisational domain: the public suffix and one label more. A suffix the list
    does not know counts as one label (the list's `*` rule), so two names under an unlisted
    top-level domain (.test, a new gTLD) never align with each other."""
    domain = domain.lower().rstrip(".")
    labels = domain.split(".")
    suffix = _suffixes().get_tld(domain) or labels[-1]
    keep = suffix.count(".") + 2
    return ".".join(labels[-keep:]) if len(labels) >= keep else domain


def aligned(from_domain: str, other: str, *, strict: bool) -> bool:
    from_domain, other = from_domain.lower().rstrip("."), other.lower().rstrip(".")
    if strict:
        return from_domain == other
    return bool(from_domain) and bool(other) and (
        org_domain(from_domain) == org_domain(other))


# --- a trusted relay's verdict -------------------------------------------------------------

@dataclass(frozen=True)
class Upstream:
    authserv_id: str
    spf: str
    dkim: str
    dmarc: str
    dmarc_policy: str | None
    header_from: str | None
    dkim_domains: tuple[str, ...]


_POLICY_COMMENT = re.compile(r"\bdmarc\s*=\s*\w+\s*\(([^)]*)\)", re.I)
_P_TAG = re.compile(r"(?:^|[\s;])p\s*=\s*(\w+)", re.I)


def trusted_upstream(values: list[Any], settings: Settings) -> Upstream | None:
    """The top-most Authentication-Results header (headers are prepended, so the first) of a
    relay we trust; one in our own name or an unknown relay's is ignored."""
    trusted = settings.trusted_authserv_ids - {settings.mail_authserv_id.strip().lower()}
    for value in values:
        text = " ".join(str(value).split())
        parsed = parse_authentication_results(text)
        if parsed is None or parsed.authserv_id not in trusted:
            continue
        return parsed
    return None


def parse_authentication_results(text: str) -> Upstream | None:
    """One Authentication-Results value, read with authres; None if it does not parse."""
    try:
        header = authres.all_features().parse_value(text)
    except Exception:  # authres raises its own errors (and others) on garbage
        return None
    authserv_id = str(header.authserv_id or "").strip().lower()
    if not authserv_id:
        return None
    verdict = {"spf": "none", "dkim": "none", "dmarc": "none"}
    policy: str | None = None
    header_from: str | None = None
    dkim_domains: list[str] = []
    for result in header.results:
        method = str(result.method).lower()
        word = str(result.result or "none").lower()
        word = word if word in RESULT_WORDS else "permerror"
        if method == "dkim":
            if word == "pass":
                domain = domain_name(getattr(result, "header_d", None))
                if domain and domain not in dkim_domains:
                    dkim_domains.append(domain)
            # any passing signature makes DKIM pass, as when we check
            if verdict["dkim"] != "pass":
                verdict["dkim"] = word
        elif method in ("spf", "dmarc") and verdict[method] == "none":
            verdict[method] = word
            if method == "dmarc":
                policy = _word(getattr(result, "policy", None))
                header_from = domain_name(getattr(result, "header_from", None))
    if policy is None and (comment := _POLICY_COMMENT.search(text)):
        if tag := _P_TAG.search(comment.group(1)):
            policy = _word(tag.group(1))
    return Upstream(authserv_id, verdict["spf"], verdict["dkim"], verdict["dmarc"], policy,
                    header_from, tuple(dkim_domains))


def _word(value: Any) -> str | None:
    word = str(value or "").strip().lower()
    return word if word in POLICIES else None


def _from_upstream(upstream: Upstream, from_domain: str | None,
                   lookups: Lookups) -> AuthResults:
    policy = upstream.dmarc_policy
    domain = from_domain or upstream.header_from
    if policy is None and upstream.dmarc != "none" and domain is not None:
        try:  # the relay said pass or fail but not under which policy: ask DNS
            record, org = receiver_record(domain, dnsfunc=lookups.dmarc_txt)
            if record and record.get("p"):
                policy = dmarc_policy(record, subdomain=org is not None)
        except (_DnsTrouble, DMARCException):
            policy = None
    return AuthResults(spf=upstream.spf, dkim=upstream.dkim, dmarc=upstream.dmarc,
                       dmarc_policy=policy, from_domain=domain,
                       dkim_domains=upstream.dkim_domains,
                       source=f"upstream:{upstream.authserv_id}")


# --- the header we record ------------------------------------------------------------------

def _with_header(results: AuthResults, settings: Settings, *, smtp_mailfrom: str | None = None,
                 smtp_helo: str | None = None) -> AuthResults:
    return replace(results, header=authentication_results(
        results, settings.mail_authserv_id, smtp_mailfrom=smtp_mailfrom, smtp_helo=smtp_helo))


def authentication_results(results: AuthResults, authserv_id: str, *,
                           smtp_mailfrom: str | None = None,
                           smtp_helo: str | None = None) -> str:
    """An RFC 8601 Authentication-Results value for what we found (or were told)."""
    features = authres.all_features()
    spf_kwargs: dict[str, Any] = {}
    if smtp_mailfrom:
        spf_kwargs["smtp_mailfrom"] = _token(smtp_mailfrom)
    elif smtp_helo:
        spf_kwargs["smtp_helo"] = _token(smtp_helo)
    clauses: list[Any] = [authres.SPFAuthenticationResult(result=results.spf, **spf_kwargs)]
    if results.dkim_domains:
        clauses += [authres.DKIMAuthenticationResult(result="pass", header_d=_token(d))
                    for d in results.dkim_domains]
    else:
        clauses.append(authres.DKIMAuthenticationResult(result=results.dkim))
    dmarc_kwargs: dict[str, Any] = {}
    if results.from_domain:
        dmarc_kwargs["header_from"] = _token(results.from_domain)
    if results.dmarc_policy:
        dmarc_kwargs["policy"] = results.dmarc_policy
    clauses.append(DMARCAuthenticationResult(result=results.dmarc, **dmarc_kwargs))
    comment = (results.source.removeprefix("upstream:")
               if results.source.startswith("upstream:") else None)
    header = features.header(authserv_id=_token(authserv_id) or "helpdesk",
                             authserv_id_comment=f"via {comment}" if comment else None,
                             results=clauses)
    return " ".join(str(header).removeprefix("Authentication-Results:").split())


def _token(value: str) -> str:
    """Printable ASCII without the characters that would break the header's grammar."""
    return "".join(c for c in value if "!" <= c <= "~" and c not in '();"\\')[:200]
