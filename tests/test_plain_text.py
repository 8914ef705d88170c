"""A post's plain text (components/plain_text.py): the words a reader reads, for search."""

from __future__ import annotations

import pytest

from components import markdown
from components.plain_text import from_html


def text_of(body: str) -> str:
    rendered = markdown.render(body)
    assert rendered.text == from_html(rendered.html)
    return rendered.text


def test_prose_keeps_its_words_and_loses_its_markup() -> None:
    body = (
        "## First *section*\n\n"
        "Some *emphasis*, **strong**, ~~struck~~ and `code` with a "
        "[link](https://docs.example/guide-page) and a footnote.[^note]\n\n"
        "![a pic of a heron](https://cdn.example/heron-photo.png)\n\n"
        "> Quoted, with <kbd>Ctrl</kbd> and <span>raw HTML</span>.\n\n"
        "[^note]: The footnote's own words.\n"
    )
    assert text_of(body) == (
        "First section Some emphasis, strong, struck and code with a link and a footnote. "
        "a pic of a heron Quoted, with Ctrl and raw HTML. The footnote's own words."
    )


def test_blocks_never_run_their_words_together() -> None:
    body = "- one\n- two\n\n| a | b |\n|---|---|\n| c | d |\n\nend\n***\nafter"
    assert text_of(body) == "one two a b c d end after"


def test_script_an_author_wrote_is_gone_with_its_text() -> None:
    body = "Before <script>alert('hidden')</script> after <style>p{}</style>"
    assert text_of(body) == "Before after"


def test_code_gives_its_text_without_numbers_prompts_labels_or_signs() -> None:
    body = (
        '```python title="app.py" linenums="10" hl_lines="2"\n'
        "def hello():\n"
        '    return "world"\n'
        "```\n\n"
        "```console\n"
        "$ pip install quire\n"
        "Installed quire\n"
        "```\n\n"
        "```pycon\n"
        ">>> print(1 < 2)\n"
        "True\n"
        "```\n\n"
        "```diff-python\n"
        "-old = 1\n"
        "+new = 2\n"
        " same = 3\n"
        "```\n\n"
        "```diff\n"
        "--- a/file\n"
        "+++ b/file\n"
        "-gone\n"
        "+here\n"
        "```\n"
    )
    assert text_of(body) == (
        'app.py def hello(): return "world" '
        "pip install quire Installed quire "
        "print(1 < 2) True "
        "old = 1 new = 2 same = 3 "
        "--- a/file +++ b/file gone here"
    )


def test_formulas_give_their_symbols_not_their_latex() -> None:
    text = text_of(r"Energy $E = mc^2$ and $$\frac{a}{\alpha}$$ done.")
    assert text == "Energy E = m c 2 and a \N{GREEK SMALL LETTER ALPHA} done."


def test_callouts_and_task_lists_give_their_words() -> None:
    body = "> [!WARNING]\n> Mind the gap.\n\n- [x] packed\n- [ ] left"
    assert text_of(body) == "Warning Mind the gap. packed left"


def test_a_diagram_gives_its_title_and_labels_not_its_source() -> None:
    text = text_of('```dot title="The flow"\ndigraph { Alpha -> Beta }\n```\n')
    if "digraph" in text:  # drawn as code: the renderer is missing on this machine
        pytest.skip("diagrams are not drawn here")
    assert text == "The flow Alpha Beta"


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("", ""),
        ("plain &amp; simple &lt;tag&gt;", "plain & simple <tag>"),
        # Older renderings and hand-made HTML: no classes, stray or missing end tags.
        ("<p>one</span><p>two<div>three", "one two three"),
        ("<h2>Title<a href='#t' class='heading-anchor'>#</a></h2>", "Title"),
        ('<img alt="">word<img src="x.png"><br>next', "word next"),
        ("<p>a\n\n\tb \u00a0 c</p>", "a b c"),
        ('<svg><title>n1</title><text>Label</text><path d="M0"/></svg>', "Label"),
    ],
)
def test_any_html_gives_collapsed_text(html: str, text: str) -> None:
    assert from_html(html) == text
