"""Diagrams drawn as SVG when a post is saved (components/diagrams/): Mermaid and Graphviz
fences become inline SVG that needs no script, in the page's colours, with the source as
the text alternative; a diagram that does not draw is code with a message for the
preview; the SVG keeps nothing that runs, loads or escapes its figure."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from components import markdown
from components.diagrams import runner, svg
from components.settings import PROJECT_ROOT as ROOT
from tests.conftest import DEADLINE_SECONDS

FLOW = "flowchart LR\n  a[Start <b>here</b>] --> b{Ready?}\n  b -->|yes| c[Ship]\n"
GRAPH = 'digraph { rankdir=LR; a -> b [label="calls"]; }'


def figures(html: str) -> list[str]:
    return re.findall(r'<figure class="diagram">.*?</figure>', html, re.S)


def test_a_mermaid_flowchart_is_inline_svg_with_its_source_as_its_name() -> None:
    rendered = markdown.render(f'```mermaid title="The plan"\n{FLOW}```\n')
    assert rendered.problems == []
    [figure] = figures(rendered.html)
    assert figure.startswith('<figure class="diagram"><figcaption>The plan</figcaption><svg ')
    labelled = re.search(r'<svg role="img" aria-labelledby="([\w-]+)"', figure)
    assert labelled is not None
    source = re.search(f'<pre id="{labelled[1]}"><code>(.*?)</code></pre>', figure, re.S)
    assert source is not None
    assert source[1] == FLOW.replace("<", "&lt;").replace(">", "&gt;")
    assert "<summary>Mermaid source</summary>" in figure
    # The labels are drawn as text: the author's tags are not markup in the drawing.
    assert ">Ready?</text>" in figure
    assert "<b>" not in figure
    # Its colours are the page's variables, defined for light and dark in the stylesheet.
    assert 'fill="var(--_node-fill)"' in figure


def test_graphviz_is_drawn_in_the_pages_colour_on_no_sheet() -> None:
    for language in ("dot", "graphviz"):
        rendered = markdown.render(f"```{language}\n{GRAPH}\n```\n")
        [figure] = figures(rendered.html)
        assert "<summary>Graphviz source</summary>" in figure
        assert ">calls</text>" in figure
        assert 'stroke="currentColor"' in figure
        assert "black" not in figure
        assert 'fill="white"' not in figure


def test_nothing_in_the_drawing_runs_loads_or_needs_an_inline_style() -> None:
    rendered = markdown.render(f"```mermaid\n{FLOW}```\n\n```dot\n{GRAPH}\n```\n")
    for figure in figures(rendered.html):
        assert "<style" not in figure
        assert " style=" not in figure
        assert "@import" not in figure
        assert "href" not in figure
        assert "<script" not in figure
        assert "data-" not in figure


def test_a_diagram_that_does_not_draw_is_code_with_the_renderers_message() -> None:
    rendered = markdown.render(
        'Before.\n\n```mermaid\npie\n  "a": 1\n```\n\n```dot\ndigraph {\n```\n'
    )
    assert figures(rendered.html) == []
    assert rendered.html.count('<figure class="code">') == 2
    assert "pie" in rendered.html
    first, second = rendered.problems
    assert first.startswith("Diagram 1 (mermaid): ") and "pie" in first
    assert second.startswith("Diagram 2 (dot): ") and "syntax error" in second


def test_two_diagrams_on_one_page_never_share_an_id() -> None:
    rendered = markdown.render(f"```mermaid\n{FLOW}```\n\n```mermaid\n{FLOW}```\n")
    ids = re.findall(r'\bid="([^"]+)"', rendered.html)
    assert len(figures(rendered.html)) == 2
    assert len(ids) == len(set(ids))
    # Every reference inside a drawing points at an id of that drawing.
    for figure in figures(rendered.html):
        own = set(re.findall(r'\bid="([^"]+)"', figure))
        assert set(re.findall(r"url\(#([^)]+)\)", figure)) <= own


def test_the_same_text_draws_the_same_html() -> None:
    body = f"```mermaid\n{FLOW}```\n"
    assert markdown.render(body).html == markdown.render(body).html


def test_a_diagram_that_never_finishes_costs_only_itself(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The renderer is stopped at its limit; the diagram drawn before the slow one is kept
    and the one after it is drawn by a new process."""
    # Crossing minimisation pushed ten thousand times past its default: many minutes of
    # work for Graphviz (a third of this graph took 15 s on an idle machine). Ten seconds
    # a drawing is the limit here: room for Node's start on a machine ten times as busy.
    targets = " ".join(f"b{j}" for j in range(80))
    edges = " ".join(f"a{i} -- {{{targets}}};" for i in range(30))
    slow = f"graph {{ mclimit=10000; searchsize=100000; {edges} }}"
    monkeypatch.setattr(runner, "DIAGRAM_SECONDS", 10.0)
    monkeypatch.setattr(runner, "BATCH_SECONDS", 60.0)
    monkeypatch.setattr(runner, "_drawn", type(runner._drawn)())
    body = f"```dot\n{GRAPH}\n```\n\n```dot\n{slow}\n```\n\n```mermaid\n{FLOW}```\n"
    rendered = markdown.render(body)
    assert len(figures(rendered.html)) == 2
    assert rendered.problems == ["Diagram 2 (dot): took longer than 10 seconds to draw"]


def test_a_source_cannot_reach_the_file_system() -> None:
    rendered = markdown.render('```dot\ndigraph { a [image="/etc/passwd" label="x"] }\n```\n')
    assert "root:" not in rendered.html
    assert "<image" not in rendered.html
    assert "passwd" not in rendered.html.split("<details")[0]


def test_too_long_a_source_is_not_drawn() -> None:
    source = "flowchart LR\n" + "  a --> b\n" * (runner.MAX_SOURCE // 8)
    rendered = markdown.render(f"```mermaid\n{source}```\n")
    assert figures(rendered.html) == []
    assert "longer than 50,000 characters" in rendered.problems[0]


def test_without_node_the_diagram_stays_code_and_says_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(runner.shutil, "which", lambda name: None)
    monkeypatch.setattr(runner, "_drawn", type(runner._drawn)())
    rendered = markdown.render(f"```mermaid\n{FLOW}```\n")
    assert figures(rendered.html) == []
    assert rendered.problems == [
        "Diagram 1 (mermaid): diagrams need Node.js, which this server does not have"
    ]


# --- the sanitiser, on hostile SVG ---------------------------------------------------------

HOSTILE = """<?xml version="1.0"?>
<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
     viewBox="0 0 10 10" onload="alert(1)" style="--bg:red">
  <style>@import url(https://evil.example/x.css); rect { fill: red }</style>
  <script>alert(2)</script>
  <defs><linearGradient id="g">
    <stop offset="0" style="stop-color:red;stop-opacity:1"/></linearGradient>
    <marker id="m"><path d="M0 0"/></marker></defs>
  <a xlink:href="javascript:alert(3)"
    ><text x="1" y="2" onclick="alert(4)">linked &lt;b&gt;</text></a>
  <foreignObject><div xmlns="http://www.w3.org/1999/xhtml">html</div></foreignObject>
  <image href="https://evil.example/i.png" width="5" height="5"/>
  <use href="#m"/>
  <rect fill="url(#g)" stroke="url(https://evil.example/#x)"
    width="5" height="5" class="node mono"/>
  <path d="M0 0" marker-end="url(#m)" fill="expression(alert(5))" stroke="var(--_line)"/>
  <circle r="1" fill="black" stroke="#000" filter="url(#g)" mask="url(#g)"/>
  <animate attributeName="href" to="javascript:alert(6)"/>
  <set attributeName="onclick" to="alert(7)"/>
</svg>"""


def test_the_sanitiser_keeps_the_drawing_and_nothing_else() -> None:
    clean = svg.clean(HOSTILE, "p")
    for banned in (
        "alert",
        "evil",
        "<style",
        "<script",
        "<foreignObject",
        "<image",
        "<use",
        "<a",
        "href",
        "onload",
        "onclick",
        "style=",
        "expression",
        "filter",
        "mask",
        "<animate",
        "<set",
        "<div",
        "--bg",
    ):
        assert banned not in clean, banned
    assert clean.startswith('<svg viewBox="0 0 10 10">')
    # The gradient's style became attributes, and the ids and their references are prefixed.
    assert '<linearGradient id="p-g"><stop ' in clean
    assert 'stop-color="red" stop-opacity="1" offset="0"' in clean
    assert '<rect fill="url(#p-g)" width="5" height="5" class="mono">' in clean
    assert 'marker-end="url(#p-m)"' in clean
    assert '<text x="1" y="2">linked &lt;b&gt;</text>' in clean
    assert '<circle r="1" fill="currentColor" stroke="currentColor">' in clean


@pytest.mark.parametrize(
    "bad",
    [
        "not svg at all",
        '<html xmlns="http://www.w3.org/1999/xhtml"><body/></html>',
        '<!DOCTYPE svg [<!ENTITY x "y">]><svg xmlns="http://www.w3.org/2000/svg">&x;</svg>',
        '<svg xmlns="http://www.w3.org/2000/svg">'
        + "<g>" * 10
        + "</g>" * 10
        + "</svg>"
        + " " * svg.MAX_BYTES,
    ],
)
def test_what_is_not_plain_svg_is_refused(bad: str) -> None:
    with pytest.raises(svg.UnsafeSvg):
        svg.clean(bad, "p")


# --- what the review of the drawings found ----------------------------------------------


def test_a_placeholder_in_an_attribute_is_never_filled() -> None:
    """nh3 keeps an attribute's text: a figure or formula put there would break the tag."""
    body = '<div title="\n\n```dot\ndigraph{a}\n```\n\n$x$\n\n<div x ">hello</div>\n'
    rendered = markdown.render(body)
    assert "<figure" not in rendered.html.split("hello")[0].split("title=")[-1]
    assert "\ue000" not in rendered.html and "\ue001" not in rendered.html


def test_a_small_source_that_draws_a_huge_svg_is_not_shown_nor_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Graphviz's \G repeats the graph's long name in every label: 1.5 KB of source, 10 MB
    # of SVG.
    name = "A" * 1000
    labels = "\\G" * 100
    nodes = " ".join(f"n{i}" for i in range(100))
    source = f'digraph "{name}" {{ node[label="{labels}" shape=plaintext]; {nodes} }}'
    monkeypatch.setattr(runner, "_drawn", type(runner._drawn)())
    monkeypatch.setattr(runner, "_cached_bytes", 0)
    rendered = markdown.render(f"```dot\n{source}\n```\n")
    assert figures(rendered.html) == []
    assert "too large to show" in rendered.problems[0]
    assert runner._cached_bytes < 100_000


def test_a_post_of_many_large_drawings_shows_the_rest_as_code(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(markdown, "MAX_DIAGRAM_BYTES", 20_000)
    fences = "\n".join(
        f"```dot\ndigraph {{ a{n} -> b{n} -> c{n} -> d{n} }}\n```\n" for n in range(12)
    )
    rendered = markdown.render(fences)
    shown = figures(rendered.html)
    assert 0 < len(shown) < 12
    assert sum(len(figure) for figure in shown) <= 20_000
    assert "together pass" in rendered.problems[-1]


def test_the_same_diagram_twice_is_drawn_once(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[list[tuple[str, str]]] = []
    real = runner._run

    def counted(diagrams: list[tuple[str, str]]) -> list[runner.Drawn]:
        asked.append(list(diagrams))
        return real(diagrams)

    monkeypatch.setattr(runner, "_run", counted)
    monkeypatch.setattr(runner, "_drawn", type(runner._drawn)())
    drawn = runner.draw([("dot", GRAPH), ("dot", GRAPH)])
    assert asked == [[("dot", GRAPH)]]
    assert drawn[0] == drawn[1] and drawn[0].svg


def test_node_ends_with_the_process_that_started_it(tmp_path: Path) -> None:
    """A render worker stopped at its limit takes Node with it (no drawing goes on alone)."""
    script = tmp_path / "orphan.py"
    script.write_text(
        "import os, subprocess, sys\n"
        "from components.diagrams import runner\n"
        "node = subprocess.Popen(['node', '-e', 'setInterval(() => {}, 1000)'],"
        " preexec_fn=runner._limit_node)\n"
        "print(node.pid, flush=True)\n"
        "os._exit(0)\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=True, cwd=ROOT
    )
    pid = int(done.stdout)
    deadline = time.monotonic() + DEADLINE_SECONDS  # only ends a hung test
    while Path(f"/proc/{pid}").exists() and "Z" not in _state(pid):
        assert time.monotonic() < deadline, "Node outlived its parent"
        time.sleep(0.05)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return "Z"
