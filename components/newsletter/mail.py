"""The mails themselves: a new post, and the confirmation a new subscriber is sent.

Each is an HTML part with a plain-text alternative. A post's mail is made once per post
(the HTML and its inlined styles are the costly part) with a marker where each
subscriber's own unsubscribe address goes. Every header value is made one line first,
and a line break left in one is refused: a title cannot add a header.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formataddr, formatdate, make_msgid
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import escape

from components.models import Post
from components.newsletter import mail_html
from components.newsletter.config import Sender

TEMPLATES = Path(__file__).resolve().parent.parent.parent / "templates" / "mail"
# Where each subscriber's unsubscribe address goes in a post's mail made once.
LEAVE_MARK = "quire-unsubscribe-address"
_ENV = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)
# Lines end as SMTP wants them, and no header is folded: a folded List-Unsubscribe reads
# back with a space before its "<" (header lines may be 998 characters; ours are short).
_WIRE = compat32.clone(linesep="\r\n", max_line_length=None)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


@dataclass(frozen=True)
class Made:
    """A post's mail before it is addressed: its parts with LEAVE_MARK in them."""

    subject: str
    text: str
    html: str


def one_line(text: str) -> str:
    """Text fit for a header: control characters (line breaks among them) made spaces."""
    return " ".join(_CONTROL.sub(" ", text).split())


def post_mail(post: Post, *, page: str, home: str, site_title: str, whole: bool) -> Made:
    """The mail of a new post; `page` and `home` are absolute addresses."""
    body_html = post.body_html if whole else f"<p>{escape(post.excerpt)}</p>"
    values = {
        "post": post,
        "page": page,
        "home": home,
        "site_title": site_title,
        "whole": whole,
        "leave": LEAVE_MARK,
        "css": mail_html.MAIL_CSS,
        "body_html": mail_html.for_mail(body_html, page=page),
        "body_text": post.body.strip() if whole else post.excerpt,
    }
    html = mail_html.inline(_ENV.get_template("post.html").render(values))
    text = _ENV.get_template("post.txt").render(values)
    return Made(one_line(post.title) or "A new post", text, html)


def confirm_mail(*, confirm: str, home: str, site_title: str) -> Made:
    """The mail that asks a new subscriber to confirm."""
    values = {
        "confirm": confirm,
        "home": home,
        "site_title": site_title,
        "css": mail_html.MAIL_CSS,
    }
    html = mail_html.inline(_ENV.get_template("confirm.html").render(values))
    text = _ENV.get_template("confirm.txt").render(values)
    return Made(f"Confirm your subscription to {one_line(site_title)}", text, html)


def addressed(
    made: Made,
    *,
    to: str,
    sender: Sender,
    site_title: str,
    leave: str | None,
    list_host: str,
) -> bytes:
    """`made`, addressed to one reader, as the bytes sent; `leave` is their unsubscribe
    address (None for a confirmation, which is sent once, on request).

    Built with the email package's compat32 classes: its default policy parses every
    header it is given again, which took 4 ms a mail (40 s for 10,000 subscribers).
    What that parsing guarded against, a line break in a value, is refused here."""
    text, html = made.text, made.html
    headers = {
        "From": formataddr((one_line(sender.name or site_title), sender.address), "utf-8"),
        "To": to,
        "Subject": _encoded(made.subject),
        "Date": formatdate(usegmt=True),
        "Message-ID": make_msgid(domain=sender.domain),
    }
    if leave is not None:
        # RFC 2369 and RFC 8058: clients offer "Unsubscribe", and may do it in one POST.
        headers["List-Id"] = f"{_encoded(one_line(site_title))} <newsletter.{list_host}>"
        headers["List-Unsubscribe"] = f"<{leave}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        text, html = text.replace(LEAVE_MARK, leave), html.replace(LEAVE_MARK, leave)
    message = MIMEMultipart("alternative")
    for name, value in headers.items():
        if "\r" in value or "\n" in value:
            raise ValueError(f"a line break in the {name} header")
        message[name] = value
    message.attach(MIMEText(text, "plain", "utf-8"))
    message.attach(MIMEText(html, "html", "utf-8"))
    return message.as_bytes(policy=_WIRE)


def _encoded(value: str) -> str:
    """A header value as RFC 2047 words when it is not ASCII."""
    # Encoded words of at most 75 characters each, joined by spaces on one line: folding
    # them would put a line break in the value.
    return value if value.isascii() else Header(value, "utf-8").encode(linesep=" ")
