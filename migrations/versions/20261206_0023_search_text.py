"""Search reads a post's plain text, not its Markdown: snippets quoted ```` ```python ````,
`## First section` and `![a pic](…)`, and words of addresses and syntax were found.

Each post gets `body_text` (components/plain_text.py: what a reader reads of its HTML),
made here from the HTML stored, in batches; a post with no HTML yet keeps its Markdown
there until `quire render` renders it. SQLite's FTS5 table and its triggers, and
PostgreSQL's generated tsvector, are made again over `body_text` instead of `body`, with
the same weights (title and tags, then the description, then the text). The statements
are written out here as they were and as they become, so that this migration does the
same whatever later ones change.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from components.plain_text import from_html

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 200
TRIGGERS = ("posts_fts_insert", "posts_fts_delete", "posts_fts_update")


# The index over the plain text, as this migration makes it (and, less the rebuild,
# as components/models/search.py:SEARCH_DDL makes it for a new database).
OVER_TEXT: dict[str, tuple[str, ...]] = {
    "sqlite": (
        "CREATE VIRTUAL TABLE posts_fts USING fts5("
        "title, description, body_text, tag_names, content='posts', content_rowid='id', "
        "tokenize='porter unicode61 remove_diacritics 2')",
        "CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts BEGIN "
        "INSERT INTO posts_fts(rowid, title, description, body_text, tag_names) "
        "VALUES (new.id, new.title, new.description, new.body_text, new.tag_names); END",
        "CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts BEGIN "
        "INSERT INTO posts_fts(posts_fts, rowid, title, description, body_text, tag_names) "
        "VALUES ('delete', old.id, old.title, old.description, old.body_text, "
        "old.tag_names); END",
        "CREATE TRIGGER posts_fts_update AFTER UPDATE OF title, description, body_text, "
        "tag_names ON posts BEGIN "
        "INSERT INTO posts_fts(posts_fts, rowid, title, description, body_text, tag_names) "
        "VALUES ('delete', old.id, old.title, old.description, old.body_text, "
        "old.tag_names); "
        "INSERT INTO posts_fts(rowid, title, description, body_text, tag_names) "
        "VALUES (new.id, new.title, new.description, new.body_text, new.tag_names); END",
        "INSERT INTO posts_fts(posts_fts) VALUES ('rebuild')",
    ),
    "postgresql": (
        "ALTER TABLE posts ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
        "setweight(to_tsvector('english', title), 'A') || "
        "setweight(to_tsvector('english', tag_names), 'A') || "
        "setweight(to_tsvector('english', description), 'B') || "
        "setweight(to_tsvector('english', left(body_text, 300000)), 'C')) STORED",
        "CREATE INDEX ix_posts_search_vector ON posts USING gin (search_vector)",
    ),
}
# The index over the Markdown, as it was before, for a downgrade.
OVER_MARKDOWN: dict[str, tuple[str, ...]] = {
    "sqlite": (
        "CREATE VIRTUAL TABLE posts_fts USING fts5("
        "title, description, body, tag_names, content='posts', content_rowid='id', "
        "tokenize='porter unicode61 remove_diacritics 2')",
        "CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts BEGIN "
        "INSERT INTO posts_fts(rowid, title, description, body, tag_names) "
        "VALUES (new.id, new.title, new.description, new.body, new.tag_names); END",
        "CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts BEGIN "
        "INSERT INTO posts_fts(posts_fts, rowid, title, description, body, tag_names) "
        "VALUES ('delete', old.id, old.title, old.description, old.body, "
        "old.tag_names); END",
        "CREATE TRIGGER posts_fts_update AFTER UPDATE OF title, description, body, "
        "tag_names ON posts BEGIN "
        "INSERT INTO posts_fts(posts_fts, rowid, title, description, body, tag_names) "
        "VALUES ('delete', old.id, old.title, old.description, old.body, "
        "old.tag_names); "
        "INSERT INTO posts_fts(rowid, title, description, body, tag_names) "
        "VALUES (new.id, new.title, new.description, new.body, new.tag_names); END",
        "INSERT INTO posts_fts(posts_fts) VALUES ('rebuild')",
    ),
    "postgresql": (
        "ALTER TABLE posts ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
        "setweight(to_tsvector('english', title), 'A') || "
        "setweight(to_tsvector('english', tag_names), 'A') || "
        "setweight(to_tsvector('english', description), 'B') || "
        "setweight(to_tsvector('english', left(body, 300000)), 'C')) STORED",
        "CREATE INDEX ix_posts_search_vector ON posts USING gin (search_vector)",
    ),
}


def _drop_index() -> None:
    """The full-text index goes first, so that filling `body_text` updates nothing else."""
    if op.get_bind().dialect.name == "sqlite":
        for trigger in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS posts_fts")
    else:
        # Its GIN index goes with it.
        op.execute("ALTER TABLE posts DROP COLUMN IF EXISTS search_vector")


def _make_index(statements: dict[str, tuple[str, ...]]) -> None:
    for statement in statements[op.get_bind().dialect.name]:
        op.execute(statement)


def upgrade() -> None:
    _drop_index()
    # add_column, not batch_alter_table: on SQLite a batch copies `posts`, for nothing here.
    op.add_column("posts", sa.Column("body_text", sa.Text(), nullable=False, server_default=""))
    _fill_body_text()
    _make_index(OVER_TEXT)


def _fill_body_text() -> None:
    """Every post's plain text from its stored HTML, BATCH posts at a time (in id order, so
    memory holds one batch whatever the blog's size)."""
    bind = op.get_bind()
    posts = sa.table(
        "posts",
        sa.column("id", sa.Integer),
        sa.column("body", sa.Text),
        sa.column("body_html", sa.Text),
        sa.column("body_text", sa.Text),
    )
    read = (
        sa.select(posts.c.id, posts.c.body, posts.c.body_html)
        .where(posts.c.id > sa.bindparam("after"))
        .order_by(posts.c.id)
        .limit(BATCH)
    )
    write = (
        posts.update()
        .where(posts.c.id == sa.bindparam("post_id"))
        .values(body_text=sa.bindparam("text"))
    )
    after = 0
    while rows := bind.execute(read, {"after": after}).all():
        bind.execute(
            write,
            [
                # No HTML yet (never rendered): the Markdown, as the index had it, until
                # `quire render` renders the post (its render_version is behind).
                {"post_id": post_id, "text": from_html(html) if html.strip() else body}
                for post_id, body, html in rows
            ],
        )
        after = rows[-1][0]


def downgrade() -> None:
    _drop_index()
    # Dropping a column copies the table on SQLite; the index is made after it.
    with op.batch_alter_table("posts") as batch:
        batch.drop_column("body_text")
    _make_index(OVER_MARKDOWN)
