"""`quire import`: a folder of Jekyll and Hugo files, the bad ones among the good."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError

from cli import portability, runs
from components import importer, render_pool, revisions
from components import site as site_settings
from components.models import Media, Post, Revision

from .conftest import backend_url, make_user, run_async, session_on
from .portability import FIXTURES, NO_SITE_IMAGES, Blog

GOOD = 9
BAD = {
    "_posts/2023-02-30-impossible.md:3: impossible date '2023-02-30'",
    "_posts/2023-05-05-broken-yaml.md:3: invalid YAML front matter",
    "_posts/2023-06-01-untitled.md:1: missing title",
    "_posts/2023-07-01-latin1.md:2: not UTF-8 text (byte 0xe9",
    "_posts/2023-08-01-empty.md: the file is empty",
    "content/posts/bad-toml.md:3: invalid TOML front matter",
}


@pytest.fixture
def blog(backend: str, postgres_schema: None, tmp_path: Path) -> Blog:
    return Blog.empty(backend_url(backend, tmp_path), tmp_path)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A copy of the fixture site that a test may change."""
    return Path(shutil.copytree(FIXTURES, tmp_path / "site"))


def count(blog: Blog, model: Any) -> int:
    async def counted() -> int:
        async with session_on(blog.url) as session:
            return await session.scalar(select(func.count()).select_from(model)) or 0

    return run_async(counted())


def test_an_imported_post_is_searched_by_the_text_a_reader_reads(blog: Blog, site: Path) -> None:
    blog.quire("import", str(site))

    async def text_of(slug: str) -> str | None:
        async with session_on(blog.url) as session:
            return await session.scalar(select(Post.body_text).where(Post.slug == slug))

    # The images are their alt text, not their addresses; the code block is what it shows.
    assert run_async(text_of("hello-jekyll")) == (
        "A first post with a picture: A red square And a reference-style one: blue "
        "![not an image](/assets/img/missing-in-code.png)"
    )


def test_imports_every_good_file_and_names_each_bad_one(blog: Blog, site: Path) -> None:
    result = blog.quire("import", str(site))
    assert result.exit_code == 1, result.output
    for problem in BAD:
        assert f"{site}/{problem}" in result.stderr
    assert result.stdout.count("created ") == GOOD
    assert result.stdout.strip().endswith(
        "9 created, 0 updated, 0 unchanged; 5 image(s) added; 6 file(s) skipped"
    )

    posts = blog.contents()["posts"]
    assert len(posts) == GOOD
    hello = posts["hello-jekyll"]
    assert hello.title == "Hello, Jekyll"
    assert hello.description == ""  # " " in the file
    assert hello.published_at == datetime(2023, 9, 29, 8, tzinfo=UTC)
    assert hello.tags == {"python", "web", "Notes"}
    assert (hello.comments, hello.share, hello.status_label) == (True, False, "published")
    assert hello.redirects == {"/blog/hello-jekyll.html", "/old/hello/"}
    assert hello.front_matter["layout"] == "post"
    assert hello.front_matter["custom"] == {"nested": [1, 2]}
    # Local images are in the library, the links rewritten; code samples are left alone.
    assert "](/media/" in hello.body and "[b]: /media/" in hello.body
    assert "/assets/img/missing-in-code.png" in hello.body
    assert hello.front_matter["image"].startswith("/media/")

    toml = posts["hugo-toml"]
    assert toml.title == "Hugo in TOML: 日本語のタイトル"
    assert toml.published_at == datetime(2023, 10, 1, 15, 30, tzinfo=UTC)
    assert toml.tags == {"Hugo", "TOML", "Notes"}
    assert toml.redirects == {"/posts/old-hugo-toml/", "/older-hugo"}
    assert toml.description == "A Hugo post written in TOML."
    assert toml.front_matter == {
        "lastmod": "2023-10-02",
        "summary": "A Hugo post written in TOML.",
        "params": {"mood": "curious"},
    }
    assert "](/media/" in toml.body  # /images/logo.png, found in Hugo's static/

    assert posts["leap-day"].published_at == datetime(2024, 2, 29, tzinfo=UTC)
    assert posts["leap-day"].description == "What happens on the 29th of February."
    assert posts["no-front-date"].published_at == datetime(2023, 1, 5, tzinfo=UTC)
    assert posts["unpublished"].status_label == "draft"
    assert posts["a-jekyll-draft"].status_label == "draft"
    assert posts["a-jekyll-draft"].published_at is None
    assert posts["hugo-yaml-draft"].status_label == "draft"
    assert posts["scheduled"].status_label == "scheduled"
    assert posts["bundle"].body.startswith("![local](/media/")
    assert "_index" not in posts and "posts" not in posts  # Hugo's section page is no post

    media = blog.contents()["media"]
    assert len(media) == 5
    assert {(name, alt) for name, alt, *_ in media.values()} >= {
        ("red.png", "A red square"),
        ("photo.png", "local"),
    }


def test_importing_again_changes_nothing(blog: Blog, site: Path) -> None:
    blog.quire("import", str(site))
    before = blog.contents()
    kept = count(blog, Revision)
    again = blog.quire("import", str(site))
    assert again.stdout.strip().endswith("0 created, 0 updated, 9 unchanged; 6 file(s) skipped")
    assert blog.contents() == before
    assert count(blog, Revision) == kept == GOOD


def test_dry_run_says_what_would_happen_and_writes_nothing(blog: Blog, site: Path) -> None:
    result = blog.quire("import", "--dry-run", str(site))
    assert result.exit_code == 1
    assert "dry run, nothing written: 9 would be created" in result.stdout
    assert "5 image(s) would be added" in result.stdout
    assert blog.contents() == {
        "posts": {},
        "media": {},
        "comments": [],
        "site_images": NO_SITE_IMAGES,
    }
    assert not blog.media_folder.exists()

    blog.quire("import", str(site))
    post = site / "_posts" / "2024-02-29-leap-day.markdown"
    post.write_text(post.read_text().replace("Body of the leap day post.", "A new body."))
    before = blog.contents()
    dry = blog.quire("import", "--dry-run", str(site))
    assert "0 would be created, 1 would be updated, 8 would be unchanged" in dry.stdout
    assert blog.contents() == before


def test_a_changed_file_updates_its_post_in_place_and_keeps_the_old_text(
    blog: Blog, site: Path
) -> None:
    blog.quire("import", str(site))
    post = site / "_posts" / "2024-02-29-leap-day.markdown"
    post.write_text(
        post.read_text()
        .replace("Body of the leap day post.", "A new body.")
        .replace("date: 2024-02-29", "date: 2024-03-01")
    )
    result = blog.quire("import", str(post))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith("0 created, 1 updated, 0 unchanged")
    posts = blog.contents()["posts"]
    assert len(posts) == GOOD
    assert posts["leap-day"].body == "A new body.\n"
    # Its old address keeps working, and its earlier text is a revision.
    assert "/2024/02/29/leap-day" in posts["leap-day"].redirects
    assert count(blog, Revision) == GOOD + 1


def test_a_file_the_database_refuses_is_rolled_back_alone(
    blog: Blog, site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = revisions.record

    async def refuse_one(session: Any, **fields: Any) -> Any:
        if fields["title"] == "A page bundle":
            raise IntegrityError("INSERT INTO revisions", {}, Exception("refused for the test"))
        return await record(session, **fields)

    monkeypatch.setattr(revisions, "record", refuse_one)
    result = blog.quire("import", str(site))
    assert "bundle/index.md: not imported, the database refused it" in result.stderr
    posts = blog.contents()["posts"]
    assert "bundle" not in posts and len(posts) == GOOD - 1
    # Its image was stored in the same transaction, so it went too.
    assert len(blog.contents()["media"]) == 4


class Locked(Exception):
    """What the driver raises when SQLite's write lock stayed taken (SQLITE_BUSY)."""

    sqlite_errorcode = 5


def test_a_file_that_loses_a_race_for_the_database_is_imported_again(
    blog: Blog, site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A running server's writers can hold the lock: the file's transaction runs again,
    and only one that keeps losing is reported."""
    record = revisions.record
    losses: dict[str, int] = {"A page bundle": 0, "Hello, Jekyll": 0}

    async def lose(session: Any, **fields: Any) -> Any:
        title = fields["title"]
        if title in losses and (title == "Hello, Jekyll" or losses[title] < 2):
            losses[title] += 1
            raise OperationalError("INSERT INTO revisions", {}, Locked("database is locked"))
        return await record(session, **fields)

    monkeypatch.setattr(revisions, "record", lose)
    monkeypatch.setattr(runs, "FIRST_PAUSE_SECONDS", 0.0)
    result = blog.quire("import", str(site))
    assert losses == {"A page bundle": 2, "Hello, Jekyll": runs.CONFLICT_ATTEMPTS}
    assert "bundle/index.md: not imported" not in result.stderr
    assert "hello-jekyll.md: not imported, the database refused it" in result.stderr
    posts = blog.contents()["posts"]
    assert "bundle" in posts and "hello-jekyll" not in posts and len(posts) == GOOD - 1
    assert count(blog, Revision) == GOOD - 1


def test_an_interrupted_import_leaves_whole_posts_and_can_be_run_again(
    blog: Blog, site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importer.import_source
    calls = 0

    async def interrupted(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 3:
            await asyncio.sleep(0)
            raise KeyboardInterrupt
        return await real(*args, **kwargs)

    monkeypatch.setattr(portability.importer, "import_source", interrupted)
    result = blog.quire("import", str(site))
    assert result.exit_code == 130
    assert "interrupted" in result.stderr and "run the same command again" in result.stderr
    assert len(blog.contents()["posts"]) == 2
    assert count(blog, Revision) == 2

    monkeypatch.setattr(portability.importer, "import_source", real)
    finished = blog.quire("import", str(site))
    assert "7 created, 0 updated, 2 unchanged" in finished.stdout
    assert len(blog.contents()["posts"]) == GOOD


def test_on_a_terminal_a_progress_bar_stands_for_the_file_lines(
    blog: Blog, site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(portability, "is_terminal", lambda: True)
    result = blog.quire("import", str(site))
    assert "Importing" in result.stdout
    assert "created " not in result.stdout
    assert all(f"{site}/{problem}" in result.stderr for problem in BAD)
    assert "9 created" in result.stdout


def test_author_option_gives_the_posts_an_owner(blog: Blog, site: Path) -> None:
    unknown = blog.quire("import", "--author", "nobody@example.com", str(site))
    assert unknown.exit_code == 1
    assert "no account for nobody@example.com" in unknown.output
    assert blog.contents()["posts"] == {}

    async def add_user() -> int:
        async with session_on(blog.url) as session:
            return (await make_user(session, "ada@example.com", "Ada")).id

    user_id = run_async(add_user())
    blog.quire("import", "--author", "ada@example.com", str(site / "_posts"))

    async def owners() -> set[int | None]:
        async with session_on(blog.url) as session:
            posts = set(await session.scalars(select(Post.author_id)))
            return posts | set(await session.scalars(select(Media.owner_id)))

    assert run_async(owners()) == {user_id}


def test_time_zone_option_places_dates_without_a_zone(blog: Blog, site: Path) -> None:
    blog.quire("import", "--time-zone", "Europe/Paris", str(site / "_posts"))
    posts = blog.contents()["posts"]
    assert posts["leap-day"].published_at == datetime(2024, 2, 28, 23, tzinfo=UTC)
    # A date with its own zone is not moved.
    assert posts["hello-jekyll"].published_at == datetime(2023, 9, 29, 8, tzinfo=UTC)
    wrong = blog.quire("import", "--time-zone", "Mars/Olympus", str(site))
    assert wrong.exit_code == 2 and "not a time zone" in wrong.output


def test_missing_paths_and_folders_without_markdown_are_reported(
    blog: Blog, site: Path, tmp_path: Path
) -> None:
    missing = blog.quire("import", str(tmp_path / "nowhere"), str(site / "_drafts"))
    assert missing.exit_code == 1
    assert f"{tmp_path / 'nowhere'}: no such file or folder" in missing.stderr
    assert "1 created" in missing.stdout
    (tmp_path / "empty").mkdir()
    empty = blog.quire("import", str(tmp_path / "empty"))
    assert empty.exit_code == 1 and "no Markdown files" in empty.output


def test_an_image_that_cannot_be_found_or_read_keeps_its_link(blog: Blog, tmp_path: Path) -> None:
    post = tmp_path / "2023-01-01-pictures.md"
    (tmp_path / "fake.png").write_bytes(b"not an image at all")
    post.write_text(
        "---\ntitle: Pictures\n---\n![gone](gone.png) ![fake](fake.png) "
        "![far](https://example.com/x.png)\n"
    )
    result = blog.quire("import", str(post))
    assert result.exit_code == 0
    assert "image 'gone.png' not found in the imported folder; its link is kept" in result.stderr
    assert "image 'fake.png' refused: This file is not an image" in result.stderr
    body = blog.contents()["posts"]["pictures"].body
    assert body == "![gone](gone.png) ![fake](fake.png) ![far](https://example.com/x.png)\n"


async def test_imported_posts_are_on_the_site_and_their_old_addresses_redirect(
    client: Any, database_url: str, tmp_path: Path
) -> None:
    blog = Blog.migrated(database_url, tmp_path)
    await asyncio.to_thread(blog.quire, "import", str(FIXTURES))
    page = await client.get("/2023/09/29/hello-jekyll")
    assert page.status_code == 200
    html = await page.get_data(as_text=True)
    assert "Hello, Jekyll" in html and 'srcset="' in html
    for old in ("/blog/hello-jekyll.html", "/old/hello/", "/old/hello"):
        moved = await client.get(old)
        assert moved.status_code == 301 and moved.location.endswith("/2023/09/29/hello-jekyll")
    assert (await client.get("/2099/05/01/scheduled")).status_code == 404
    media = html.split('src="/media/')[1].split('"')[0]
    assert (await client.get(f"/media/{media}")).status_code == 200


def test_help_describes_every_command_and_option() -> None:
    blog = Blog("sqlite+aiosqlite:///unused.db", Path("unused"))
    top = blog.quire("--help")
    assert top.exit_code == 0
    for command in ("db", "demo", "user", "comments", "import", "export"):
        assert f"  {command} " in top.output
    assert "..." not in top.output.split("Commands:")[1]  # every summary is whole
    assert "DATABASE_URL" in top.output
    imports = blog.quire("import", "--help").output
    for option in ("--dry-run", "--author EMAIL", "--time-zone", "permalink", "_drafts"):
        assert option in imports
    for suffix in portability.MARKDOWN_SUFFIXES:
        assert suffix in imports
    assert "_index.md" in imports and "130" in imports and "modification time" in imports
    assert "_posts/YYYY-MM-DD-slug.md" in blog.quire("export", "--help").output


def test_dry_run_knows_an_image_stored_before_even_when_it_was_cleaned(
    blog: Blog, tmp_path: Path
) -> None:
    exif = Image.Exif()
    exif[0x010F] = "A camera maker"  # metadata the library strips, so the stored hash differs
    Image.new("RGB", (60, 40), (10, 200, 30)).save(tmp_path / "photo.jpg", exif=exif)
    post = tmp_path / "2023-01-01-photo.md"
    post.write_text("---\ntitle: Photo\n---\n![a photo](photo.jpg)\n")
    assert "1 image(s) would be added" in blog.quire("import", "--dry-run", str(post)).stdout
    blog.quire("import", str(post))
    (stored,) = blog.contents()["media"]
    assert stored != hashlib.sha256((tmp_path / "photo.jpg").read_bytes()).hexdigest()
    dry = blog.quire("import", "--dry-run", str(post))
    assert "0 would be created, 0 would be updated, 1 would be unchanged" in dry.stdout
    assert "image(s)" not in dry.stdout  # the cleaned copy is found: nothing to add


def test_a_real_import_again_of_a_cleaned_image_adds_nothing(blog: Blog, tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x010F] = "A camera maker"
    Image.new("RGB", (60, 40), (200, 10, 30)).save(tmp_path / "shot.jpg", exif=exif)
    for name in ("2023-01-01-one.md", "2023-01-02-two.md"):
        (tmp_path / name).write_text("---\ntitle: Shot\n---\n![a shot](shot.jpg)\n")
    # Two posts show the same new image: it would be added once.
    assert "1 image(s) would be added" in blog.quire("import", "--dry-run", str(tmp_path)).stdout
    assert "1 image(s) added" in blog.quire("import", str(tmp_path)).stdout
    again = blog.quire("import", str(tmp_path))
    assert again.stdout.strip().endswith("0 created, 0 updated, 2 unchanged")
    assert count(blog, Media) == 1


def test_two_files_with_one_address_keep_the_first_and_name_both(
    blog: Blog, tmp_path: Path
) -> None:
    (tmp_path / "_posts").mkdir()
    (tmp_path / "_drafts").mkdir()
    (tmp_path / "_drafts" / "twin.md").write_text("---\ntitle: Draft twin\n---\nDraft.\n")
    (tmp_path / "_posts" / "2023-01-01-twin.md").write_text(
        "---\ntitle: Posted twin\n---\nPosted.\n"
    )
    (tmp_path / "_posts" / "2023-01-01-first.md").write_text(
        "---\ntitle: First\nredirect_from: /old/\n---\nFirst.\n"
    )
    (tmp_path / "_posts" / "2023-01-02-other.md").write_text(
        "---\ntitle: Other\npermalink: /old/\n---\nOther.\n"
    )
    first = blog.quire("import", str(tmp_path))
    assert first.exit_code == 1
    draft, posted = tmp_path / "_drafts" / "twin.md", tmp_path / "_posts" / "2023-01-01-twin.md"
    assert f"{posted}: its address 'twin' is already {draft}'s in this import" in first.stderr
    first_file = tmp_path / "_posts" / "2023-01-01-first.md"
    assert f"former address /old/ is already {first_file}'s; not redirected here" in first.stderr
    before = blog.contents()
    assert before["posts"]["twin"].title == "Draft twin"
    assert before["posts"]["first"].redirects == {"/old/"}
    # Run again, the same files win, and nothing takes turns.
    again = blog.quire("import", str(tmp_path))
    assert again.stdout.strip().endswith("0 created, 0 updated, 3 unchanged; 1 file(s) skipped")
    assert blog.contents() == before
    assert count(blog, Revision) == 3


@pytest.mark.parametrize(
    "date", ["0001-01-01T00:00:00+05:00", "9999-12-31 23:00:00 -0500", "0001-01-01"]
)
def test_a_date_with_no_utc_time_is_named_and_the_rest_go_on(
    blog: Blog, tmp_path: Path, date: str
) -> None:
    (tmp_path / "edge.md").write_text(f"---\ntitle: Edge\ndate: {date}\n---\nText.\n")
    (tmp_path / "fine.md").write_text("---\ntitle: Fine\ndate: 2023-01-01\n---\nText.\n")
    result = blog.quire("import", "--time-zone", "Asia/Tokyo", str(tmp_path))
    assert result.exit_code == 1
    assert f"{tmp_path / 'edge.md'}:3: impossible date" in result.stderr
    assert set(blog.contents()["posts"]) == {"fine"}


def test_an_unexpected_failure_skips_that_file_alone(
    blog: Blog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.md").write_text("---\ntitle: A\n---\nBoom.\n")
    (tmp_path / "b.md").write_text("---\ntitle: B\n---\nFine.\n")
    real = importer.import_source

    async def failing(session: Any, source: Any, *args: Any, **kwargs: Any) -> Any:
        if source.slug == "a":
            raise RuntimeError("the disk went away")
        return await real(session, source, *args, **kwargs)

    monkeypatch.setattr(importer, "import_source", failing)
    result = blog.quire("import", str(tmp_path))
    assert result.exit_code == 1
    assert f"{tmp_path / 'a.md'}: not imported, unexpected RuntimeError: the disk went away" in (
        result.stderr
    )
    assert set(blog.contents()["posts"]) == {"b"}


def test_a_file_without_comments_takes_the_sites_default(blog: Blog, tmp_path: Path) -> None:
    folder = tmp_path / "posts"
    folder.mkdir()
    for name, extra in (("silent", ""), ("closed", "comments: false\n")):
        (folder / f"2024-01-0{len(name)}-{name}.md").write_text(
            f"---\ntitle: {name}\n{extra}---\nText.\n"
        )
    assert blog.quire("import", str(folder)).exit_code == 0
    posts = blog.contents()["posts"]
    assert (posts["silent"].comments, posts["closed"].comments) == (True, False)

    async def comments_off() -> None:
        async with session_on(blog.url) as session:
            await site_settings.save(session, {"comments_default": False})
            await session.commit()

    run_async(comments_off())
    (folder / "2024-02-01-later.md").write_text("---\ntitle: later\n---\nText.\n")
    assert blog.quire("import", str(folder)).exit_code == 0
    assert blog.contents()["posts"]["later"].comments is False


# About a second of highlighting on an idle machine; the limit below is a tenth of one.
SLOW_TO_RENDER = "```python\n" + "def f(x):\n    return [y * 2 for y in x]\n" * 20_000 + "```\n"


def test_an_import_the_renderer_refuses_is_named_and_the_rest_imported(
    blog: Blog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "slow.md").write_text(f"---\ntitle: Slow\n---\n{SLOW_TO_RENDER}")
    (site / "quick.md").write_text("---\ntitle: Quick\n---\nQuick.\n")
    monkeypatch.setattr(render_pool, "RENDER_SECONDS", 0.1)
    result = blog.quire("import", str(site))
    assert result.exit_code == 1, result.output
    assert f"{site}/slow.md: not imported: This text took longer than 0.1 seconds" in (
        result.stderr
    )
    assert set(blog.contents()["posts"]) == {"quick"}


def test_a_reply_s_address_comes_in_and_goes_out_as_written(blog: Blog, tmp_path: Path) -> None:
    answered = "https://social.example/@bob/7"
    source = tmp_path / "2023-01-02-an-answer.md"
    head = f"---\ntitle: An answer\nin_reply_to: '{answered}'\n---\n"
    source.write_text(head + "Yes, and here is why.\n")
    assert blog.quire("import", str(source)).exit_code == 0
    assert blog.posts()["an-answer"].in_reply_to == answered
    out = tmp_path / "out"
    assert blog.quire("export", str(out)).exit_code == 0
    [written] = (out / "_posts").glob("*an-answer.md")
    assert written.read_text().startswith(head), "unchanged, it goes out as it came in"
