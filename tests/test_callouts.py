"""Callouts (components/callouts.py): GitHub's alerts and MkDocs' admonitions, rendered
into the post and its preview as boxes with a title, folded ones as <details>."""

from __future__ import annotations

import pytest

from components.markdown import render


@pytest.mark.parametrize("kind", ["NOTE", "TIP", "IMPORTANT", "WARNING", "CAUTION", "note"])
def test_every_github_alert_is_a_callout_with_its_title(kind: str) -> None:
    html = render(f"> [!{kind}]\n> Mind the **gap**.\n").html
    name = kind.lower()
    assert html == (
        f'<div class="callout callout-{name}" role="note">\n'
        f'<p class="callout-title">{name.capitalize()}</p>\n'
        "<p>Mind the <strong>gap</strong>.</p>\n"
        "</div>\n"
    )


def test_a_marker_alone_leaves_no_empty_paragraph_and_plain_quotes_stay_quotes() -> None:
    html = render("> [!TIP]\n\n> Just a quote.\n\n> [!UNKNOWN]\n> Stays.\n").html
    assert '<p class="callout-title">Tip</p>\n</div>' in html
    assert "<blockquote>\n<p>Just a quote.</p>\n</blockquote>" in html
    assert "[!UNKNOWN]" in html and html.count("<blockquote>") == 2


def test_a_marker_later_in_a_quote_is_text() -> None:
    html = render("> Some words [!NOTE]\n").html
    assert "callout" not in html


def test_mkdocs_admonitions_with_titles_and_folds() -> None:
    html = render(
        '!!! note "Read this"\n    Body **text**.\n\n'
        "??? danger\n    Hidden.\n\n???+ tip\n    Open.\n"
    ).html
    assert (
        '<div class="callout callout-note" role="note">\n<p class="callout-title">Read this</p>\n'
        "<p>Body <strong>text</strong>.</p>\n</div>"
    ) in html
    # MkDocs' "danger" is GitHub's caution; folded, it is <details> with the title to open.
    assert (
        '<details class="callout callout-caution">\n<summary class="callout-title">Danger</summary>'
        "\n<p>Hidden.</p>\n</details>"
    ) in html
    assert '<details class="callout callout-tip" open="">' in html


def test_an_author_cannot_give_a_div_another_role() -> None:
    html = render('<div role="button" class="x">y</div>\n').html
    assert 'role="button"' not in html
