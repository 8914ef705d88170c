"""Markdown is rendered once, safely, with highlighted code."""

from __future__ import annotations

import re

import pytest

from components.markdown import render


def test_commonmark_with_tables_footnotes_tasks_and_anchors() -> None:
    html = render(
        "## A heading\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n- [x] done\n- [ ] todo\n\n"
        "Text[^n].\n\n[^n]: A note.\n"
    ).html
    assert '<h2 id="a-heading">A heading<a class="heading-anchor" href="#a-heading"' in html
    assert 'aria-label="Link to “A heading”"' in html
    assert "<table>" in html and "<td>1</td>" in html
    assert 'type="checkbox"' in html and "checked" in html and "disabled" in html
    assert 'class="footnotes"' in html and 'href="#fn1"' in html


def test_every_heading_from_h2_down_links_to_itself_and_h1_does_not() -> None:
    html = render("# One\n\n## Two\n\n### Three\n\n#### Four\n\n##### Five\n\n###### Six\n").html
    assert "<h1>One</h1>" in html
    for level, word in enumerate(["Two", "Three", "Four", "Five", "Six"], start=2):
        anchor = word.lower()
        assert (
            f'<h{level} id="{anchor}">{word}<a class="heading-anchor" href="#{anchor}" '
            f'aria-label="Link to “{word}”" rel="noopener noreferrer">#</a></h{level}>'
        ) in html


def test_code_is_highlighted_on_the_server() -> None:
    html = render("```python\ndef f():\n    return 1 < 2\n```\n").html
    pre = '<pre class="highlight" data-lang="python" tabindex="0" role="group"'
    assert f'{pre} aria-label="Python code"><code>' in html
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


def without_alttext(html: str) -> str:
    return re.sub(r' alttext="[^"]*"', "", html)


def test_inline_and_display_math_become_mathml_on_the_server() -> None:
    html = render("Area $x^2$ here.\n\n$$\n\\int_0^1 x\\,dx\n$$\n").html
    assert (
        '<math xmlns="http://www.w3.org/1998/Math/MathML" display="inline" alttext="x^2">' in html
    ), "the LaTeX as the formula's text alternative (what a mail shows)"
    assert 'alttext="\\int_0^1 x\\,dx"' in html
    assert "<msup><mi>x</mi><mn>2</mn></msup>" in html
    assert '<div class="math-display"><math' in html
    assert 'display="block"' in html and "<mo>∫</mo>" in html
    assert "<script" not in html and "$" not in html


def test_double_dollars_inside_a_paragraph_are_display_math_without_breaking_it() -> None:
    html = render("so $$x$$ holds").html
    assert html.startswith('<p>so <span class="math-display"><math')
    assert 'display="block"' in html and html.rstrip().endswith(" holds</p>")


def test_math_cannot_inject_markup() -> None:
    # latex2mathml's own string output would turn \text{<script>} into a real <script>.
    html = render(
        "$\\text{<script>alert(1)</script>}$ $\\text{<img src=x onerror=alert(2)>}$ "
        "$\\text{&lt;img src=x&gt; & more}$ $\\mbox{<b>}$ $\\verb|<i>|$ $\\unicode{<x>}$\n\n"
        "$x$<script>alert(3)</script> $y$<img src=x onerror=alert(4)>\n\n"
        "$$\n\\text{</math><script>alert(5)</script>}\n$$\n"
    ).html.replace("\xa0", " ")  # latex2mathml keeps the spaces of \text as no-break spaces
    assert "<script" not in html and "<b>" not in html and "<i>" not in html
    # The only <img> is the author's own raw one, cleaned by nh3 as before math existed
    # (its relative src, which would make readers' browsers ask this site for `x`, too).
    assert html.count("<img") == 1 and "<img>" in html
    assert "onerror" not in html.replace("&lt;img src=x onerror=alert(2)&gt;", "")
    assert "<mtext>&lt;script&gt;alert(1)&lt;/script&gt;</mtext>" in html
    assert "<mtext>&lt;img src=x&gt; &amp; more</mtext>" in html


def test_math_drops_links_styles_and_classes() -> None:
    html = render(
        "$\\href{javascript:alert(1)}{x}$ $\\style{background:url(x)}{y}$ $\\class{admin}{z}$ "
        '$\\color{red" onclick="alert(2)}{w}$ $\\color{red}{v}$'
    ).html
    # The source stays, escaped, as the text alternative: inert in any attribute.
    assert 'alttext="\\href{javascript:alert(1)}{x}"' in html
    assert 'alttext="\\color{red&quot; onclick=&quot;alert(2)}{w}"' in html
    html = without_alttext(html)
    assert "href" not in html and "javascript" not in html
    assert "style=" not in html and "class=" not in html and "onclick" not in html
    assert '<mstyle mathcolor="red">' in html


def test_placeholder_characters_typed_by_the_author_are_harmless() -> None:
    rendered = render(
        "\ue000x\ue001 \ue0000\ue001 &#xe000;0&#xe001; &#57344;1&#57345; $y$ $z$\n\n"
        # Placeholders are "\ue000<nonce>:<index>\ue001"; these forge all but the secret nonce.
        '<a title="&#xe000;:0&#xe001;" href="https://example.com">t</a> '
        '<span title="&#xE000;:1&#xE001;">s</span>\n\n## Head &#xe000;0&#xe001;\n'
    )
    html = rendered.html
    assert "\ue000" not in html and "\ue001" not in html
    assert html.count("<math") == 2
    assert 'title=":0"' in html and 'title=":1"' in html
    assert "\ue000" not in rendered.excerpt and "\ue000" not in str(rendered.toc)


def test_invalid_latex_falls_back_to_escaped_source() -> None:
    html = render(
        "$\\frac{$ and $\\begin{matrix}<b>\\end{pmatrix}$\n\n$$\n\\sqrt{\n$$\n\n"
        f"${'{' * 3000}x{'}' * 3000}$\n"
    ).html
    assert '<code class="math-error">$\\frac{$</code>' in html
    assert '<code class="math-error">$\\begin{matrix}&lt;b&gt;\\end{pmatrix}$</code>' in html
    assert '<div class="math-display"><code class="math-error">$$\\sqrt{$$</code></div>' in html
    assert html.count('class="math-error"') == 4
    assert "<math" not in html and "<b>" not in html


def test_unknown_commands_render_as_their_name() -> None:
    assert "<mi>\\nosuchcommand</mi>" in render("$\\nosuchcommand$").html


def test_money_dollars_stay_text() -> None:
    for text in ["costs $5 and $10", "from $5-$10", "$5/$6 each", "pay $ 5 or $ 6", "it was 5$x$"]:
        html = render(text).html
        assert "<math" not in html and "math-error" not in html, text
    html = render("costs $5, or $x$ per unit").html
    assert html.count("<math") == 1 and "costs $5, or <math" in html
    assert "<math" not in render("cost: $5.\n\n$$\n\nnext $$\n").html
    assert "<math" not in render("\\$x$").html


def test_math_in_code_stays_literal() -> None:
    html = render("`$x^2$` and\n\n```\n$$\n\\int x\n$$\n```\n\n    $y$\n").html
    assert "<code>$x^2$</code>" in html
    assert '<span class="line">$$</span>\n<span class="line">\\int x</span>' in html
    assert "$y$" in html
    assert "<math" not in html


def test_excerpt_shows_the_latex_source_of_inline_math() -> None:
    rendered = render("The area is $\\pi r^2$ in total.\n\n$$\nE = mc^2\n$$\n\nAfter.")
    assert rendered.excerpt == "The area is \\pi r^2 in total. After."
    heading = render("## Area $x^2$\n").toc
    assert heading[0]["text"] == "Area x^2"


@pytest.mark.parametrize(
    "environment",
    [
        r"\begin{aligned} a &= b \\ c &= d \end{aligned}",
        r"\begin{align*} a &= b \\ c &= d \end{align*}",
        r"\begin{split} a &= b \\ &= c \end{split}",
        r"\begin{alignedat}{2} a &= b \end{alignedat}",
        r"f(x) = \begin{cases} 1 & x > 0 \\ 0 & \text{otherwise} \end{cases}",
        r"\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix} \begin{bmatrix} a \end{bmatrix}",
        r"\operatorname{sgn}(x) \in \mathbb{R}",
    ],
)
def test_the_latex_technical_writers_use_renders_without_stray_ampersands(
    environment: str,
) -> None:
    html = without_alttext(render(f"$$\n{environment}\n$$\n").html)
    assert "<math" in html and "math-error" not in html
    assert "&amp;" not in html
