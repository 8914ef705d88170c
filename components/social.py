"""The picture a shared link shows (og:image): a post's `image:` front matter, else the
first image its body shows, in the size social cards are drawn at.

Found in the HTML rendered at save time, which already carries each library image's
sizes (srcset, width, height): choosing costs no statement.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from components.models import Post

# Cards are drawn 1200 pixels wide (Facebook, Mastodon, LinkedIn, X); the media
# pipeline makes a variant of that width (components/media/images.py).
CARD_WIDTH = 1200

_IMG = re.compile(r"<img\b[^>]*>")
_ATTRIBUTE = re.compile(r'\b(src|alt|srcset|width|height)="([^"]*)"')
_CANDIDATE = re.compile(r"^(\S+)\s+(\d+)w$")


@dataclass(frozen=True)
class CardImage:
    """An image for a social card: its address (relative to the site, or absolute), and
    its size when known."""

    url: str
    alt: str = ""
    width: int = 0
    height: int = 0


def _attributes(tag: str) -> dict[str, str]:
    return {name: html.unescape(value) for name, value in _ATTRIBUTE.findall(tag)}


def sized(url: str, alt: str, srcset: str, width: int, height: int) -> CardImage:
    """Of an image's sizes (a srcset), the one closest to the card's width: 1200 pixels,
    else the smallest wider one, else the widest there is."""
    candidates = []
    for entry in srcset.split(","):
        match = _CANDIDATE.match(entry.strip())
        if match:
            candidates.append((int(match[2]), match[1]))
    if not candidates:
        return CardImage(url, alt, width, height)
    wide_enough = sorted(c for c in candidates if c[0] >= CARD_WIDTH)
    chosen_width, chosen = wide_enough[0] if wide_enough else max(candidates)
    chosen_height = round(height * chosen_width / width) if width and height else 0
    return CardImage(chosen, alt, chosen_width, chosen_height)


def _sized(found: dict[str, str]) -> CardImage:
    def number(name: str) -> int:
        value = found.get(name, "")
        return int(value) if value.isdigit() else 0

    return sized(
        found["src"],
        found.get("alt", ""),
        found.get("srcset", ""),
        number("width"),
        number("height"),
    )


def _shown(body_html: str) -> list[dict[str, str]]:
    return [found for tag in _IMG.findall(body_html) if (found := _attributes(tag)).get("src")]


def card_image(post: Post) -> CardImage | None:
    """The post's card image, or None when it shows none."""
    shown = _shown(post.body_html)
    cover = next(
        (v for k, v in post.front_matter.items() if k.lower() == "image" and isinstance(v, str)),
        "",
    ).strip()
    if cover:
        # The body may show the same library image, with its sizes: use them.
        same = next((found for found in shown if found["src"] == cover), None)
        return _sized(same) if same else CardImage(cover)
    return _sized(shown[0]) if shown else None
