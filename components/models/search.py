"""The full-text index of posts, made by each database its own way."""

from __future__ import annotations

from typing import Any

from sqlalchemy import DDL, event

from components.models.posts import Post

# Full-text search lives beside the models but outside them, because each database
# does it its own way. SQLite: an FTS5 index over the posts table kept current by
# triggers. PostgreSQL: a stored, weighted tsvector column with a GIN index. Both
# follow every insert, update and delete of a post by themselves. Both index the post's
# plain text (`body_text`: what a reader reads, made from its HTML when it is rendered),
# not its Markdown, so that no syntax or address is found or quoted.
SEARCH_DDL: dict[str, tuple[str, ...]] = {
    "sqlite": (
        "CREATE VIRTUAL TABLE posts_fts USING fts5("
        "title, description, body_text, tag_names, content='posts', content_rowid='id', "
        "tokenize='porter unicode61 remove_diacritics 2')",
        "CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts BEGIN "
        "INSERT INTO posts_fts(rowid, title, description, body_text, tag_names) "
        "VALUES (new.id, new.title, new.description, new.body_text, new.tag_names); END",
        "CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts BEGIN "
        "INSERT INTO posts_fts(posts_fts, rowid, title, description, body_text, tag_names) "
        "VALUES ('delete', old.id, old.title, old.description, old.body_text, old.tag_names); END",
        "CREATE TRIGGER posts_fts_update AFTER UPDATE OF title, description, body_text, tag_names "
        "ON posts BEGIN "
        "INSERT INTO posts_fts(posts_fts, rowid, title, description, body_text, tag_names) "
        "VALUES ('delete', old.id, old.title, old.description, old.body_text, old.tag_names); "
        "INSERT INTO posts_fts(rowid, title, description, body_text, tag_names) "
        "VALUES (new.id, new.title, new.description, new.body_text, new.tag_names); END",
    ),
    "postgresql": (
        # A tsvector is limited to 1 MB, so only the first 300,000 characters of a text count.
        "ALTER TABLE posts ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
        "setweight(to_tsvector('english', title), 'A') || "
        "setweight(to_tsvector('english', tag_names), 'A') || "
        "setweight(to_tsvector('english', description), 'B') || "
        "setweight(to_tsvector('english', left(body_text, 300000)), 'C')) STORED",
        "CREATE INDEX ix_posts_search_vector ON posts USING gin (search_vector)",
    ),
}
# The same index as migrations 0002 to 0021 made it, over the Markdown itself (`body`):
# those migrations go on making it so, since the next one (search_text) replaces it and
# `body_text` does not exist before. Frozen: never edit it to follow SEARCH_DDL.
BODY_SEARCH_DDL: dict[str, tuple[str, ...]] = {
    "sqlite": (
        "CREATE VIRTUAL TABLE posts_fts USING fts5("
        "title, description, body, tag_names, content='posts', content_rowid='id', "
        "tokenize='porter unicode61 remove_diacritics 2')",
        "CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts BEGIN "
        "INSERT INTO posts_fts(rowid, title, description, body, tag_names) "
        "VALUES (new.id, new.title, new.description, new.body, new.tag_names); END",
        "CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts BEGIN "
        "INSERT INTO posts_fts(posts_fts, rowid, title, description, body, tag_names) "
        "VALUES ('delete', old.id, old.title, old.description, old.body, old.tag_names); END",
        "CREATE TRIGGER posts_fts_update AFTER UPDATE OF title, description, body, tag_names "
        "ON posts BEGIN "
        "INSERT INTO posts_fts(posts_fts, rowid, title, description, body, tag_names) "
        "VALUES ('delete', old.id, old.title, old.description, old.body, old.tag_names); "
        "INSERT INTO posts_fts(rowid, title, description, body, tag_names) "
        "VALUES (new.id, new.title, new.description, new.body, new.tag_names); END",
    ),
    "postgresql": (
        # A tsvector is limited to 1 MB, so only the first 300,000 characters of a body count.
        "ALTER TABLE posts ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
        "setweight(to_tsvector('english', title), 'A') || "
        "setweight(to_tsvector('english', tag_names), 'A') || "
        "setweight(to_tsvector('english', description), 'B') || "
        "setweight(to_tsvector('english', left(body, 300000)), 'C')) STORED",
        "CREATE INDEX ix_posts_search_vector ON posts USING gin (search_vector)",
    ),
}
SEARCH_DROP_DDL: dict[str, tuple[str, ...]] = {
    "sqlite": ("DROP TABLE IF EXISTS posts_fts",),
    "postgresql": (),
}

for _dialect, _statements in SEARCH_DDL.items():
    for _statement in _statements:
        event.listen(Post.__table__, "after_create", DDL(_statement).execute_if(dialect=_dialect))
for _dialect, _statements in SEARCH_DROP_DDL.items():
    for _statement in _statements:
        event.listen(Post.__table__, "after_drop", DDL(_statement).execute_if(dialect=_dialect))


def is_modelled(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic's filter: leave the search objects above out of schema comparisons."""
    if type_ == "table" and name is not None and name.startswith("posts_fts"):
        return False
    return not (name in {"search_vector", "ix_posts_search_vector"} and reflected)
