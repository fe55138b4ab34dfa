"""Highlights over markdown: finding a rendered selection in the source, re-anchoring after edits,
and marking highlights in the rendered HTML. Pure functions; no database."""

from __future__ import annotations

import pytest

from valueloop.core.markdown import render_markdown
from valueloop.research.anchoring import (
    AnchorError,
    context,
    html_to_text,
    locate_selection,
    plain_quote,
    reanchor,
    render_with_marks,
)

NOTES = """# Call with Acme (CFO)

- They **really hate** the _export_ flow.
- See [the docs](https://example.com/docs?a=1) for more & stuff.

1. Month-end close takes three days
2. The bank feed breaks every Monday

> The bank feed breaks every Monday, she said again.
"""


def anchor(notes: str, words: str, occurrence: int = 0):
    start = -1
    for _ in range(occurrence + 1):
        start = notes.index(words, start + 1)
    end = start + len(words)
    prefix, suffix = context(notes, start, end)
    return {"text": words, "start": start, "end": end, "prefix": prefix, "suffix": suffix}


# --- finding a selection --------------------------------------------------------------------


def test_locate_selection__across_emphasis_links_and_entities():
    start, end = locate_selection(NOTES, "really hate the export")
    assert NOTES[start:end] == "really hate** the _export"
    start, end = locate_selection(NOTES, "the docs for more & stuff")
    assert NOTES[start:end] == "the docs](https://example.com/docs?a=1) for more & stuff"
    assert plain_quote(NOTES[start:end]) == "the docs for more & stuff"


def test_locate_selection__across_list_items_ignores_the_numbers():
    # The browser selection of two list items has no "2." (list numbers are not text).
    start, end = locate_selection(NOTES, "takes three days\nThe bank feed")
    assert NOTES[start:end] == "takes three days\n2. The bank feed"
    assert plain_quote(NOTES[start:end]) == "takes three days The bank feed"


def test_locate_selection__repeated_words_use_the_rendered_position():
    rendered = html_to_text(render_markdown(NOTES))
    second = rendered.index(
        "The bank feed breaks every Monday", rendered.index("The bank feed breaks every Monday") + 1
    )
    start, _ = locate_selection(
        NOTES, "The bank feed breaks every Monday", rendered_text=rendered, rendered_offset=second
    )
    assert start == NOTES.index("The bank feed breaks every Monday,")
    first = rendered.index("The bank feed breaks every Monday")
    start, _ = locate_selection(
        NOTES, "The bank feed breaks every Monday", rendered_text=rendered, rendered_offset=first
    )
    assert start == NOTES.index("The bank feed breaks every Monday")


def test_locate_selection__unknown_or_empty_selection_is_refused():
    with pytest.raises(AnchorError):
        locate_selection(NOTES, "words that are not in the notes")
    with pytest.raises(AnchorError):
        locate_selection(NOTES, "  ** ")


def test_locate_selection__html_entities_in_the_source():
    notes = "Fees &amp; charges are unclear"
    start, end = locate_selection(notes, "Fees & charges")
    assert notes[start:end] == "Fees &amp; charges"


# --- re-anchoring after an edit -------------------------------------------------------------


def test_reanchor__unchanged_text_is_kept():
    h = anchor(NOTES, "Month-end close takes three days")
    result = reanchor(NOTES, **h)
    assert (result.start, result.end, result.status, result.detached) == (h["start"], h["end"], "kept", False)


def test_reanchor__text_inserted_before_moves_the_highlight():
    h = anchor(NOTES, "Month-end close takes three days")
    edited = "Added an intro paragraph.\n\n" + NOTES
    result = reanchor(edited, **h)
    assert result.status == "moved" and edited[result.start : result.end] == h["text"]
    assert result.start == h["start"] + len("Added an intro paragraph.\n\n")


def test_reanchor__text_deleted_before_moves_the_highlight_back():
    h = anchor(NOTES, "The bank feed breaks every Monday, she said")
    edited = NOTES.replace("# Call with Acme (CFO)\n\n", "")
    result = reanchor(edited, **h)
    assert result.status == "moved" and edited[result.start : result.end] == h["text"]


def test_reanchor__repeated_words_follow_their_own_context():
    # "The bank feed breaks every Monday" occurs twice; the highlight was on the quote (second).
    h = anchor(NOTES, "The bank feed breaks every Monday", occurrence=1)
    # Shift everything so that the *first* occurrence now sits at the highlight's old offset.
    shift = h["start"] - NOTES.index("The bank feed breaks every Monday")
    edited = "x" * shift + NOTES
    assert edited[h["start"] : h["end"]] == h["text"]  # same words at the old offsets...
    result = reanchor(edited, **h)
    assert result.status == "kept"  # ...are kept: exact text at the old offsets wins
    # With different padding the old offsets no longer hold the words: the context picks the quote.
    edited = "yy\n" + NOTES
    result = reanchor(edited, **h)
    assert result.status == "moved"
    assert edited[result.start : result.end + 5] == "The bank feed breaks every Monday, she"


def test_reanchor__identical_contexts_pick_the_nearest_occurrence():
    notes = "alpha beta gamma\n\nalpha beta gamma\n\nalpha beta gamma\n"
    h = anchor(notes, "beta", occurrence=1)
    edited = "A" + notes  # shifts by one; every occurrence has the same surroundings
    result = reanchor(edited, **h)
    assert result.start == h["start"] + 1 and result.status == "moved"


def test_reanchor__rewrapped_lines_still_match_the_same_words():
    h = anchor("They really hate the export flow and want CSV files.", "really hate the export flow")
    edited = "They really\nhate the   export\nflow and want CSV files."
    result = reanchor(edited, **h)
    assert result.status == "reflowed" and edited[result.start : result.end] == "really\nhate the   export\nflow"


def test_reanchor__edited_words_are_detached_never_moved_onto_other_words():
    h = anchor(NOTES, "Month-end close takes three days")
    edited = NOTES.replace("Month-end close takes three days", "Month-end close takes two days")
    result = reanchor(edited, **h)
    assert result.detached and result.status == "detached"
    assert (result.start, result.end) == (h["start"], h["end"])  # offsets left as they were


def test_reanchor__deleted_passage_is_detached_and_reattaches_when_it_returns():
    h = anchor(NOTES, "really hate")
    edited = NOTES.replace("They **really hate** the _export_ flow.", "They dislike the flow.")
    assert reanchor(edited, **h).detached
    restored = "New first line.\n" + NOTES
    result = reanchor(restored, **h)
    assert not result.detached and restored[result.start : result.end] == "really hate"


def test_reanchor__everything_deleted_or_empty_text():
    h = anchor(NOTES, "really hate")
    assert reanchor("", **h).detached
    assert reanchor(NOTES, text="", start=0, end=0).detached


def test_reanchor__offsets_beyond_the_new_end_are_safe():
    h = anchor(NOTES, "she said again")
    result = reanchor("she said again", **h)
    assert (result.start, result.end, result.status) == (0, len("she said again"), "moved")


# --- marking ---------------------------------------------------------------------------------


def test_render_with_marks__marks_text_runs_and_stays_well_nested():
    spans = [
        locate_selection(NOTES, "really hate the export"),
        locate_selection(NOTES, "takes three days\nThe bank feed"),
    ]
    html = render_with_marks(NOTES, spans, render_markdown)
    assert (
        '<strong><mark class="hl">really hate</mark></strong><mark class="hl"> the </mark>'
        '<em><mark class="hl">export</mark></em>' in html
    )
    assert '<mark class="hl">takes three days</mark></li>' in html
    assert '<li><mark class="hl">The bank feed</mark> breaks' in html
    assert html.count("<mark") == html.count("</mark>")
    assert "\ue000" not in html and "\ue001" not in html


def test_render_with_marks__overlapping_spans_and_user_sentinels():
    notes = "one two three four \ue000 five"
    html = render_with_marks(notes, [(0, 13), (4, 18)], render_markdown)
    assert html.count('<mark class="hl">') == 1 and "one two three four</mark>" in html
    assert "\ue000" not in html  # a private-use character typed by a user cannot open a mark
    assert render_with_marks(notes, [(5, 999)], render_markdown) == render_markdown(notes.replace("\ue000", "\ufffd"))


def test_render_with_marks__keeps_sanitising():
    notes = "<script>alert(1)</script> and [x](javascript:alert(1))"
    html = render_with_marks(notes, [(0, 10)], render_markdown)
    assert "<script" not in html and 'href="javascript' not in html
    assert html.startswith('<p><mark class="hl">&lt;script&gt;al</mark>')


def test_render_with_marks__links_with_titles_keep_their_attributes():
    notes = 'See [the docs](https://example.com/?q=a>b "a > b") for more.'
    start, end = locate_selection(notes, "See the docs for more")
    html = render_with_marks(notes, [(start, end)], render_markdown)
    assert 'title="a &gt; b"' in html and 'href="https://example.com/?q=a%3Eb"' in html
    assert '<mark class="hl">the docs</mark></a>' in html
    assert html_to_text(html).strip() == "See the docs for more."
