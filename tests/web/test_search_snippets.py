"""What a search snippet may put on a page: text, and the matches in <mark>."""

from __future__ import annotations

from db.search import marked
from web.snippets import highlighted


def test_the_matches_stay_marked_and_the_text_stays_text():
    snippet = marked("a \x02refund\x03 for <script>alert(1)</script> & \x02refunds\x03")

    assert highlighted(snippet) == ("a <mark>refund</mark> for &lt;script&gt;alert(1)"
                                    "&lt;/script&gt; &amp; <mark>refunds</mark>")


def test_markup_in_a_snippet_other_than_mark_is_shown_as_text():
    assert highlighted('<img src=x onerror="alert(1)"> <b>bold</b> <mark>hit</mark>') == (
        "&lt;img src=x onerror=&#34;alert(1)&#34;&gt; &lt;b&gt;bold&lt;/b&gt; <mark>hit</mark>")


def test_unbalanced_marks_are_balanced():
    assert highlighted("</mark>a <mark>b <mark>c</mark> d</mark> <mark>e") == (
        "a <mark>b c</mark> d <mark>e</mark>")


def test_escaped_text_is_not_escaped_twice():
    assert highlighted("Tom &amp; Jerry &lt;3 <mark>&quot;x&quot;</mark>") == (
        "Tom &amp; Jerry &lt;3 <mark>&#34;x&#34;</mark>")
