"""New posts by email (components/newsletter, web/views/newsletter.py): double opt-in,
a post announced once to confirmed subscribers, mails with both parts and one-click
unsubscribe, hard bounces, and the admins' list. Mail goes to a local SMTP server
(tests/mailbox.py); the outbox worker's batches are run by hand."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from quart import Quart
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from components.models import (
    Announcement,
    Delivery,
    DeliveryState,
    Post,
    SiteSettings,
    Subscriber,
    SubscriberState,
    User,
    utcnow,
)
from components.newsletter import mail, subscribers, tokens
from components.newsletter.config import Sender
from components.settings import ConfigError, load_config
from web import create_app
from web.outbox import OUTBOX
from web.views import newsletter as newsletter_views

from .conftest import TEST_SECRET, app_config, make_user, post_form, sign_in
from .mailbox import Mailbox, mailbox, parts

READER = "reader@example.org"
BODY = (
    "The first paragraph, which is the excerpt.\n\n"
    '```python title="app.py"\n@app.get("/")\ndef home():\n    return "hi"\n```\n\n'
    "Euler: $e^{i\\pi} + 1 = 0$.\n\n"
    "```diff\n-old line\n+new line\n```\n\n"
    "[A link home](/) and [a section](#part).\n"
)


@pytest.fixture
def box() -> Iterator[Mailbox]:
    with mailbox() as found:
        yield found


@pytest.fixture
def mail_app(database_url: str, tmp_path: Path, box: Mailbox) -> Quart:
    return create_app(
        app_config(
            database_url,
            tmp_path / "instance",
            QUIRE_SMTP_URL=box.url,
            QUIRE_MAIL_FROM="blog@example.com",
            QUIRE_MAIL_PER_MINUTE="100000",
            QUIRE_OUTBOX_WORKER="off",
        )
    )


@pytest.fixture
async def served(mail_app: Quart) -> AsyncIterator[Any]:
    async with mail_app.test_app() as test_app:
        yield test_app


@pytest.fixture
def client(served: Any) -> Any:
    return served.test_client()


async def send_all(app: Quart) -> int:
    """Run the outbox worker's batches until nothing is due."""
    worker = app.extensions[OUTBOX]
    total = 0
    while handled := await worker.run_once():
        total += handled
    return total


def link_in(text: str, path: str) -> str:
    found = re.search(rf"http://localhost(/{path}/[\w.-]+)", text)
    assert found, text
    return found[1]


async def subscribe(client: Any, app: Quart, box: Mailbox, address: str = READER) -> None:
    """Subscribe and confirm, as a reader does."""
    asked = await client.post("/subscribe", form={"email": address})
    assert asked.status_code == 200, await asked.get_data(as_text=True)
    before = len(box.messages)
    await send_all(app)
    [confirmation] = box.messages[before:]
    text, _ = parts(confirmation)
    page = await client.get(link_in(text, "subscribe/confirm"))
    assert page.status_code == 200
    confirmed = await client.post(link_in(text, "subscribe/confirm"))
    assert "You are subscribed" in await confirmed.get_data(as_text=True)


async def stored(db: AsyncSession, address: str = READER) -> Subscriber:
    query = select(Subscriber).where(Subscriber.email == address)
    return (await db.scalars(query.execution_options(populate_existing=True))).one()


async def deliveries(db: AsyncSession) -> list[Delivery]:
    query = select(Delivery).order_by(Delivery.id).execution_options(populate_existing=True)
    return list(await db.scalars(query))


@pytest.fixture
async def writer(db: AsyncSession) -> User:
    return await make_user(db, "ada@example.com", "Ada Author")


async def publish(client: Any, title: str = "Hello, readers", **extra: str) -> Any:
    await sign_in(client, "ada@example.com")
    form = {"title": title, "body": BODY, "action": "publish", **extra}
    response = await post_form(client, "/admin/posts/save", form)
    assert response.status_code == 303, await response.get_data(as_text=True)
    await post_form(client, "/logout")
    return response


# --- mail off ----------------------------------------------------------------------


async def test_without_mail_settings_there_is_nothing_to_subscribe_to(client_off: Any) -> None:
    assert (await client_off.get("/subscribe")).status_code == 404
    home = await (await client_off.get("/")).get_data(as_text=True)
    assert "New posts by email" not in home


@pytest.fixture
async def client_off(database_url: str, tmp_path: Path) -> AsyncIterator[Any]:
    app = create_app(app_config(database_url, tmp_path / "instance"))
    async with app.test_app() as test_app:
        yield test_app.test_client()


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"QUIRE_SMTP_URL": "smtp://127.0.0.1:25"}, "QUIRE_MAIL_FROM: required"),
        ({"QUIRE_MAIL_FROM": "a@example.com"}, "QUIRE_SMTP_URL: required"),
        (
            {"QUIRE_SMTP_URL": "http://x", "QUIRE_MAIL_FROM": "a@example.com"},
            "QUIRE_SMTP_URL: must start with smtp://",
        ),
        (
            {"QUIRE_SMTP_URL": "smtp://h", "QUIRE_MAIL_FROM": "not an address"},
            "QUIRE_MAIL_FROM: is not an email address",
        ),
    ],
)
def test_mail_settings_are_both_given_and_well_formed(
    settings: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config({"SECRET_KEY": TEST_SECRET, **settings})


def test_the_smtp_password_is_read_but_never_shown() -> None:
    config = load_config(
        {
            "SECRET_KEY": TEST_SECRET,
            "QUIRE_SMTP_URL": "smtps://user%40host:p%2Fss@mail.example.com",
            "QUIRE_MAIL_FROM": "Ada's blog <blog@example.com>",
        }
    )
    smtp = config["MAIL"].smtp
    assert (smtp.host, smtp.port, smtp.tls, smtp.username) == (
        "mail.example.com",
        465,
        True,
        "user@host",
    )
    assert smtp.password == "p/ss" and "p/ss" not in repr(config["MAIL"])
    assert config["MAIL"].sender == Sender("blog@example.com", "Ada's blog")


# --- subscribing -------------------------------------------------------------------


async def test_a_reader_subscribes_by_confirming_the_mailed_link(
    client: Any, served: Any, mail_app: Quart, box: Mailbox, db: AsyncSession
) -> None:
    home = await (await client.get("/")).get_data(as_text=True)
    assert 'href="/subscribe">New posts by email</a>' in home
    form = await client.get("/subscribe")
    assert 'name="email" type="email"' in await form.get_data(as_text=True)

    asked = await client.post("/subscribe", form={"email": "  Reader@Example.ORG "})
    page = await asked.get_data(as_text=True)
    assert asked.status_code == 200 and "a confirmation link is on its way" in page
    assert (await stored(db)).state is SubscriberState.PENDING

    assert await send_all(mail_app) == 1
    [confirmation] = box.messages
    assert confirmation["To"] == READER
    assert confirmation["Subject"] == "Confirm your subscription to Quire"
    assert confirmation["From"] == "Quire <blog@example.com>"
    assert confirmation["List-Unsubscribe"] is None, "a confirmation is sent once, on request"
    text, html = parts(confirmation)
    confirm = link_in(text, "subscribe/confirm")
    assert f'href="http://localhost{confirm}"' in html

    # Opening the link (as a mail scanner would) changes nothing; the button does.
    shown = await client.get(confirm)
    assert "Confirm your subscription" in await shown.get_data(as_text=True)
    assert shown.headers["Referrer-Policy"] == "no-referrer"
    assert "no-store" in shown.headers["Cache-Control"]
    assert (await stored(db)).state is SubscriberState.PENDING
    done = await client.post(confirm)
    assert "You are subscribed" in await done.get_data(as_text=True)
    assert (await stored(db)).state is SubscriberState.CONFIRMED


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("", "Enter your email address."),
        ("no-at-sign", "That is not an email address we can write to"),
        ("a@b@example.com", "That is not an email address we can write to"),
        ("x" * 250 + "@example.com", "at most 254 characters"),
        ("reader@example.org\r\nBcc: all@example.com", "That is not an email address"),
    ],
)
async def test_an_address_that_cannot_be_mailed_is_refused(
    client: Any, mail_app: Quart, box: Mailbox, typed: str, problem: str
) -> None:
    response = await client.post("/subscribe", form={"email": typed})
    assert response.status_code == 422
    assert problem in await response.get_data(as_text=True)
    assert await send_all(mail_app) == 0


async def test_the_form_tells_no_one_who_subscribes_and_floods_no_mailbox(
    client: Any, mail_app: Quart, box: Mailbox
) -> None:
    await subscribe(client, mail_app, box)
    sent_before = len(box.messages)
    again = await client.post("/subscribe", form={"email": READER})
    assert "a confirmation link is on its way" in await again.get_data(as_text=True)
    for _ in range(3):
        await client.post("/subscribe", form={"email": "new@example.org"})
    await send_all(mail_app)
    assert [m["To"] for m in box.messages[sent_before:]] == ["new@example.org"]


async def test_the_form_stops_past_its_hourly_number_of_confirmations(
    client: Any, mail_app: Quart, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(newsletter_views, "ASKS_PER_HOUR", 2)
    for number in range(2):
        ok = await client.post("/subscribe", form={"email": f"r{number}@example.org"})
        assert ok.status_code == 200
    refused = await client.post("/subscribe", form={"email": "r2@example.org"})
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "3600"
    assert "Too many people are subscribing" in await refused.get_data(as_text=True)
    assert await send_all(mail_app) == 2


async def test_a_link_is_for_its_one_purpose_and_its_one_address(
    client: Any, mail_app: Quart, box: Mailbox, db: AsyncSession
) -> None:
    await client.post("/subscribe", form={"email": READER})
    await send_all(mail_app)
    confirm = link_in(parts(box.messages[0])[0], "subscribe/confirm")
    token = confirm.rsplit("/", 1)[1]
    wrong = await client.get(f"/unsubscribe/{token}")
    assert wrong.status_code == 400
    assert "not valid" in await wrong.get_data(as_text=True)
    cut = await client.post(confirm[:-4])
    assert cut.status_code == 400
    # Unsubscribed since: the old confirmation link does not bring the address back.
    found = await stored(db)
    found.state = SubscriberState.UNSUBSCRIBED
    await db.commit()
    assert (await client.post(confirm)).status_code == 404
    # An admin removed the address since: the old link confirms nothing.
    found = await stored(db)
    await subscribers.remove(db, found.id)
    await db.commit()
    gone = await client.post(confirm)
    assert gone.status_code == 404
    assert "no longer on the list" in await gone.get_data(as_text=True)


def test_a_confirmation_link_expires_and_an_unsubscribe_link_does_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    confirm = tokens.make(TEST_SECRET, tokens.CONFIRM, 1, READER)
    leave = tokens.make(TEST_SECRET, tokens.LEAVE, 1, READER)
    later = utcnow().timestamp() + tokens.CONFIRM_DAYS * 86_400 + 60
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: later)
    with pytest.raises(tokens.BadLink, match="more than 7 days old"):
        tokens.read(TEST_SECRET, tokens.CONFIRM, confirm)
    assert tokens.read(TEST_SECRET, tokens.LEAVE, leave) == tokens.Holder(1, READER)


# --- a new post --------------------------------------------------------------------


async def test_a_published_post_is_mailed_once_to_confirmed_subscribers(
    client: Any, mail_app: Quart, box: Mailbox, db: AsyncSession, writer: User
) -> None:
    await subscribe(client, mail_app, box)
    await client.post("/subscribe", form={"email": "waiting@example.org"})  # not confirmed
    await send_all(mail_app)
    before = len(box.messages)

    await publish(client)
    assert await send_all(mail_app) == 1
    [sent] = box.messages[before:]
    assert sent["To"] == READER and sent["Subject"] == "Hello, readers"
    assert sent["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert re.fullmatch(r"<http://localhost/unsubscribe/[\w.-]+>", sent["List-Unsubscribe"])
    assert sent["List-Id"] == "Quire <newsletter.localhost>"
    assert sent["Message-ID"].endswith("@example.com>")
    text, html = parts(sent)
    # The excerpt (the default), with the way to read on and to leave.
    assert "The first paragraph, which is the excerpt." in text
    assert (
        "Read on: http://localhost/" in text
        and "Unsubscribe: http://localhost/unsubscribe/" in text
    )
    assert "Read the whole post" in html and "app.py" not in html

    # Saved again, unpublished and published again: announced once.
    post = (await db.scalars(select(Post))).one()
    edited = {"title": "Hello, readers", "body": BODY + "\nMore.", "action": "publish"}
    await sign_in(client, "ada@example.com")
    await post_form(
        client,
        "/admin/posts/save",
        {**edited, "post_id": str(post.id), "version": str(post.version)},
    )
    await post_form(client, f"/admin/posts/{post.id}/unpublish")
    await post_form(client, f"/admin/posts/{post.id}/publish")
    assert await send_all(mail_app) == 0
    assert len(box.messages) == before + 1


async def test_the_whole_post_keeps_its_code_colours_math_and_diff_marks(
    client: Any, mail_app: Quart, box: Mailbox, db: AsyncSession, writer: User
) -> None:
    await subscribe(client, mail_app, box)
    await db.merge(SiteSettings(id=1, title="Ada's notes", newsletter="whole"))
    await db.commit()
    await publish(client)
    await send_all(mail_app)
    sent = box.messages[-1]
    assert sent["From"] == "Ada's notes <blog@example.com>"
    text, html = parts(sent)
    assert '@app.get("/")' in text, "the plain part is the Markdown itself"
    assert "<style" not in html and 'class="highlight"' in html
    assert "Roboto, Helvetica, Arial, sans-serif" in html, "no quote cuts a style short"
    # Pygments' light theme as inline styles: the decorator and the keyword are coloured.
    decorator = re.search(r'<span class="nd" style="([^"]+)">@app', html)
    assert decorator and "color:" in decorator[1]
    assert "<math" not in html and "$e^{i\\pi} + 1 = 0$" in html
    # Added and removed lines keep their sign: told apart by more than colour.
    assert re.search(r'<ins class="line" style="[^"]+"><span class="gi"[^>]*>\+new line', html)
    assert re.search(r'<del class="line" style="[^"]+"><span class="gd"[^>]*>-old line', html)
    assert 'href="http://localhost/"' in html
    assert re.search(r'href="http://localhost/\d{4}/\d{2}/\d{2}/hello-readers#part"', html)
    assert "heading-anchor" not in html


async def test_one_click_unsubscribe_needs_no_session_and_stops_the_mail(
    client: Any, mail_app: Quart, box: Mailbox, db: AsyncSession, served: Any, writer: User
) -> None:
    await subscribe(client, mail_app, box)
    await publish(client, "First")
    await send_all(mail_app)
    leave = box.messages[-1]["List-Unsubscribe"].strip("<>").removeprefix("http://localhost")
    # As a mail provider sends it: a fresh client, no cookie, no token, no Origin.
    provider = served.test_client()
    response = await provider.post(leave, form={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert (await stored(db)).state is SubscriberState.UNSUBSCRIBED
    count = len(box.messages)
    await publish(client, "Second")
    assert await send_all(mail_app) == 0
    assert len(box.messages) == count
    # Another site's page cannot do it for the reader.
    forged = await provider.post(leave, headers={"Sec-Fetch-Site": "cross-site"})
    assert forged.status_code == 403


async def test_leaving_cancels_the_mails_still_queued(
    client: Any, mail_app: Quart, box: Mailbox, db: AsyncSession, writer: User
) -> None:
    await subscribe(client, mail_app, box)
    leave = tokens.make(TEST_SECRET, tokens.LEAVE, (await stored(db)).id, READER)
    await publish(client, "Queued, never sent")
    assert [row.purpose for row in await deliveries(db)] == ["confirm", "post"]
    left = await client.post(f"/unsubscribe/{leave}")
    assert "You are unsubscribed" in await left.get_data(as_text=True)
    assert [row.purpose for row in await deliveries(db)] == ["confirm"]
    count = len(box.messages)
    assert await send_all(mail_app) == 0 and len(box.messages) == count


async def test_a_hard_bounce_unsubscribes_and_a_soft_one_is_tried_again(
    client: Any, mail_app: Quart, box: Mailbox, db: AsyncSession, writer: User
) -> None:
    await subscribe(client, mail_app, box, "gone@example.org")
    await subscribe(client, mail_app, box, "busy@example.org")
    box.refuse = {"gone@example.org": 550, "busy@example.org": 451}
    await publish(client)
    await send_all(mail_app)
    assert (await stored(db, "gone@example.org")).state is SubscriberState.BOUNCED
    assert (await stored(db, "busy@example.org")).state is SubscriberState.CONFIRMED
    rows = {row.subscriber_id: row for row in await deliveries(db) if row.purpose == "post"}
    gone, busy = (
        (await stored(db, "gone@example.org")).id,
        (await stored(db, "busy@example.org")).id,
    )
    assert rows[gone].state is DeliveryState.FAILED and "550" in rows[gone].last_error
    assert rows[busy].state is DeliveryState.PENDING and rows[busy].attempts == 1
    assert rows[busy].due_at > utcnow() + timedelta(seconds=30)
    # Once due again and the mailbox is free, it goes.
    box.refuse = {}
    await db.execute(update(Delivery).where(Delivery.id == rows[busy].id).values(due_at=utcnow()))
    await db.commit()
    assert await send_all(mail_app) == 1
    assert box.messages[-1]["To"] == "busy@example.org"


async def test_a_dead_mail_server_costs_an_attempt_and_nothing_is_lost(
    client: Any, mail_app: Quart, box: Mailbox, db: AsyncSession
) -> None:
    await client.post("/subscribe", form={"email": READER})
    mail_app.extensions[OUTBOX].senders["mail"].settings = mail_app.config["MAIL"].__class__(
        smtp=mail_app.config["MAIL"].smtp.__class__(host="127.0.0.1", port=1, tls=False),
        sender=mail_app.config["MAIL"].sender,
        per_minute=100000,
    )
    assert await send_all(mail_app) == 1
    [row] = await deliveries(db)
    assert row.state is DeliveryState.PENDING and row.attempts == 1
    assert "cannot reach the mail server" in row.last_error


async def test_a_scheduled_post_is_mailed_when_it_goes_live_and_a_withdrawn_one_never(
    client: Any, mail_app: Quart, box: Mailbox, db: AsyncSession, writer: User
) -> None:
    await subscribe(client, mail_app, box)
    before = len(box.messages)
    tomorrow = (utcnow() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    await publish(client, "Tomorrow", action="schedule", publish_at=tomorrow)
    assert await send_all(mail_app) == 0
    [row] = [row for row in await deliveries(db) if row.purpose == "post"]
    post = (await db.scalars(select(Post).where(Post.title == "Tomorrow"))).one()
    assert row.due_at == post.published_at

    # Brought forward by hand (as time passing would): it goes when due.
    past = utcnow() - timedelta(minutes=1)
    await db.execute(update(Post).where(Post.id == post.id).values(published_at=past))
    await db.execute(update(Delivery).where(Delivery.id == row.id).values(due_at=past))
    await db.commit()
    assert await send_all(mail_app) == 1
    assert box.messages[-1]["Subject"] == "Tomorrow" and len(box.messages) == before + 1

    # Another, taken back to draft before its time: nothing is sent, and publishing it
    # later announces it then.
    await publish(client, "Withdrawn", action="schedule", publish_at=tomorrow)
    withdrawn = (await db.scalars(select(Post).where(Post.title == "Withdrawn"))).one()
    await sign_in(client, "ada@example.com")
    await post_form(client, f"/admin/posts/{withdrawn.id}/unpublish")
    assert not [row for row in await deliveries(db) if row.post_id == withdrawn.id]
    assert await db.get(Announcement, (withdrawn.id, "mail")) is None
    await post_form(client, f"/admin/posts/{withdrawn.id}/publish")
    assert await send_all(mail_app) == 1
    assert box.messages[-1]["Subject"] == "Withdrawn"


def sent_as(title: str, site_title: str, **overrides: Any) -> bytes:
    """A one-line post titled `title`, made and addressed as the sender does."""
    post = Post(title=title, body="x", body_html="<p>x</p>", excerpt="x")
    made = mail.post_mail(
        post, page="http://h/p", home="http://h/", site_title=site_title, whole=False
    )
    options = {
        "to": READER,
        "sender": Sender("blog@example.com"),
        "site_title": site_title,
        "leave": "http://h/unsubscribe/t",
        "list_host": "h",
        **overrides,
    }
    return mail.addressed(made, **options)


def test_a_title_cannot_add_a_header() -> None:
    sent = sent_as("Hi\r\nBcc: everyone@example.com", "T\nX")
    message = email.message_from_bytes(sent, policy=email.policy.default)
    assert message["Subject"] == "Hi Bcc: everyone@example.com"
    assert message["Bcc"] is None
    assert message["From"] == "T X <blog@example.com>"
    with pytest.raises(ValueError, match="a line break in the To header"):
        sent_as("Hi", "T", to="a@example.com\r\nBcc: b@example.com")


def test_a_long_title_in_another_script_is_one_subject_line() -> None:
    title = "Réflexions sur la programmation asynchrone en Python, partie 2 — et encore"
    message = email.message_from_bytes(sent_as(title, "Été"), policy=email.policy.default)
    assert message["Subject"] == title and message["List-Id"].startswith("Été <")


def test_a_title_in_any_script_reaches_the_subject_whole() -> None:
    sent = sent_as("Über Ümlaute — 漢字 ✓", "Ü")
    message = email.message_from_bytes(sent, policy=email.policy.default)
    assert message["Subject"] == "Über Ümlaute — 漢字 ✓" and sent.isascii()
    assert message["From"] == "Ü <blog@example.com>"
    text, html = parts(message)
    assert "Über Ümlaute — 漢字 ✓" in text and "http://h/unsubscribe/t" in html


# --- the admins' page --------------------------------------------------------------


async def test_admins_see_count_export_and_remove_subscribers(
    client: Any, mail_app: Quart, box: Mailbox, db: AsyncSession
) -> None:
    await subscribe(client, mail_app, box)
    await client.post("/subscribe", form={"email": "=cmd@example.org"})
    await make_user(db, "ada@example.com", "Ada Author")
    await sign_in(client, "ada@example.com")
    assert (await client.get("/admin/subscribers/")).status_code == 403
    assert (await client.get("/admin/subscribers/subscribers.csv")).status_code == 403
    await post_form(client, "/logout")

    from components.models import Role

    await make_user(db, "root@example.com", "Grace Admin", Role.ADMIN)
    await sign_in(client, "root@example.com")
    page = await (await client.get("/admin/subscribers/")).get_data(as_text=True)
    assert "1 confirmed, 1 waiting to confirm, 0 unsubscribed, 0 bounced" in page
    assert READER in page and "=cmd@example.org" in page
    confirmed = await (await client.get("/admin/subscribers/?state=confirmed")).get_data(
        as_text=True
    )
    assert READER in confirmed and "=cmd@example.org" not in confirmed
    assert (await client.get("/admin/subscribers/?state=nonsense")).status_code == 400

    exported = await client.get("/admin/subscribers/subscribers.csv")
    assert exported.headers["Content-Disposition"] == 'attachment; filename="subscribers.csv"'
    lines = (await exported.get_data(as_text=True)).splitlines()
    assert lines[0] == "email,state,subscribed_at,confirmed_at,left_at"
    assert lines[1].startswith(f"{READER},confirmed,") and lines[2].startswith(
        "'=cmd@example.org,pending,"
    )

    found = await stored(db)
    removed = await post_form(client, f"/admin/subscribers/{found.id}/remove")
    assert removed.status_code == 303
    assert READER not in await (await client.get("/admin/subscribers/")).get_data(as_text=True)
    assert not [row for row in await deliveries(db) if row.subscriber_id == found.id]
    again = await post_form(client, f"/admin/subscribers/{found.id}/remove")
    assert again.status_code == 404


async def test_in_production_mail_needs_a_base_url(
    database_url: str, tmp_path: Path, box: Mailbox
) -> None:
    """Without one, a confirmation link would be made for whatever Host a request named."""
    settings = {
        "QUIRE_SMTP_URL": box.url,
        "QUIRE_MAIL_FROM": "blog@example.com",
        "QUIRE_ENV": "production",
    }
    for base_url, status in (("", 404), ("http://localhost", 200)):
        app = create_app(
            app_config(database_url, tmp_path / "instance", QUIRE_BASE_URL=base_url, **settings)
        )
        async with app.test_app() as test_app:
            response = await test_app.test_client().get("/subscribe", headers={"Host": "localhost"})
            assert response.status_code == status, base_url
