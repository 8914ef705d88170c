"""What templates write of dates, links and posts: the date filters, a link's label and
the JSON-LD of posts and the site."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from quart import Quart, url_for

from components import markdown
from components.models import Post
from web import site
from web.urls import post_url


def init_app(app: Quart) -> None:
    app.add_template_filter(iso)
    app.add_template_filter(human_date)
    app.add_template_filter(link_label)
    app.add_template_filter(markdown.for_feed)
    app.add_template_global(post_json_ld)
    app.add_template_global(site_json_ld)


def iso(value: datetime) -> str:
    """A UTC timestamp to the second, as HTML's datetime, Atom and sitemaps all accept."""
    return f"{value.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


def human_date(value: datetime) -> str:
    """A date as people write it: 5 March 2026."""
    return f"{value.day} {value:%B %Y}"


def link_label(url: str) -> str:
    """An address as a link shows it: its host and path, without the scheme or a final /."""
    parts = urlsplit(url)
    host = parts.netloc.removeprefix("www.")
    return (host + parts.path).rstrip("/") or url


def post_json_ld(post: Post) -> dict[str, Any]:
    """The schema.org BlogPosting that search engines read from a post page."""
    assert post.published_at is not None
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "BlogPosting",
        "headline": post.title,
        "url": post_url(post, _external=True),
        "mainEntityOfPage": post_url(post, _external=True),
        "datePublished": iso(post.published_at),
        "dateModified": iso(post.updated_at),
        "keywords": [tag.name for tag in post.tags],
        "publisher": {"@type": "Organization", "name": site.current().title},
    }
    if by := post.author or site.default_author():
        data["author"] = {
            "@type": "Person",
            "name": by.name,
            "url": url_for("blog.author", slug=by.slug, _external=True),
        }
    if summary := post.description or post.excerpt:
        data["description"] = summary
    return data


def site_json_ld() -> dict[str, Any]:
    """The schema.org WebSite of the home page, with the search it offers."""
    current = site.current()
    home = url_for("blog.home", _external=True)
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "WebSite",
        "name": current.title,
        "url": home,
        "inLanguage": current.language,
        "potentialAction": {
            "@type": "SearchAction",
            "target": url_for("search.results", _external=True) + "?q={query}",
            "query-input": "required name=query",
        },
    }
    if current.description:
        data["description"] = current.description
    return data
