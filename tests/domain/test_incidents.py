"""Which new tickets an incident claims, and what a repeat report's priority becomes."""

from __future__ import annotations

import pytest

from domain.incidents import IntakeTicket, MatchRules, matches, normalized, throttled_priority


def ticket(subject: str = "Hello", body: str = "", email: str = "ada@example.com",
           tags: tuple[str, ...] = ()) -> IntakeTicket:
    return IntakeTicket(subject=subject, body=body, customer_email=email, tags=tags)


@pytest.mark.parametrize(("text", "hit"), [
    ("Checkout failed at noon", True),
    ("CHECKOUT   FAILED", True),  # any case, any spacing
    ("the checkout\nfailed", True),
    ("checkout failedness", False),  # whole words only
    ("precheckout failed", False),
    ("checkout", False),  # the whole phrase
])
def test_keywords_are_whole_words_or_phrases_in_any_case(text, hit):
    assert matches(MatchRules(keywords=["checkout failed"]), ticket(body=text)) is hit


@pytest.mark.parametrize(("text", "hit"), [
    ("got E503.", True), ("(e503)", True), ("code: E503", True),
    ("E5031", False), ("XE503", False), ("E503-b", False),
])
def test_error_codes_are_whole_tokens(text, hit):
    assert matches(MatchRules(error_codes=["E503"]), ticket(subject=text)) is hit


@pytest.mark.parametrize(("email", "hit"), [
    ("a@shop.example", True), ("a@EU.Shop.Example", True),
    ("a@myshop.example", False), ("a@shop.example.org", False),
])
def test_sender_domains_include_their_subdomains(email, hit):
    assert matches(MatchRules(sender_domains=["shop.example"]), ticket(email=email)) is hit


def test_tags_match_any_shared_tag_and_no_rules_match_nothing():
    assert matches(MatchRules(tags=["Payments"]), ticket(tags=("payments", "eu")))
    assert not matches(MatchRules(tags=["payments"]), ticket(tags=("sizing",)))
    assert not matches(MatchRules(), ticket(subject="Checkout failed E503"))


@pytest.mark.parametrize(("current", "repeat", "lowered"), [
    ("urgent", "normal", "medium"), ("urgent", "low", "low"), ("high", "high", None),
    ("low", "high", None),  # never raised
    ("urgent", None, None), ("medium", "normal", None),
])
def test_a_repeat_report_is_only_ever_lowered(current, repeat, lowered):
    assert throttled_priority(current, repeat) == lowered


def test_rules_are_trimmed_and_deduplicated():
    assert normalized([" Payment ", "payment", "", "card  declined"]) == [
        "payment", "card declined"]
