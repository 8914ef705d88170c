"""A comment's Markdown: the safe subset it renders, and the links it is counted for."""

from __future__ import annotations

from components.comments.markup import count_links, render


def test_comment_markdown_is_a_safe_subset() -> None:
    html = render(
        "*so* **good**, `code` and [a link](https://example.com)\n\n"
        "![pic](https://example.com/x.png) <b>raw</b> <script>alert(1)</script>\n\n"
        "# not a heading\n\n[bad](javascript:alert(1))"
    )
    assert "<em>so</em>" in html and "<strong>good</strong>" in html
    assert "<code>code</code>" in html
    assert '<a href="https://example.com" rel="nofollow ugc noopener">a link</a>' in html
    assert "<img" not in html and "<h1" not in html
    assert "<b>" not in html and "<script" not in html and "&lt;script&gt;" in html
    assert 'href="javascript' not in html and "[bad](javascript:alert(1))" in html


def test_links_are_counted_linked_or_not() -> None:
    assert count_links("see https://a.example and www.b.example") == 2
    assert count_links("[x](https://a.example) and [y](/relative)") == 2
    assert count_links("no links here") == 0
