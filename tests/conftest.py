"""Fixtures: every test runs on SQLite, and again on PostgreSQL when
QUIRE_TEST_DATABASE_URL is set, each on a clean database.

Under CI=true nothing may be skipped: a missing database or browser fails the run.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
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
import pytest_asyncio
from argon2 import PasswordHasher
from quart import Quart
from sqlalchemy import event, make_url, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from components import accounts, clock, demo
from components.db import is_sqlite, make_engine, make_sessionmaker
from components.media.files import folder_in
from components.models import Base, Post, PostStatus, Role, User, utcnow
from components.saving import Content, write
from components.settings import PROJECT_ROOT
from components.text import slugify
from web import create_app
from web.database import ENGINE
from web.pages.clock import CLOCK, Clock


def run_database(url: str) -> str:
    """The PostgreSQL database this process tests on: named after the one given, this
    run, and the pytest-xdist worker, so that neither another worker nor another run on
    the same server (CI jobs, a second checkout) ever truncates its tables. Made at
    start-up, dropped at the end (pytest_configure, pytest_unconfigure)."""
    if not url:
        return url
    named = make_url(url)
    # Each worker is told the run's id; without xdist, this process is the run.
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID") or uuid.uuid4().hex
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    # PostgreSQL cuts names at 63 bytes: 34 + 1 + 12 + 1 + 8, and "_live" (LIVE_PG_URL).
    name = f"{(named.database or 'quire')[:34]}_{run[:12]}_{worker[:8]}"
    return named.set(database=name).render_as_string(hide_password=False)


def suffixed(url: str, suffix: str) -> str:
    """The database of `url`, with `suffix` added to its name."""
    named = make_url(url)
    return named.set(database=f"{named.database}{suffix}").render_as_string(hide_password=False)


SERVER_URL = os.environ.get("QUIRE_TEST_DATABASE_URL", "")
PG_URL = run_database(SERVER_URL)
# The browser tests' server has a database of its own (see live_server).
LIVE_PG_URL = suffixed(PG_URL, "_live") if PG_URL else ""
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
# Deadlines only end a hung test, so they are ten times what a working system needs at
# CI's load (7 to 14 on 2 cores), where what takes a second here may take six.
DEADLINE_SECONDS = 60
# `quire serve` with four workers answers /healthz in about 3 s here, 30 s at that load.
START_DEADLINE_SECONDS = 300
# A server stops at once when nothing is in flight; its own patience with a worker is the
# graceful timeout (20 s by default) and 5 s more.
STOP_DEADLINE_SECONDS = 250
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


def runs_tests(config: pytest.Config) -> bool:
    """Whether this process runs tests: an xdist worker, or a run without workers (not
    the controller that hands tests out, nor a run that only collects them)."""
    if hasattr(config, "workerinput"):
        return True
    distributed = config.getoption("dist", "no") != "no" and bool(config.getoption("tx", None))
    return not distributed and not config.getoption("collectonly")


def pytest_configure(config: pytest.Config) -> None:
    if not runs_tests(config):
        return
    make_sqlite_template()
    if PG_URL:
        run_async(create_database(SERVER_URL, database_name(PG_URL), schema=True))


def pytest_unconfigure(config: pytest.Config) -> None:
    if PG_URL and runs_tests(config):
        run_async(drop_database(SERVER_URL, database_name(PG_URL)))


def database_name(url: str) -> str:
    name = make_url(url).database
    assert name, url
    return name


@asynccontextmanager
async def server_admin(server_url: str) -> AsyncIterator[Any]:
    """A connection to the server of `server_url`, outside any transaction (CREATE and
    DROP DATABASE refuse to run inside one)."""
    engine = make_engine(server_url)
    try:
        async with engine.connect() as connection:
            yield await connection.execution_options(isolation_level="AUTOCOMMIT")
    finally:
        await engine.dispose()


async def create_database(server_url: str, name: str, *, schema: bool) -> None:
    """A database of this process's own on the server of `server_url`, with the models'
    tables in it when `schema` is true."""
    try:
        async with server_admin(server_url) as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        if schema:
            named = make_url(server_url).set(database=name)
            await rebuild_schema(named.render_as_string(hide_password=False))
    except (OSError, DBAPIError):
        pass  # no server: the PostgreSQL tests say so (and fail under CI)


async def drop_database(server_url: str, name: str) -> None:
    """This process's database dropped, after ending the connections to it (a server
    the tests started and lost, say), and only those: the server is shared."""
    try:
        async with server_admin(server_url) as connection:
            await connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    except (OSError, DBAPIError):
        pass  # no server, so no database either


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


@pytest.fixture
def pg_url() -> str:
    """This run's PostgreSQL database, for what only PostgreSQL does (its pool, its
    deadlocks, its statement timeout, a deployment's checks against it)."""
    if not PG_URL:
        unavailable("QUIRE_TEST_DATABASE_URL is not set: PostgreSQL tests not run")
    return PG_URL


def backend_url(backend: str, folder: Path) -> str:
    """Where a test's data lives: an SQLite file in `folder`, or the PostgreSQL test database."""
    return f"sqlite+aiosqlite:///{folder / 'quire.db'}" if backend == "sqlite" else PG_URL


async def reset_database(url: str) -> None:
    """An empty database with the current schema, ids starting from 1 again.

    Every test starts from one, so the cheapest way to it matters: a copy of an empty
    SQLite file (made once per process), and on PostgreSQL DELETE, a few milliseconds on
    tables of a few rows where TRUNCATE makes each table and index a new file (some
    100 ms)."""
    path = Path(make_url(url).database or "") if is_sqlite(url) else None
    if path is not None and not path.exists() and SQLITE_TEMPLATE:
        shutil.copyfile(SQLITE_TEMPLATE[0], path)
        return
    engine = make_engine(url)
    try:
        async with engine.begin() as connection:
            if path is not None:
                await connection.run_sync(Base.metadata.drop_all)
                await connection.run_sync(Base.metadata.create_all)
            else:
                # One round trip: asyncpg sends a query without parameters as it is.
                raw = await connection.get_raw_connection()
                await raw.driver_connection.execute(EMPTY_POSTGRES)
    finally:
        await engine.dispose()


# Children first, then their parents; and every sequence of the schema back to its start.
EMPTY_POSTGRES = "; ".join(
    [
        *(f"DELETE FROM {table.name}" for table in reversed(Base.metadata.sorted_tables)),
        "DO $$ DECLARE s record; BEGIN "
        "FOR s IN SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema() "
        "LOOP EXECUTE format('ALTER SEQUENCE %I RESTART', s.sequencename); END LOOP; END $$",
    ]
)
# An empty SQLite database with the schema, which reset_database copies for a new file.
SQLITE_TEMPLATE: list[Path] = []


def make_sqlite_template() -> None:
    """SQLITE_TEMPLATE, made once per process at start-up."""
    folder = Path(tempfile.mkdtemp(prefix="quire-schema-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "empty.db"
    run_async(reset_database(f"sqlite+aiosqlite:///{path}"))
    # Its last connection closed, SQLite has folded the write-ahead log into the file.
    assert not path.with_name(path.name + "-wal").exists()
    SQLITE_TEMPLATE.append(path)


@pytest.fixture(scope="session")
def postgres_schema() -> None:
    """The run's PostgreSQL schema: made with its database (pytest_configure), so this
    only names what a test relies on."""


async def rebuild_schema(url: str) -> None:
    """PostgreSQL's public schema at `url`, made again from the models."""
    engine = make_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
            await connection.run_sync(Base.metadata.create_all)
    finally:
        await engine.dispose()


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
    deadline = time.monotonic() + DEADLINE_SECONDS
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


class StatementLog:
    """The SQL statements an engine sent, with their parameters, in order: read like the
    list of the statements."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.parameters: list[Any] = []

    def __call__(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        """A `before_cursor_execute` listener."""
        self.statements.append(statement)
        self.parameters.append(parameters)

    def clear(self) -> None:
        self.statements.clear()
        self.parameters.clear()

    @property
    def count(self) -> int:
        return len(self.statements)

    def __len__(self) -> int:
        return len(self.statements)

    def __iter__(self) -> Iterator[str]:
        return iter(self.statements)

    def __getitem__(self, index: int) -> str:
        return self.statements[index]

    def __repr__(self) -> str:
        return repr(self.statements)


@contextmanager
def statements_sent(bind: AsyncSession | AsyncEngine) -> Iterator[StatementLog]:
    """What `bind` (a session's engine, or an engine) sends inside the block."""
    sent = StatementLog()
    engine = (bind.bind if isinstance(bind, AsyncSession) else bind).sync_engine
    event.listen(engine, "before_cursor_execute", sent)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", sent)


@pytest.fixture
def statements(db: AsyncSession) -> Iterator[StatementLog]:
    """What `db` sends from now on."""
    with statements_sent(db) as sent:
        yield sent


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
    series: str | None = None,
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
        series=series,
    )
    return await write(db, None, content, author=author, revision=None)


def post_address(post: Post) -> str:
    """A published post's address, as a reader's browser asks for it."""
    assert post.published_at is not None
    return f"/{post.published_at:%Y/%m/%d}/{post.slug}"


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
        # The outbox's batches are run by hand where a test wants them; a worker of its
        # own would add its statements to the ones a test counts.
        "QUIRE_OUTBOX_WORKER": "off",
        **extra,
    }


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Quart:
    return create_app(app_config(database_url, tmp_path / "instance"))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Where the `app` fixture's media library keeps its files."""
    return folder_in(tmp_path / "instance")


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
async def sql(app: Quart, client: Any) -> AsyncIterator[StatementLog]:
    """What the app sends; cleared right before the request to measure.

    The content clock's reads go by the driver, past the engine's events
    (components/clock.Reader): the clock is made here, logging each one.
    """
    engine = app.extensions[ENGINE]
    reader = clock.Reader(engine)
    with statements_sent(engine) as sent:

        async def read() -> clock.Moment:
            sent(None, None, reader.sql, reader.parameters())
            return await reader.read()

        old = app.extensions.get(CLOCK)
        if old is not None:
            await old.close()
        app.extensions[CLOCK] = Clock(read, reader.close)
        yield sent


# --- a real server and a real browser ---------------------------------------


async def server_end(port: int, client_port: int) -> str:
    """What `ss` says of the server's end of the connection from `client_port` to `port`:
    its unread bytes, and its owner's pid (none while it waits to be accepted)."""
    connection = f"( sport = :{port} and dport = :{client_port} )"
    listed = await asyncio.to_thread(
        subprocess.run,
        ["ss", "-tnpH", "state", "established", connection],
        capture_output=True,
        text=True,
        check=True,
    )
    return listed.stdout


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
    database_url: str, folder: Path, *args: str, port: int = 0, **settings: str
) -> tuple[subprocess.Popen[bytes], str]:
    """`quire serve` (the Procfile's server) on a free loopback port (or on `port`, to
    start it again where it was), once it answers /healthz: its process and base URL.
    `args` go to `quire serve` (`--workers 4`; one worker unless told), `settings` to
    the app."""
    folder.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
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
    deadline = time.monotonic() + START_DEADLINE_SECONDS
    while True:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=DEADLINE_SECONDS) as response:
                if response.status == 200:
                    return process, url
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            stop_quire(process)
            raise RuntimeError(f"quire serve did not start: {log_path.read_text()}")
        time.sleep(0.1)


def stop_quire(process: subprocess.Popen[bytes], timeout: float = STOP_DEADLINE_SECONDS) -> int:
    """SIGTERM, as a platform stops it; killed (and the test failed) if it has not stopped
    in `timeout` seconds."""
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


@pytest.fixture(scope="session")
def live_server(backend: str, live_servers: LiveServers) -> LiveServer:
    """Quire under `quire serve` for the browser tests (see LiveServers)."""
    return live_servers.on(backend)


LIVE_SETTINGS = {
    # Small pages, so that a few posts are enough to page and scroll through.
    "QUIRE_POSTS_PER_PAGE": "3",
    # Comments published at once, after a one-second pause a script would not take.
    "QUIRE_COMMENT_MODERATION": "none",
    "QUIRE_COMMENT_MIN_SECONDS": "1",
    # The fediverse pages follow a stand-in server on 127.0.0.1 (tests only).
    "QUIRE_FETCH_PRIVATE": "on",
}


class LiveServers:
    """One `quire serve` per database for the whole session, started on first use: each
    browser test seeds its server first, so they can share it. On PostgreSQL the server
    has a database of its own, which other tests' resets (and the connections some of
    them end) never reach."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._folders = tmp_path_factory
        self._running: dict[str, tuple[subprocess.Popen[bytes], LiveServer]] = {}

    def on(self, backend: str) -> LiveServer:
        if backend not in self._running:
            folder = self._folders.mktemp("live")
            if backend == "sqlite":
                database_url = backend_url(backend, folder)
                run_async(reset_database(database_url))
            else:
                database_url = LIVE_PG_URL
                run_async(create_database(SERVER_URL, database_name(database_url), schema=True))
            process, url = start_quire(database_url, folder, **LIVE_SETTINGS)
            server = LiveServer(url, database_url, server_log(folder, url))
            self._running[backend] = process, server
        return self._running[backend][1]

    def stop(self) -> None:
        for process, _ in self._running.values():
            process.terminate()  # all at once: each takes seconds to stop on a busy machine
        for backend, (process, server) in self._running.items():
            stop_quire(process)
            if backend == "postgresql":
                run_async(drop_database(SERVER_URL, database_name(server.database_url)))


@pytest.fixture(scope="session")
def live_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServers]:
    """Not parametrized by `backend`, so that its servers last the session (pytest sets a
    session fixture of each backend up again whenever the tests switch backend)."""
    servers = LiveServers(tmp_path_factory)
    try:
        yield servers
    finally:
        servers.stop()


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    return CHROMIUM


# The browser tests run on the session's event loop (`pytest.mark.asyncio(loop_scope=
# "session")` in each module), the one Chromium was started from.
@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser(chromium_path: Path) -> AsyncIterator[Any]:
    """Debian's Chromium through Playwright's async API, started once for the session:
    each test has contexts of its own (cookies, storage, permissions). The async API,
    since the sync one would leave a loop running in this thread for every later test."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(chromium_path), args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest_asyncio.fixture(loop_scope="session")
async def page(browser: Any) -> AsyncIterator[Any]:
    """A page in a fresh context that records console errors in `page.console_errors`."""
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
