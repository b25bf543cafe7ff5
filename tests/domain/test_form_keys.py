"""The help form's signed key: what it proves about the form that comes back with it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.form_keys import (
    FormKeyError,
    FormTooFast,
    confirmation_token,
    confirmed_ref,
    mint_key,
    read_key,
    require_fill_time,
)

SECRET = b"s" * 32
NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def test_a_key_reads_back_as_the_form_it_was_minted_for() -> None:
    form = mint_key(SECRET, NOW)
    read = read_key(SECRET, form.key, now=NOW + timedelta(seconds=5), max_age=DAY)
    assert (read.form_id, read.drawn_at, read.key) == (form.form_id, form.drawn_at, form.key)
    assert read.suggestion_id == form.suggestion_id  # one suggestion per drawn form
    assert len(form.key) <= 200  # fits the API's Idempotency-Key


def test_every_drawn_form_has_its_own_key_and_suggestion() -> None:
    one, two = mint_key(SECRET, NOW), mint_key(SECRET, NOW)
    assert one.key != two.key and one.suggestion_id != two.suggestion_id


@pytest.mark.parametrize("change", [
    lambda k: k[:-2] + ("AA" if not k.endswith("AA") else "BB"),       # another signature
    lambda k: k.replace(k.split(".")[1], str(int(k.split(".")[1]) - 60_000)),  # older draw
    lambda k: "x" + k,                                                  # another form id
    lambda k: k.split(".")[0],                                          # no time, no mac
    lambda k: "",
])
def test_a_changed_or_made_up_key_is_refused(change: object) -> None:
    key = mint_key(SECRET, NOW).key
    with pytest.raises(FormKeyError):
        read_key(SECRET, change(key), now=NOW, max_age=DAY)  # type: ignore[operator]


def test_a_key_of_another_desk_is_refused() -> None:
    key = mint_key(b"t" * 32, NOW).key
    with pytest.raises(FormKeyError):
        read_key(SECRET, key, now=NOW, max_age=DAY)


def test_a_form_open_too_long_must_be_drawn_again() -> None:
    key = mint_key(SECRET, NOW).key
    with pytest.raises(FormKeyError):
        read_key(SECRET, key, now=NOW + DAY + timedelta(seconds=1), max_age=DAY)


def test_a_form_back_sooner_than_the_minimum_fill_time_is_too_fast() -> None:
    form = mint_key(SECRET, NOW)
    with pytest.raises(FormTooFast) as refused:
        require_fill_time(form, now=NOW + timedelta(seconds=1), minimum=timedelta(seconds=3))
    assert refused.value.wait == pytest.approx(timedelta(seconds=2), abs=timedelta(seconds=0.01))
    require_fill_time(form, now=NOW + timedelta(seconds=3), minimum=timedelta(seconds=3))


def test_a_confirmation_token_names_its_ref_and_cannot_be_made_for_another() -> None:
    token = confirmation_token(SECRET, "TKT-1042")
    assert confirmed_ref(SECRET, token) == "TKT-1042"
    forged = token.replace("TKT-1042", "TKT-1043")
    assert confirmed_ref(SECRET, forged) is None
    assert confirmed_ref(SECRET, "TKT-1042") is None
    assert confirmed_ref(b"t" * 32, token) is None
