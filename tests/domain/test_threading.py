"""Threading decisions: which layer finds the ticket, and how robust the subject tag is."""

from __future__ import annotations

import pytest

from domain.threading import Outcome, first_match, reference_chain, subject_ref


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
