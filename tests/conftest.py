"""Fixtures: every test runs on SQLite, and again on PostgreSQL when
QUIRE_TEST_DATABASE_URL is set, each on a clean database.

Under CI=true nothing may be skipped: a missing database or browser fails the run.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterator,
    Mapping,
    Sequence,
)
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from argon2 import PasswordHasher
from quart import Quart
from sqlalchemy import event, make_url, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from components import accounts, clock, demo
from components.db import is_sqlite, make_engine, make_sessionmaker
from components.models import Base, Post, PostStatus, Role, User, utcnow
from components.saving import Content, write
from components.settings import PROJECT_ROOT
from components.text import slugify
from web import create_app
from web.database import ENGINE
from web.pages.clock import CLOCK, Clock


def worker_database(url: str) -> str:
    """Under pytest-xdist, each worker's PostgreSQL database: the one named, suffixed with
    the worker's id, so that workers never truncate each other's tables."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    named = make_url(url)
    return named.set(database=f"{named.database}_{worker}").render_as_string(hide_password=False)


PG_URL = worker_database(os.environ.get("QUIRE_TEST_DATABASE_URL", ""))
IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = Path("/usr/bin/chromium")
QUIRE = str(Path(sys.executable).with_name("quire"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
T = TypeVar("T")
TEST_SECRET = "test-secret-key-that-is-long-enough-for-production"


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine from a sync fixture, on a thread of its own so that it never
    disturbs the event loop pytest-asyncio keeps for the tests."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def unavailable(reason: str) -> None:
    """Skip locally; fail under CI, where every test must run."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: nothing may be skipped)")
    pytest.skip(reason)


def pytest_configure(config: pytest.Config) -> None:
    if PG_URL and os.environ.get("PYTEST_XDIST_WORKER"):
        run_async(create_database(os.environ["QUIRE_TEST_DATABASE_URL"], make_url(PG_URL).database))


async def create_database(server_url: str, name: str | None) -> None:
    """The worker's own database, made on the server of `server_url` unless it is there."""
    engine = make_engine(server_url)
    try:
        async with engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            found = await connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            if not found:
                await connection.execute(text(f'CREATE DATABASE "{name}"'))
    except (OSError, DBAPIError):
        pass  # no server: the PostgreSQL tests say so (and fail under CI)
    finally:
        await engine.dispose()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not IN_CI:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped:
        reporter.write_line(f"CI=true: {skipped} test(s) skipped, which fails the run", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


# --- databases --------------------------------------------------------------


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql" and not PG_URL:
        unavailable("QUIRE_TEST_DATABASE_URL is not set: PostgreSQL tests not run")
    return request.param


def backend_url(backend: str, folder: Path) -> str:
    """Where a test's data lives: an SQLite file in `folder`, or the PostgreSQL test database."""
    return f"sqlite+aiosqlite:///{folder / 'quire.db'}" if backend == "sqlite" else PG_URL


async def reset_database(url: str) -> None:
    """An empty database with the current schema."""
    engine = make_engine(url)
    try:
        async with engine.begin() as connection:
            if is_sqlite(url):
                await connection.run_sync(Base.metadata.drop_all)
                await connection.run_sync(Base.metadata.create_all)
            else:
                tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
                await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def postgres_schema(backend: str) -> None:
    """Once per run: PostgreSQL's public schema rebuilt from the models."""
    if backend != "postgresql":
        return

    async def rebuild() -> None:
        engine = make_engine(PG_URL)
        try:
            async with engine.begin() as connection:
                await connection.execute(text("DROP SCHEMA public CASCADE"))
                await connection.execute(text("CREATE SCHEMA public"))
                await connection.run_sync(Base.metadata.create_all)
        finally:
            await engine.dispose()

    run_async(rebuild())


@pytest.fixture
async def database_url(backend: str, postgres_schema: None, tmp_path: Path) -> AsyncIterator[str]:
    before = set(sqlite_threads())
    url = backend_url(backend, tmp_path)
    await reset_database(url)
    yield url
    await sqlite_threads_ended(before)


def sqlite_threads() -> list[threading.Thread]:
    """aiosqlite's worker threads, one per open connection."""
    return [t for t in threading.enumerate() if "_connection_worker_thread" in t.name]


async def sqlite_threads_ended(before: set[threading.Thread]) -> None:
    """Keep the test's loop running until the connections the test opened are closed.

    A connection dropped mid-query (a stream cut off by its client) is stopped without
    being awaited: its thread finishes the query, then answers on the loop. Were the
    loop closed by then, the thread would die on "Event loop is closed"."""
    deadline = time.monotonic() + 5
    while left := [t for t in sqlite_threads() if t not in before]:
        if time.monotonic() > deadline:
            pytest.fail(f"SQLite connections left open by the test: {len(left)}")
        await asyncio.sleep(0.01)


@asynccontextmanager
async def session_on(database_url: str) -> AsyncIterator[AsyncSession]:
    """A session on an engine of its own, disposed of afterwards."""
    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            yield session
    finally:
        await engine.dispose()


def fresh_database(
    backend: str, tmp_path_factory: pytest.TempPathFactory, name: str
) -> tuple[Path, str]:
    """For a module's servers: a folder, and an empty database's URL."""
    folder = tmp_path_factory.mktemp(name)
    database_url = backend_url(backend, folder)
    run_async(reset_database(database_url))
    return folder, database_url


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[AsyncSession]:
    """A session of the test's own, for arranging data and checking what was stored."""
    async with session_on(database_url) as session:
        yield session


@pytest.fixture
def statements(db: AsyncSession) -> Iterator[list[str]]:
    """The SQL statements sent through `db` from now on."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    engine = db.bind.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    yield sent
    event.remove(engine, "before_cursor_execute", record)


# --- accounts ---------------------------------------------------------------

TEST_PASSWORD = "correct horse battery"
TEST_CSRF = "test-csrf-token"


@pytest.fixture(autouse=True, scope="session")
def fast_password_hashing() -> Iterator[None]:
    """Argon2 at its cheapest in tests: the cost is a setting, the code path is the same."""
    original = accounts._hasher
    accounts._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    accounts._hasher = original


async def make_user(
    db: AsyncSession, email: str, name: str, role: Role = Role.AUTHOR, **extra: Any
) -> User:
    user = await accounts.create_user(
        db, email=email, name=name, password=TEST_PASSWORD, role=role, **extra
    )
    await db.commit()
    return user


# --- posts ------------------------------------------------------------------


async def write_post(
    db: AsyncSession,
    *,
    title: str,
    body: str,
    slug: str | None = None,
    description: str = "",
    tags: Sequence[str] = (),
    status: PostStatus = PostStatus.DRAFT,
    published_at: datetime | None = None,
    author: User | None = None,
    comments_enabled: bool = False,
    share_enabled: bool = True,
) -> Post:
    """A new post, written as the demo writes its samples (no revision kept): its slug
    made from its title unless given, and dated now when it is not a draft. Flushed."""
    if status is not PostStatus.DRAFT and published_at is None:
        published_at = utcnow()
    content = Content(
        title=title,
        slug=slugify(slug or title),
        body=body,
        description=description,
        tags=tags,
        status=status,
        published_at=published_at,
        comments_enabled=comments_enabled,
        share_enabled=share_enabled,
    )
    return await write(db, None, content, author=author, revision=None)


@pytest.fixture
async def author(db: AsyncSession) -> User:
    return await make_user(db, "ada@example.com", "Ada Author")


@pytest.fixture
async def admin(db: AsyncSession) -> User:
    return await make_user(db, "root@example.com", "Grace Admin", Role.ADMIN)


async def csrf_token(client: Any) -> str:
    """Give the client's session a known CSRF token, as rendering a form would."""
    async with client.session_transaction() as session:
        session.setdefault("csrf", TEST_CSRF)
        return session["csrf"]


async def post_form(
    client: Any, url: str, data: dict[str, Any] | None = None, **kwargs: Any
) -> Any:
    """A form post as our pages send it: with the session's CSRF token."""
    form = {"csrf_token": await csrf_token(client), **(data or {})}
    return await client.post(url, form=form, **kwargs)


async def sign_in(client: Any, email: str, password: str = TEST_PASSWORD, **extra: str) -> Any:
    response = await post_form(client, "/login", {"email": email, "password": password, **extra})
    assert response.status_code == 303, await response.get_data(as_text=True)
    return response


# --- the app ----------------------------------------------------------------


def app_config(database_url: str, instance: Path, **extra: Any) -> dict[str, Any]:
    return {
        "DATABASE_URL": database_url,
        "SECRET_KEY": TEST_SECRET,
        "QUIRE_INSTANCE_PATH": str(instance),
        "TESTING": True,
        **extra,
    }


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Quart:
    return create_app(app_config(database_url, tmp_path / "instance"))


@pytest.fixture
async def client(app: Quart) -> AsyncIterator[Any]:
    """A test client for an app whose start-up (the engine) has run."""
    async with app.test_app() as test_app:
        yield test_app.test_client()


@pytest.fixture
async def open_client(database_url: str, tmp_path: Path) -> Any:
    """Comments published at once, no minimum wait: the rules under test switch one on."""
    app = create_app(
        app_config(
            database_url,
            tmp_path / "instance",
            QUIRE_COMMENT_MODERATION="none",
            QUIRE_COMMENT_MIN_SECONDS="0",
        )
    )
    async with app.test_app() as test_app:
        yield test_app.test_client()


class StatementCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []
        self.parameters: list[Any] = []

    def __call__(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        self.statements.append(statement)
        self.parameters.append(parameters)

    def clear(self) -> None:
        self.statements.clear()
        self.parameters.clear()

    @property
    def count(self) -> int:
        return len(self.statements)


@contextmanager
def statements_sent(db: AsyncSession) -> Iterator[StatementCounter]:
    """What `db` sends inside the block, statements and their parameters."""
    sent = StatementCounter()
    engine = db.bind.sync_engine
    event.listen(engine, "before_cursor_execute", sent)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", sent)


async def plan_of(db: AsyncSession, backend: str, statement: str, parameters: Any) -> str:
    """The planner's plan for a statement, its lines joined by " / ". PostgreSQL is told
    to shun table scans, so that a test's few rows show which index it would take."""
    connection = await db.connection()
    if backend == "postgresql":
        await connection.exec_driver_sql("SET enable_seqscan = off")
    prefix = "EXPLAIN QUERY PLAN " if backend == "sqlite" else "EXPLAIN "
    try:
        plan = await connection.exec_driver_sql(prefix + statement, parameters)
        return " / ".join(str(row[-1]) for row in plan)
    finally:
        if backend == "postgresql":
            await connection.exec_driver_sql("RESET enable_seqscan")


@pytest.fixture
async def sql(app: Quart, client: Any) -> AsyncIterator[StatementCounter]:
    """Counts the SQL statements the app sends; reset it right before the request to measure.

    The content clock's reads go by the driver, past the engine's events
    (components/clock.Reader): the clock is made here, counting each one.
    """
    counter = StatementCounter()
    engine = app.extensions[ENGINE]
    reader = clock.Reader(engine)

    async def read() -> clock.Moment:
        counter(None, None, reader.sql, reader.parameters())
        return await reader.read()

    old = app.extensions.get(CLOCK)
    if old is not None:
        await old.close()
    app.extensions[CLOCK] = Clock(read, reader.close)
    event.listen(engine.sync_engine, "before_cursor_execute", counter)
    yield counter
    event.remove(engine.sync_engine, "before_cursor_execute", counter)


# --- a real server and a real browser ---------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    def __init__(self, url: str, database_url: str, log: Path) -> None:
        self.url = url
        self.database_url = database_url
        self.log = log

    def seed_demo(self) -> None:
        """Reset the server's database to the demo content."""
        self.seed(demo.load)

    def seed(self, fill: Callable[[AsyncSession], Awaitable[Any]]) -> None:
        """Reset the server's database, then let `fill` add to it in one transaction."""

        async def seed() -> None:
            await reset_database(self.database_url)
            async with session_on(self.database_url) as session:
                await fill(session)
                await session.commit()

        try:
            run_async(seed())
        except Exception as error:
            # Say what the server was doing: a lock it holds shows in its log.
            log = self.log.read_text()[-4000:] if self.log.exists() else ""
            raise RuntimeError(f"seeding the live server failed; its log ends:\n{log}") from error


def server_log(folder: Path, url: str) -> Path:
    """Where `served()` writes the output of the server at `url`."""
    return folder / f"server-{url.rsplit(':', 1)[1]}.log"


def server_command(port: int, env: Mapping[str, str], args: tuple[str, ...]) -> list[str]:
    """How the live tests start Quire: `quire serve`, or with QUIRE_TEST_SERVER=granian
    (or uvicorn) the same app under that server, as the benchmark runs it, so that a
    server can be tried against the tests before the README offers it for production."""
    server = os.environ.get("QUIRE_TEST_SERVER", "hypercorn")
    if server == "hypercorn":
        return [QUIRE, "serve", "--host", "127.0.0.1", "--port", str(port), *args]
    if server not in ("granian", "uvicorn") or not Path(sys.executable).with_name(server).exists():
        raise RuntimeError(
            f"QUIRE_TEST_SERVER={server!r}: hypercorn, or granian or uvicorn once installed "
            "(pip install -r requirements-bench.txt)"
        )
    from bench.pages import quire_command  # only here: it loads the seeding code too

    return quire_command(server, port, env, *args)


def start_quire(
    database_url: str, folder: Path, *args: str, **settings: str
) -> tuple[subprocess.Popen[bytes], str]:
    """`quire serve` (the Procfile's server) on a free loopback port, once it answers
    /healthz: its process and base URL. `args` go to `quire serve` (`--workers 4`; one
    worker unless told), `settings` to the app."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": TEST_SECRET,
        "QUIRE_INSTANCE_PATH": str(folder / "instance"),
        **settings,
    }
    if "--workers" not in args:
        args = ("--workers", "1", *args)
    command = server_command(port, env, args)
    url = f"http://127.0.0.1:{port}"
    log_path = server_log(folder, url)
    with log_path.open("w") as log:
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=log)
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as response:
                if response.status == 200:
                    return process, url
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            stop_quire(process)
            raise RuntimeError(f"quire serve did not start: {log_path.read_text()}")
        time.sleep(0.1)


def stop_quire(process: subprocess.Popen[bytes], timeout: float = 30) -> int:
    """SIGTERM, as a platform stops it; killed if it does not stop in `timeout` seconds."""
    if process.poll() is None:
        process.terminate()
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise


@contextmanager
def served(database_url: str, folder: Path, *args: str, **settings: str) -> Iterator[str]:
    """Quire under `quire serve` (see start_quire), stopped by its PID afterwards."""
    process, url = start_quire(database_url, folder, *args, **settings)
    try:
        yield url
    finally:
        stop_quire(process)


@pytest.fixture(scope="module")
def live_server(
    backend: str, postgres_schema: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """Quire under `quire serve`, for the browser tests."""
    folder, database_url = fresh_database(backend, tmp_path_factory, "live")
    settings = {
        # Small pages, so that a few posts are enough to page and scroll through.
        "QUIRE_POSTS_PER_PAGE": "3",
        # Comments published at once, after a one-second pause a script would not take.
        "QUIRE_COMMENT_MODERATION": "none",
        "QUIRE_COMMENT_MIN_SECONDS": "1",
    }
    with served(database_url, folder, **settings) as url:
        yield LiveServer(url, database_url, server_log(folder, url))


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture
async def browser(chromium_path: Path) -> AsyncIterator[Any]:
    """Debian's Chromium through Playwright's async API, on the test's own event loop
    (the sync API would leave a loop running in this thread for every later test)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(chromium_path), args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def page(browser: Any) -> AsyncIterator[Any]:
    """A fresh page that records console errors in `page.console_errors`."""
    context = await browser.new_context()
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.console_errors = errors
    try:
        yield page
    finally:
        await context.close()
