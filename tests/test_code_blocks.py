"""Fenced code (components/code_blocks.py): titles, highlighted lines, line numbers,
diffs and shell sessions, each checked element by element."""

from __future__ import annotations

import re

import pytest

from components.code_blocks import Fence, parse_info, render
from components.markdown import render as render_markdown


def lines_of(html: str) -> list[str]:
    return re.findall(r"<(?:span|ins|del) class=\"line[^\"]*\"[^>]*>", html)


@pytest.mark.parametrize(
    ("info", "fence"),
    [
        ("python", Fence("python")),
        (
            'python title="app.py" hl_lines="2 4-6" linenums="1"',
            Fence("python", "app.py", ((2, 2), (4, 6)), 1),
        ),
        ('go {hl_lines=[2,"4-6"], linenos=true}', Fence("go", "", ((2, 2), (4, 6)), 1)),
        ("go {linenos=table, linenostart=10}", Fence("go", first_number=10)),
        ("rust{linenos=false}", Fence("rust")),
        ("{.python}", Fence("")),
        ("js filename='main.js' linenums='5'", Fence("js", "main.js", first_number=5)),
        ("  ", Fence("")),
    ],
)
def test_the_info_string_is_read_as_mkdocs_and_hugo_write_it(info: str, fence: Fence) -> None:
    assert parse_info(info) == fence


def test_a_huge_range_costs_nothing() -> None:
    fence = parse_info('text hl_lines="1-999999"')
    assert fence.is_highlighted(500_000) and not fence.is_highlighted(1_000_000)
    assert len(lines_of(render("a\nb\n", 'text hl_lines="1-999999"'))) == 2


def test_title_label_highlighted_lines_and_numbers() -> None:
    html = render(
        "import os\n\nprint(os.sep)\nx = 1\n", 'python title="app.py" hl_lines="1 3-4" linenums="7"'
    )
    assert html.startswith('<figure class="code"><figcaption>')
    assert '<span class="code-title">app.py</span><span class="code-lang">Python</span>' in html
    pre = '<pre class="highlight linenums" data-lang="python" tabindex="0" role="group"'
    assert f'{pre} aria-label="app.py, Python code"><code>' in html
    assert lines_of(html) == [
        '<span class="line hl" data-n="7">',
        '<span class="line" data-n="8">',
        '<span class="line hl" data-n="9">',
        '<span class="line hl" data-n="10">',
    ]
    # Numbers are attributes, drawn by CSS: the code's text is the code alone.
    text = re.sub(r"<[^>]+>", "", html.split("<code>")[1].split("</code>")[0])
    assert text == "import os\n\nprint(os.sep)\nx = 1"


def test_a_token_spanning_lines_is_closed_and_opened_on_each() -> None:
    html = render('s = """one\ntwo\nthree"""\n', "python")
    for line in html.split("<code>")[1].split("</code>")[0].split("\n"):
        assert line.count("<span") == line.count("</span>"), line


def test_decorators_and_magic_names_get_classes_the_theme_colours() -> None:
    html = render("@app.get('/')\ndef f():\n    return __name__\n", "python")
    assert '<span class="nd">@app</span>' in html
    assert '<span class="vm">__name__</span>' in html


def test_a_diff_marks_lines_with_ins_and_del_and_keeps_the_signs() -> None:
    html = render("--- a\n+++ b\n keep\n-old\n+new\n", "diff")
    assert '<del class="line"><span class="gd">-old</span></del>' in html
    assert '<ins class="line"><span class="gi">+new</span></ins>' in html
    assert (
        '<span class="line"><span class="gd">--- a</span></span>' in html
    )  # headers are no change


def test_a_language_diff_is_highlighted_in_that_language() -> None:
    html = render(" def f():\n-    return 1\n+    return 2\n", "diff-python")
    assert '<span class="code-lang">Python diff</span>' in html
    assert (
        '<del class="line">-    <span class="k">return</span> <span class="mi">1</span></del>'
        in html
    )
    assert (
        '<ins class="line">+    <span class="k">return</span> <span class="mi">2</span></ins>'
        in html
    )


@pytest.mark.parametrize("language", ["console", "shell-session", "shell", "bash"])
def test_a_shell_session_tells_prompt_command_and_output_apart(language: str) -> None:
    html = render("$ pip install flask\nCollecting flask\n20000 5\n$ ls -la\n", language)
    rows = html.split("<code>")[1].split("</code>")[0].split("\n")
    assert rows[0].startswith('<span class="line"><span class="gp">$ </span>pip')
    assert rows[1] == '<span class="line out"><span class="go">Collecting flask</span></span>'
    # Output digits are output, not numbers to colour.
    assert rows[2] == '<span class="line out"><span class="go">20000 5</span></span>'
    assert rows[3].startswith('<span class="line"><span class="gp">$ </span>ls')
    assert '<span class="code-lang">Shell session</span>' in html


def test_a_shell_block_without_prompts_is_a_script() -> None:
    html = render("pip install flask\n", "bash")
    assert "gp" not in html and '<span class="code-lang">Bash</span>' in html


def test_unknown_languages_and_no_language_are_escaped_text() -> None:
    assert '<span class="code-lang">mermaid</span>' in render("graph TD; A-->B\n", "mermaid")
    plain = render("<b>bold</b>\n", "")
    assert "<figcaption>" not in plain
    assert '<span class="line">&lt;b&gt;bold&lt;/b&gt;</span>' in plain


def test_a_title_cannot_carry_markup_through_the_post_renderer() -> None:
    html = render_markdown('```python title="<img src=x onerror=alert(1)>"\nx\n```\n').html
    assert "<img" not in html and "onerror" not in html.replace("onerror=alert(1)&gt;", "")
    assert '<span class="code-title">&lt;img src=x onerror=alert(1)&gt;</span>' in html


def test_the_post_renderer_keeps_the_figure_lines_and_numbers() -> None:
    html = render_markdown('```python linenums="1" hl_lines="2"\na = 1\nb = 2\n```\n').html
    assert (
        '<figure class="code"><figcaption><span class="code-lang">Python</span></figcaption>'
        in html
    )
    assert '<span class="line hl" data-n="2">' in html
    assert 'tabindex="0"' in html


def test_every_block_is_named_for_a_screen_reader() -> None:
    assert 'role="group" aria-label="Code"><code>' in render("x = 1\n", "")
    assert 'aria-label="Shell session code"' in render("$ ls\n", "console")
    assert 'aria-label="a &lt;b&gt;.txt, Text only code"' in render("x\n", 'text title="a <b>.txt"')
