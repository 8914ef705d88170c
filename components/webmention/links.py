"""Reading links out of HTML: the ones a post makes, the endpoint a page advertises, and
whether a page links to an address."""

from __future__ import annotations

from urllib.parse import urldefrag, urljoin, urlsplit

from bs4 import BeautifulSoup

from components.fetch import Fetched
from components.models import Post

# A post that links to more pages than this tells the first ones only.
MAX_TARGETS = 100


def external(body_html: str, *, base: str, own_host: str) -> list[str]:
    """The distinct http(s) pages `body_html` links to on other hosts, in order."""
    found: dict[str, None] = {}
    for anchor in BeautifulSoup(body_html, "html.parser").find_all("a", href=True):
        url = urldefrag(urljoin(base, str(anchor["href"]))).url
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.netloc.lower() != own_host:
            found[url] = None
        if len(found) >= MAX_TARGETS:
            break
    return list(found)


def of_post(post: Post, *, base: str, own_host: str) -> list[str]:
    """The pages a post mentions: the one it answers (its `in_reply_to`), then those its
    text links to."""
    found = external(post.body_html, base=base, own_host=own_host)
    answered = urldefrag(post.in_reply_to).url if post.in_reply_to else ""
    if not answered or urlsplit(answered).netloc.lower() == own_host:
        return found
    return [answered, *(url for url in found if url != answered)][:MAX_TARGETS]


def endpoint(page: Fetched) -> str | None:
    """The Webmention endpoint `page` advertises: its Link header first, then the first
    <link> or <a> with rel="webmention" (an empty href is the page itself)."""
    for rel, link in page.links.items():  # httpx's reading of the Link header
        if rel and "webmention" in rel.split() and "url" in link:
            return urljoin(page.url, link["url"])
    if "html" not in page.headers.get("content-type", "text/html"):
        return None
    for element in BeautifulSoup(page.text, "html.parser").find_all(["link", "a"], href=True):
        rels = element.get("rel")
        names = list(rels) if isinstance(rels, list) else str(rels or "").split()
        if "webmention" in names:
            return urljoin(page.url, str(element["href"]))
    return None


def links_to(page: Fetched, target: str) -> bool:
    """Whether `page` holds a link (or an image, a video...) to `target`."""
    wanted = {_same(target)}
    soup = BeautifulSoup(page.text, "html.parser")
    for element in soup.find_all(True):
        for name in ("href", "src"):
            value = element.get(name)
            if isinstance(value, str) and _same(urljoin(page.url, value)) in wanted:
                return True
    return False


def _same(url: str) -> str:
    # A fragment or a trailing slash does not make another page.
    return urldefrag(url).url.rstrip("/")
