from domain.text import clean_in_place, is_storable, storable, unstorable_paths


def test_nul_and_lone_surrogates_are_not_storable() -> None:
    assert not is_storable("a \x00 b")
    assert not is_storable("half \ud83d of an emoji")
    assert is_storable("whole 😀 emoji, tabs\tand\nnewlines")


def test_storable_drops_nul_and_replaces_surrogates() -> None:
    assert storable("a \x00b") == "a b"
    assert storable("x\udc80y") == "x\ufffdy"
    assert storable("fine") == "fine"


def test_unstorable_paths_name_every_bad_string_in_a_document() -> None:
    doc = {"subject": "ok", "body": "a\x00", "tags": ["x", "\ud800"], "n": 1,
           "nested": {"k\x00": "v"}}
    assert sorted(map(str, unstorable_paths(doc))) == sorted(
        map(str, [("body",), ("tags", 1), ("nested", "k")]))


def test_clean_in_place_reaches_nested_dataclasses_lists_and_dicts() -> None:
    from dataclasses import dataclass, field

    @dataclass
    class Inner:
        body: str
        detail: dict[str, str | None] = field(default_factory=dict)

    @dataclass
    class Outer:
        subject: str
        items: list[Inner]
        tags: list[str]

    doc = Outer("s\x00", [Inner("ok", {"a": "b\ud800", "n": None})], ["t\x00"])
    assert clean_in_place(doc) == 3
    assert doc == Outer("s", [Inner("ok", {"a": "b\ufffd", "n": None})], ["t"])
    assert clean_in_place(doc) == 0
