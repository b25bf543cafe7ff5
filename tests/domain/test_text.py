from domain.text import is_storable, storable, unstorable_paths


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
