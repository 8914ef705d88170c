"""New posts by email on a real server: `quire serve`'s own outbox worker sends the mails
to a local SMTP server, with no cron and nothing else running, and takes up after a
restart what it had not sent."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from components.models import Delivery, Subscriber, SubscriberState
from tests.conftest import DEADLINE_SECONDS, TEST_PASSWORD, make_user, served, session_on
from tests.mailbox import Mailbox, mailbox, parts

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def mail_settings(box: Mailbox) -> dict[str, str]:
    return {
        "QUIRE_SMTP_URL": box.url,
        "QUIRE_MAIL_FROM": "Live blog <blog@example.com>",
        "QUIRE_OUTBOX_IDLE_MS": "100",
    }


async def token_of(client: httpx.AsyncClient, path: str) -> str:
    page = await client.get(path)
    found = TOKEN.search(page.text)
    assert found, page.text
    return found[1]


async def test_the_server_mails_the_confirmation_and_the_new_post(
    db: AsyncSession, database_url: str, tmp_path: Path
) -> None:
    await make_user(db, "ada@example.com", "Ada Author")
    with mailbox() as box, served(database_url, tmp_path, **mail_settings(box)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=DEADLINE_SECONDS) as reader:
            asked = await reader.post("/subscribe", data={"email": "reader@example.org"})
            assert asked.status_code == 200, asked.text
            [confirmation] = await asyncio.to_thread(box.wait_for, 1)
            text = parts(confirmation)[0]
            link = re.search(r"http://127\.0\.0\.1:\d+(/subscribe/confirm/\S+)", text)
            assert link, text
            confirmed = await reader.post(link[1], headers={"Origin": url})
            assert "You are subscribed" in confirmed.text

        async with httpx.AsyncClient(base_url=url, timeout=DEADLINE_SECONDS) as writer:
            login = {
                "email": "ada@example.com",
                "password": TEST_PASSWORD,
                "csrf_token": await token_of(writer, "/login"),
            }
            signed_in = await writer.post("/login", data=login, headers={"Origin": url})
            assert signed_in.status_code == 303, signed_in.text
            form = {
                "title": "Sent by the server",
                "body": "Written, published, mailed.",
                "action": "publish",
                "csrf_token": await token_of(writer, "/admin/posts/new"),
            }
            saved = await writer.post("/admin/posts/save", data=form, headers={"Origin": url})
            assert saved.status_code == 303, saved.text

        _, post_mail = await asyncio.to_thread(box.wait_for, 2)
        assert post_mail["Subject"] == "Sent by the server"
        assert post_mail["To"] == "reader@example.org"
        text, _ = parts(post_mail)
        assert "Written, published, mailed." in text
        assert f"Read on: {url}/" in text, "links on the address the writer used"


async def test_what_was_queued_while_the_server_was_down_is_sent_when_it_is_back(
    db: AsyncSession, database_url: str, tmp_path: Path
) -> None:
    with mailbox() as box:
        with served(database_url, tmp_path, **mail_settings(box)):
            pass  # up, then stopped with nothing to send
        async with session_on(database_url) as session:
            reader = Subscriber(email="later@example.org", state=SubscriberState.PENDING)
            session.add(reader)
            await session.flush()
            origin = {"origin": "http://blog.example"}
            session.add(
                Delivery(channel="mail", purpose="confirm", subscriber_id=reader.id, payload=origin)
            )
            await session.commit()
        assert box.messages == []
        with served(database_url, tmp_path, **mail_settings(box)):
            [confirmation] = await asyncio.to_thread(box.wait_for, 1)
    assert confirmation["To"] == "later@example.org"
    assert "http://blog.example/subscribe/confirm/" in parts(confirmation)[0]
