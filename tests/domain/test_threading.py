"""Threading decisions: which layer finds the ticket, and how robust the subject tag is."""

from __future__ import annotations

import pytest

from domain.threading import (
    Outcome,
    address_ref,
    first_match,
    is_reply_subject,
    is_support_address,
    normalized_subject,
    possible_thread,
    reference_chain,
    similar_subjects,
    subject_ref,
)

SUPPORT = frozenset({"support@desk.example"})


@pytest.mark.parametrize(("subject", "ref"), [
    ("[TKT-12] Wrong size", "TKT-12"),
    ("RE: AW: Fwd: [TKT-12] Wrong size", "TKT-12"),
    ("Re:[tkt-12]Wrong size", "TKT-12"),
    ("Wrong size [ TKT-7 ]", "TKT-7"),
    ("TKT-12 without brackets", None),
    ("[TKT-] nothing", None),
    ("", None),
])
def test_the_subject_tag_survives_what_mail_clients_do_to_subjects(subject, ref):
    assert subject_ref(subject) == ref


def test_in_reply_to_comes_first_then_references_newest_first_without_repeats():
    chain = reference_chain("<c@x>", ["<a@x>", "<b@x>", "<c@x>"])

    assert chain == ["<c@x>", "<b@x>", "<a@x>"]


def test_each_layer_is_tried_in_order_of_trust():
    by_id = {"<reply@x>": "T1", "<older@x>": "T2"}
    by_ref = {"TKT-3": "T3"}

    assert first_match("<reply@x>", ["<older@x>"], "[TKT-3]", by_id, by_ref) == (
        "T1", Outcome.THREADED_IN_REPLY_TO)
    assert first_match("<unknown@x>", ["<older@x>"], "[TKT-3]", by_id, by_ref) == (
        "T2", Outcome.THREADED_REFERENCES)
    assert first_match(None, ["<unknown@x>"], "Re: [TKT-3]", by_id, by_ref) == (
        "T3", Outcome.THREADED_SUBJECT_TAG)
    assert first_match(None, [], "Re: [TKT-4]", by_id, by_ref) is None


def test_the_address_tag_comes_right_after_the_subject_tag():
    by_ref = {"TKT-3": "T3", "TKT-5": "T5"}

    assert first_match(None, [], "Re: [TKT-3]", {}, by_ref, recipients_ref="TKT-5") == (
        "T3", Outcome.THREADED_SUBJECT_TAG)
    assert first_match(None, [], "Re: my order", {}, by_ref, recipients_ref="TKT-5") == (
        "T5", Outcome.THREADED_ADDRESS_TAG)
    assert first_match("<x@y>", [], "", {"<x@y>": "T1"}, by_ref, recipients_ref="TKT-5") == (
        "T1", Outcome.THREADED_IN_REPLY_TO)
    assert first_match(None, [], "", {}, by_ref, recipients_ref="TKT-9") is None


@pytest.mark.parametrize(("recipients", "ref"), [
    (["support+TKT-12@desk.example"], "TKT-12"),
    (["Support+tkt-12@Desk.Example"], "TKT-12"),
    (["ada@example.com", "support+TKT-3@desk.example"], "TKT-3"),
    (["support@desk.example"], None),
    (["support+urgent@desk.example"], None),
    (["support+TKT-12x@desk.example"], None),
    (["other+TKT-12@desk.example"], None),  # not a support address: anyone's plus-address
    (["support+TKT-12@elsewhere.example"], None),
    (["not an address"], None),
])
def test_the_address_tag_counts_only_on_a_support_address(recipients, ref):
    assert address_ref(recipients, SUPPORT) == ref


def test_subaddresses_of_a_support_address_are_ours():
    assert is_support_address("support@desk.example", SUPPORT)
    assert is_support_address("SUPPORT+TKT-1@desk.example", SUPPORT)
    assert is_support_address("support+anything@desk.example", SUPPORT)
    assert not is_support_address("support-team@desk.example", SUPPORT)
    assert not is_support_address("ada+support@desk.example", SUPPORT)
    assert not is_support_address(None, SUPPORT)
    assert not is_support_address("", SUPPORT)


@pytest.mark.parametrize(("subject", "normalized"), [
    ("Re: AW: Fwd: [TKT-12] My  Order", "my order"),
    ("SV: WG: my order", "my order"),
    ("RE[2]: FW: My order ", "my order"),
    ("[list] Re: My order", "my order"),
    ("Re: Re:", ""),
    ("Regarding my order", "regarding my order"),  # a word, not a prefix
])
def test_subjects_normalize_away_prefixes_tags_case_and_spacing(subject, normalized):
    assert normalized_subject(subject) == normalized


@pytest.mark.parametrize(("a", "b", "similar"), [
    ("My order is wrong", "Re: my order is wrong", True),
    ("My order is wrong", "AW: My order is wrong!", True),  # ratio above 0.9
    ("Order 1234 missing", "Order 5678 missing", False),
    ("My order is wrong", "Invoice question", False),
    ("", "Re:", False),  # nothing left to compare says nothing
])
def test_similar_subjects_equal_once_normalized_or_nearly_so(a, b, similar):
    assert similar_subjects(a, b) is similar


def test_the_most_recent_similar_candidate_is_the_one_to_flag():
    candidates = [("TKT-9", "Invoice"), ("TKT-8", "My order"), ("TKT-7", "my order")]

    assert possible_thread("Re: My order", candidates) == "TKT-8"
    assert possible_thread("Something else", candidates) is None


def test_reply_subjects_are_told_from_forwards_and_new_mail():
    assert is_reply_subject("Re: order") and is_reply_subject("[TKT-1] AW: order")
    assert not is_reply_subject("Fwd: order") and not is_reply_subject("Regarding order")
