"""A post's HTML made fit for a mailbox: styles inline, links absolute, and nothing that
mail clients drop without a trace.

Mail clients ignore stylesheets and classes, most show no MathML and no inline SVG, and
none resolve a link against the site. So: code keeps its colours as inline styles (a
light Pygments theme, since a mail's background is the client's), each formula becomes
its LaTeX source (kept in MathML's `alttext` when the post was rendered), a diagram
becomes its source and a link to the drawing, heading links go, and every address is
made absolute.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import css_inline
from bs4 import BeautifulSoup, Tag
from pygments.formatters import HtmlFormatter

_CODE_STYLE = HtmlFormatter(style="default").get_style_defs(".highlight")
MAIL_CSS = (
    """
body { margin: 0; padding: 0; background: #ffffff; color: #1d1d1f; }
.mail { max-width: 40rem; margin: 0 auto; padding: 16px;
  font: 16px/1.6 -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif; }
.mail h1 { font-size: 26px; line-height: 1.25; margin: 0 0 4px; }
.mail h1 a { color: #1d1d1f; text-decoration: none; }
.mail .meta { color: #555555; font-size: 14px; margin: 0 0 24px; }
.mail a { color: #0b57d0; }
.mail img { max-width: 100%; height: auto; }
.mail pre { background: #f6f8fa; color: #1d1d1f; padding: 12px; overflow-x: auto;
  font: 13px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  border-radius: 6px; white-space: pre; }
.mail code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.mail figure { margin: 16px 0; }
.mail figcaption { font-size: 13px; color: #555555; }
.mail ins.line { background: #e6ffec; text-decoration: none; }
.mail del.line { background: #ffebe9; text-decoration: none; }
.mail .line.hl { background: #fff8c5; }
.mail .math { background: #f6f8fa; padding: 0 4px; }
.mail blockquote { margin: 0; padding: 0 16px; border-left: 4px solid #d0d7de; color: #444444; }
.mail table { border-collapse: collapse; }
.mail th, .mail td { border: 1px solid #d0d7de; padding: 4px 8px; }
.mail .more { margin: 24px 0; }
.mail .footer { border-top: 1px solid #d0d7de; margin-top: 32px; padding-top: 12px;
  color: #555555; font-size: 13px; }
"""
    + _CODE_STYLE
)


def for_mail(body_html: str, *, page: str) -> str:
    """The post's HTML for a mail: `page` is the post's absolute address."""
    soup = BeautifulSoup(body_html, "html.parser")
    for anchor in soup.select("a.heading-anchor"):
        anchor.decompose()
    for math in soup.find_all("math"):
        _formula_as_source(soup, math)
    for drawing in soup.select("figure.diagram"):
        _diagram_as_source(soup, drawing, page)
    for element in soup.find_all(True):
        _absolute(element, page)
        if element.name == "pre":
            del element["tabindex"]
        if element.name == "img":
            # Each srcset candidate would need its own address made absolute, and mail
            # clients take `src`: one picture is enough.
            for name in ("srcset", "sizes", "loading", "decoding"):
                del element[name]
    return str(soup)


def inline(document: str) -> str:
    """The styles of the document's <style> elements moved into style attributes."""
    return css_inline.inline(document)


def _formula_as_source(soup: BeautifulSoup, math: Tag) -> None:
    source = math.get("alttext")
    if not isinstance(source, str) or not source:
        return  # an older rendering: the MathML stays for the clients that show it
    code = soup.new_tag("code", attrs={"class": "math"})
    code.string = f"$${source}$$" if math.get("display") == "block" else f"${source}$"
    math.replace_with(code)


def _diagram_as_source(soup: BeautifulSoup, drawing: Tag, page: str) -> None:
    note = soup.new_tag("p")
    link = soup.new_tag("a", href=page)
    link.string = "See the diagram on the post's page"
    note.append(link)
    source = drawing.find("pre")
    replacement = [note] + ([source.extract()] if isinstance(source, Tag) else [])
    drawing.replace_with(*replacement)


def _absolute(element: Tag, page: str) -> None:
    for name in ("href", "src"):
        value = element.get(name)
        if isinstance(value, str) and not urlsplit(value).scheme:
            element[name] = urljoin(page, value)
