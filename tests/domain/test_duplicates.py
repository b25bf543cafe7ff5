"""Duplicate detection's rules: fingerprints, the match and its reasons, the window; and how
precise the rule is on a labeled set of realistic tickets (tests/fixtures/duplicates)."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from domain.duplicates import (
    DEFAULT_WINDOW,
    Candidate,
    Fingerprint,
    error_codes,
    fingerprint,
    match,
    sender_key,
    subject_key,
    suggestions,
)

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "duplicates" / "tickets.json"
START = datetime(2026, 12, 1, 8, tzinfo=UTC)


@pytest.mark.parametrize(("subject", "key"), [
    ("VPN down", "vpn down"),
    ("RE: AW: Fwd: VPN down!!", "vpn down"),
    ("SV: [TKT-881] VPN down", "vpn down"),
    ("TKT-12 Re: VPN down", "vpn down"),
    ("VPN down again - URGENT", "vpn down"),
    ("CSV export missing 3 columns since 2026-12-04", "csv export missing # columns since # # #"),
    ("Order #10023: items missing", "order #10023 items missing"),
    ("Invoice no. 55120 is wrong", "invoice #55120 is wrong"),
    ("Checkout fails with ERR-4012", "checkout fails with err-4012"),
    ("Setup stops with 0x80070005", "setup stops with 0x80070005"),
    ("HTTP 503 from the orders API", "http 503 from the orders api"),
    ("Help", ""),
    ("Re: question", ""),
    ("URGENT please help", ""),
    ("", ""),
])
def test_a_subject_is_keyed_without_prefixes_tags_counts_or_chasing_but_with_codes_and_ids(
        subject: str, key: str) -> None:
    assert subject_key(subject) == key


@pytest.mark.parametrize(("text", "codes"), [
    ("The page says ERR-4012.", {"ERR-4012"}),
    ("ORA-00942: table or view does not exist", {"ORA-00942"}),
    ("printer shows E2041, then SQL0204N", {"E2041", "SQL0204N"}),
    ("setup failed 0x80070005", {"0x80070005"}),
    ("HTTP/1.1 502 from the proxy, then 503 Service Unavailable", {"HTTP 502", "HTTP 503"}),
    ("Clicking export gives error 500.", {"HTTP 500"}),
    ("about [TKT-881], UTF-8 and ISO-8859 files, COVID-19", set()),
    ("we have 25 seats since 2026-12-04, call +1 555 0100", set()),
])
def test_error_codes_are_found_in_the_forms_products_print_them(text: str,
                                                                codes: set[str]) -> None:
    assert error_codes(text) == codes


def test_a_free_mail_domain_is_no_organization_but_the_address_is_one_person() -> None:
    assert sender_key("Maria.Lopez@Acme-Corp.com") == "acme-corp.com"
    assert sender_key("jo@gmail.com") == "jo@gmail.com"
    assert sender_key("slack.u04abc@no-mail.example") == "slack.u04abc@no-mail.example"
    assert sender_key("") is None


def test_quoted_lines_of_an_earlier_mail_name_no_codes_of_this_ticket() -> None:
    found = fingerprint(subject="Still broken", body="See below\n> ERR-1234 on save",
                        customer_email="a@acme.example")

    assert found.error_codes == frozenset()


def test_each_match_says_why() -> None:
    vpn = fingerprint(subject="VPN down", body="", customer_email="a@acme.example")
    vpn_too = fingerprint(subject="Re: VPN down", body="", customer_email="b@acme.example")
    coded = fingerprint(subject="Cannot save", body="It says ERR-1234",
                        customer_email="c@acme.example")
    coded_elsewhere = fingerprint(subject="Cannot save", body="ERR-1234 again",
                                  customer_email="d@other.example")
    same_person = fingerprint(subject="Cant log in", body="", customer_email="jo@gmail.com")
    again = fingerprint(subject="Can't log in", body="", customer_email="jo@gmail.com")

    assert _reason(vpn, vpn_too) == "same subject and sender domain"
    assert _reason(coded, fingerprint(subject="Saving broken", body="ERR-1234",
                                      customer_email="e@acme.example")) \
        == "same error code ERR-1234 (same sender domain)"
    assert _reason(coded, coded_elsewhere) == "same error code ERR-1234 (same subject)"
    assert _reason(same_person, again) == "nearly the same subject and same customer"


@pytest.mark.parametrize(("a", "b"), [
    # Colleagues at one company with different problems.
    (("New laptop request", "", "a@acme.example"), ("VPN down", "", "b@acme.example")),
    # A generic subject is no evidence.
    (("Question", "", "a@acme.example"), ("Question", "", "b@acme.example")),
    # Strangers at one free-mail provider.
    (("Refund request", "", "lisa@gmail.com"), ("Refund request", "", "tom@gmail.com")),
    # Two orders of one customer.
    (("Order 77120 missing items", "", "p@soylent.example"),
     ("Order 77348 missing items", "", "p@soylent.example")),
    # The same HTTP status in unrelated requests of one company.
    (("Export page error 500", "", "qa@stark.example"),
     ("Avatar upload gives HTTP 500", "", "qa@stark.example")),
    # The same error code from strangers who describe it differently.
    (("Import job failing", "ERR-7730", "ops@cyberdyne.example"),
     ("Cannot import customers", "ERR-7730", "data@tyrell.example")),
])
def test_near_misses_do_not_match(a: tuple[str, str, str], b: tuple[str, str, str]) -> None:
    assert match(_fp(*a), _fp(*b)) is None


def test_suggestions_are_within_the_window_and_newest_first() -> None:
    me = _candidate("me", hours=0)
    found = suggestions(me, [_candidate("older", hours=-20), _candidate("newer", hours=3),
                             _candidate("too-old", hours=-25), _candidate("me", hours=0)],
                        window=DEFAULT_WINDOW)

    assert [c.ticket_id for c, _ in found] == ["newer", "older"]
    assert suggestions(me, [_candidate("older", hours=-20)], window=timedelta(hours=12)) == []


def test_precision_and_recall_on_the_labeled_tickets(capsys: pytest.CaptureFixture[str]
                                                     ) -> None:
    tickets = json.loads(CORPUS.read_text())
    candidates = {t["id"]: Candidate(
        ticket_id=t["id"], created_at=START + timedelta(minutes=t["minutes"]),
        fingerprint=fingerprint(subject=t["subject"], body=t["body"], customer_email=t["from"]))
        for t in tickets}
    group = {t["id"]: t["group"] for t in tickets}
    suggested = {frozenset((c.ticket_id, other.ticket_id))
                 for c in candidates.values()
                 for other, _ in suggestions(c, candidates.values(), window=DEFAULT_WINDOW)}
    duplicates = {frozenset((a, b)) for a, b in itertools.combinations(group, 2)
                  if group[a] is not None and group[a] == group[b]}

    right = suggested & duplicates
    precision, recall = len(right) / len(suggested), len(right) / len(duplicates)
    with capsys.disabled():
        print(f"\nduplicate suggestions on {len(tickets)} labeled tickets: {len(suggested)} "
              f"pairs suggested, {len(right)} right, of {len(duplicates)} duplicate pairs: "
              f"precision {precision:.2f}, recall {recall:.2f}")
    assert len(tickets) >= 60
    assert precision >= 0.9
    assert recall >= 0.75


def _fp(subject: str, body: str, sender: str) -> Fingerprint:
    return fingerprint(subject=subject, body=body, customer_email=sender)


def _reason(a: Fingerprint, b: Fingerprint) -> str | None:
    found = match(a, b)
    return found.reason if found else None


def _candidate(name: str, *, hours: float) -> Candidate:
    return Candidate(ticket_id=name, created_at=START + timedelta(hours=hours),
                     fingerprint=_fp("VPN down", "", f"{name}@acme.example"))
