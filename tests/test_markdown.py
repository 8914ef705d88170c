"""Markdown is rendered once, safely, with highlighted code."""

from __future__ import annotations

from components.markdown import render


def test_commonmark_with_tables_footnotes_tasks_and_anchors() -> None:
    html = render(
        "## A heading\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n- [x] done\n- [ ] todo\n\n"
        "Text[^n].\n\n[^n]: A note.\n"
    ).html
    assert '<h2 id="a-heading">A heading</h2>' in html
    assert "<table>" in html and "<td>1</td>" in html
    assert 'type="checkbox"' in html and "checked" in html and "disabled" in html
    assert 'class="footnotes"' in html and 'href="#fn1"' in html


def test_code_is_highlighted_on_the_server() -> None:
    html = render("```python\ndef f():\n    return 1 < 2\n```\n").html
    assert '<pre class="highlight" data-lang="python"><code>' in html
    assert '<span class="k">def</span>' in html
    assert "&lt;" in html


def test_unknown_language_is_escaped_not_dropped() -> None:
    html = render("```nosuchlang\n<b>x</b>\n```\n").html
    assert "&lt;b&gt;x&lt;/b&gt;" in html


def test_raw_html_and_script_urls_are_sanitised() -> None:
    html = render(
        '<script>alert(1)</script>\n\n<img src="x.png" onerror="alert(2)">\n\n'
        '[click](javascript:alert(3)) <a href="javascript:alert(4)">a</a>\n\n'
        '<input type="text" name="steal">\n'
    ).html
    assert "<script" not in html
    assert "onerror" not in html
    assert "javascript:" not in html.replace("[click](javascript:alert(3))", "")
    assert 'type="text"' not in html


def test_excerpt_is_the_opening_prose_and_reading_time_counts_words() -> None:
    body = "## Title\n\n```\ncode here\n```\n\nFirst *words* of the `post`.\n\n- a list item\n"
    rendered = render(body)
    assert rendered.excerpt == "First words of the post."
    assert rendered.reading_minutes == 1
    assert render("one line\nnext line").excerpt == "one line next line"
    long = render("word " * 1000)
    assert long.reading_minutes == 5
    assert long.excerpt.endswith("…")
    assert len(long.excerpt.split()) == 40
