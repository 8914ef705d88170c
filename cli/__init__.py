"""The `quire` command and what it runs outside any request.

- `commands`: the click group behind `quire` (database, users, demo, import, export, serve).
- `serve`: the process supervisor that `quire serve` runs, and its hypercorn workers.
- `checks`: `quire check --deploy`, what a deploy must have before it starts.
- `portability`: `quire import` and `quire export`, with their progress and reports.

Nothing in web/ or components/ imports this package.
"""
