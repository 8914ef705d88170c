"""The `quire` command: database upgrades and demo content, outside any request."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from cli import base, checks, ghost, outbox, people, portability, render, serve, wordpress
from components import accounts, demo, migrations, posts
from components.accounts import AccountError
from components.comments import moderation
from components.db import make_engine, make_sessionmaker
from web import create_app


@click.group(epilog="Run `quire COMMAND --help` for what each command does and takes.")
def main() -> None:
    """Quire, a blog engine for technical writing.

    Every command works on the database that DATABASE_URL names (SQLite or
    PostgreSQL; default: instance/quire.db) and reads the same QUIRE_* settings
    as the web app; the README lists them all.
    """


@main.group()
def db() -> None:
    """Manage the database schema."""


def _jobs_option(command: Callable[..., None]) -> Callable[..., None]:
    return click.option(
        "--jobs",
        type=click.IntRange(1, 64),
        default=render.default_jobs,
        show_default="one per core, at most 4",
        help="Posts rendered at once, each in a process of its own.",
    )(command)


@db.command("upgrade")
@_jobs_option
def db_upgrade(jobs: int) -> None:
    """Apply the migrations the database does not have yet, then render again the posts
    an older Quire rendered (see `quire render`)."""

    async def work(engine: AsyncEngine) -> str:
        todo = await migrations.pending(engine)
        if todo:
            await migrations.upgrade(engine)
        done = (
            f"applied {len(todo)} migration(s): {', '.join(todo)}"
            if todo
            else "database is up to date"
        )
        # A new Quire may render Markdown differently: old posts get its HTML now.
        return f"{done}; {await render.render_stale(engine, jobs)}"

    base.with_engine(work)


@main.command("render")
@_jobs_option
def render_posts(jobs: int) -> None:
    """Render old posts again with this Quire.

    Every post an older Quire rendered (before an upgrade that renders Markdown
    differently: code blocks, callouts) gets this one's HTML. A few posts per
    transaction, never blocking the site; stopped, it picks up where it was when run
    again. `quire db upgrade` does it too."""

    async def work(engine: AsyncEngine) -> str:
        await base.up_to_date(engine)
        return await render.render_stale(engine, jobs)

    base.with_engine(work)


@main.command("serve", short_help="Serve Quire with several workers; graceful on SIGTERM.")
@click.option(
    "--host",
    default=None,
    help="Address to listen on [default: 0.0.0.0 when QUIRE_ENV=production, else 127.0.0.1].",
)
@click.option("--port", type=int, default=None, help="Port to listen on [default: PORT, 5000].")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Worker processes [default: WEB_CONCURRENCY, 2].",
)
def serve_command(host: str | None, port: int | None, workers: int | None) -> None:
    """Serve Quire under hypercorn with several worker processes.

    On SIGTERM or SIGINT each worker ends its live-comment streams, stops taking
    connections, lets the requests in flight finish (QUIRE_GRACEFUL_TIMEOUT seconds at
    most) and closes its database pool; a worker that dies is replaced. The settings
    are the app's: the README lists them.
    """
    try:
        app = create_app()
    except SystemExit as error:
        raise click.ClickException(str(error).removeprefix("quire: ")) from None
    config = app.config
    chosen_host = host or ("0.0.0.0" if config["QUIRE_ENV"] == "production" else "127.0.0.1")  # noqa: S104
    code = serve.supervise(
        app,
        chosen_host,
        port or config["PORT"],
        workers or config["WEB_CONCURRENCY"],
    )
    sys.exit(code)


@main.command("check", short_help="List settings that are wrong, or unsafe for production.")
@click.option(
    "--deploy",
    is_flag=True,
    help="Also check what production needs: QUIRE_ENV, SECRET_KEY, TLS to the database, "
    "the proxy settings, the pool against the database's connection limit.",
)
def check(deploy: bool) -> None:
    """Check the settings, the assets and the database, and list what is wrong.

    Exits 1 when there is an error (something that would lose data, leak sessions or
    stop the site), 0 when there are only warnings or nothing at all. Run it with the
    production environment, e.g. in the release phase before `quire db upgrade`.
    """
    found = asyncio.run(checks.problems(os.environ, deploy=deploy))
    for problem in found:
        click.echo(str(problem))
    errors = sum(problem.level == checks.Level.ERROR for problem in found)
    warnings = len(found) - errors
    click.echo(f"{errors} error(s), {warnings} warning(s)" if found else "no problems found")
    if errors:
        sys.exit(1)


@main.command("demo", short_help="Load the sample posts into an empty blog.")
def load_demo() -> None:
    """Load the sample posts into an empty blog (a blog with posts is left alone)."""

    async def work(engine: AsyncEngine) -> str:
        await base.up_to_date(engine)
        async with make_sessionmaker(engine)() as session:
            existing = await posts.count(session)
            if existing:
                return f"demo content not loaded: the blog already has {existing} post(s)"
            added = await demo.load(session)
            await session.commit()
        return f"loaded {added} demo posts"

    base.with_engine(work)


_DURATION_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def _duration(_ctx: click.Context, _param: click.Parameter, value: str) -> timedelta:
    """`30d`, `12h`, `2w` or `90m` as a length of time."""
    match = re.fullmatch(r"\s*(\d{1,6})\s*([mhdw])\s*", value)
    if match is None:
        raise click.BadParameter(f"{value!r} is not a duration like 30d, 12h, 2w or 90m")
    return timedelta(**{_DURATION_UNITS[match[2]]: int(match[1])})


@main.group("comments")
def comments_group() -> None:
    """Look after readers' comments."""


@comments_group.command("purge-spam")
@click.option(
    "--older-than",
    "older_than",
    default="30d",
    show_default=True,
    callback=_duration,
    help="Only spam received longer ago than this (30d, 12h, 2w, 90m).",
)
def purge_spam(older_than: timedelta) -> None:
    """Delete comments marked as spam (and replies to them) for good."""

    async def work(engine: AsyncEngine) -> str:
        await base.up_to_date(engine)
        async with make_sessionmaker(engine)() as session:
            purged = await moderation.purge_spam(session, older_than)
            await session.commit()
        return f"deleted {purged} spam comment(s) older than {older_than}"

    base.with_engine(work)


@main.command("import", short_help="Import Jekyll, Hugo, WordPress or Ghost posts.")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, exists=False))
@click.option(
    "--dry-run",
    is_flag=True,
    help="Say what would be created, updated or left alone; write nothing.",
)
@click.option(
    "--author",
    "author_email",
    metavar="EMAIL",
    help="The account the imported posts and images belong to (default: none; admins edit them).",
)
@click.option(
    "--time-zone",
    default="UTC",
    show_default=True,
    help="The zone of dates written without one (`date: 2023-09-29`, or a file name's date).",
)
@click.option(
    "--media",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="The export's images: WordPress's wp-content/uploads, or Ghost's content/images.",
)
def import_posts(
    paths: tuple[Path, ...],
    dry_run: bool,
    author_email: str | None,
    time_zone: str,
    media: Path | None,
) -> None:
    """Import Jekyll or Hugo Markdown files, or folders of them (searched recursively),
    WordPress exports (.xml, from Tools → Export) and Ghost exports (.json, from
    Settings → Advanced → Export).

    \b
    Files: .md, .markdown, .mdown and .mkd. Folders are searched for them, skipping
    dot-folders, _site, public, resources, node_modules and Hugo's _index.md pages.

    Front matter in YAML (---) or TOML (+++) becomes each post's title, slug, date,
    description (else summary or excerpt), tags (and categories), switches
    (comments, share), draft state (`published: false`, `draft: true`, or a file in
    `_drafts/`) and former addresses (permalink, aliases, redirect_from); other keys
    are kept for export. The slug comes from `slug`, else the file name, else the
    title; the date from `date`, else the file name, else the file's modification
    time. Images the Markdown shows by a local path go into the media library and the
    links follow.

    A folder `quire export` wrote is a restore: its people, media library (logo, icon,
    avatars and unused images too, each checked as an upload), posts, comments and
    settings come back, adding nothing twice and never overwriting settings a blog has.

    A post is matched by its slug, so importing the same files again updates them in
    place and leaves the rest alone; a second file with the same slug in one import
    is skipped. Each file is imported in its own transaction: a bad file is reported
    with its line and skipped. Ctrl-C stops after the file in progress is rolled back;
    run the same command again to finish.

    \b
    Exit status: 0 when every file was imported, 1 when any was skipped (or a path
    was missing), 130 when interrupted.
    """
    try:
        accounts.check_time_zone(time_zone)
    except AccountError as error:
        raise click.BadParameter(str(error), param_hint="--time-zone") from None
    settings = base.settings()
    exports = [p for p in paths if p.suffix.lower() in (".xml", ".json") and p.is_file()]
    files, missing = portability.markdown_files(p for p in paths if p not in exports)
    for problem in missing:
        click.echo(problem, err=True)
    # A backup of a blog without posts still holds its people, settings and media.
    if not files and not exports and not any(map(portability.is_backup, paths)):
        raise click.ClickException(
            f"no Markdown files ({', '.join(sorted(portability.MARKDOWN_SUFFIXES))}) or "
            "WordPress (.xml) or Ghost (.json) exports found in " + ", ".join(map(str, paths))
        )
    total = len(files) + sum(
        (ghost if export.suffix.lower() == ".json" else wordpress).count(export)
        for export in exports
    )

    async def run() -> portability.Report:
        engine = make_engine(settings["DATABASE_URL"])
        try:
            await base.up_to_date(engine)
            async with portability.web_links() as links:
                with portability.progress(total, "Importing") as show:
                    return await portability.import_files(
                        engine,
                        files,
                        links=links,
                        settings=settings,
                        author_email=author_email,
                        time_zone=time_zone,
                        dry_run=dry_run,
                        show=show,
                        exports=exports,
                        media=media,
                        folders=[path for path in paths if path.is_dir()],
                    )
        finally:
            await engine.dispose()

    try:
        report = asyncio.run(run())
    except KeyboardInterrupt:
        click.echo(
            "interrupted: every file imported so far is complete, the one in progress was "
            "rolled back; run the same command again to finish",
            err=True,
        )
        sys.exit(130)
    if portability.is_terminal():
        for problem in report.problems:
            click.echo(problem, err=True)
    for note in report.notes:
        click.echo(f"warning: {note}", err=True)
    click.echo(report.summary())
    if report.counts["skipped"] or missing:
        sys.exit(1)


@main.command("export", short_help="Write every post and image out as a Jekyll site.")
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
def export_posts(folder: Path) -> None:
    """Write every post (drafts too) into FOLDER as Jekyll Markdown, with its media.

    Posts go to _posts/YYYY-MM-DD-slug.md, drafts without a date to _drafts/slug.md,
    drafts with `published: false`; every image of the library (the logo, the icon,
    avatars and unused ones too) to assets/media/, with their names, alt texts, owners
    and dates in _data/quire_media.yml; comments, people and settings to _data/.
    `quire import FOLDER` brings it all back. FOLDER
    must be new or empty; it appears only once the export is complete.
    """
    url = base.settings()["DATABASE_URL"]

    async def run() -> str:
        engine = make_engine(url)
        try:
            await base.up_to_date(engine)
            async with make_sessionmaker(engine)() as session:
                total = await posts.count(session)
            async with portability.web_links() as links:
                with portability.progress(total, "Exporting") as show:
                    summary = await portability.export_all(engine, folder, links=links, show=show)
        except FileExistsError as error:
            raise click.ClickException(str(error)) from None
        finally:
            await engine.dispose()
        if summary.comments:
            return (
                f"exported {summary.posts} post(s) ({summary.drafts} draft(s)), "
                f"{summary.media} image(s) and {summary.comments} comment(s) to {folder}"
            )
        return (
            f"exported {summary.posts} post(s) ({summary.drafts} draft(s)) and "
            f"{summary.media} image(s) to {folder}"
        )

    click.echo(asyncio.run(run()))


main.add_command(people.user)
main.add_command(outbox.outbox)
