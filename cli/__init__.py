"""The `quire` command and what it runs outside any request.

- `commands`: the click group behind `quire` (database, demo, import, export, serve).
- `base`: the settings, an engine for one command's work, the check that the schema is current.
- `people`: `quire user`, accounts from the shell with the Users page's rules.
- `serve`: the process supervisor that `quire serve` runs, and its hypercorn workers.
- `checks`: `quire check --deploy`, what a deploy must have before it starts.
- `portability`: `quire import` and `quire export`, with their progress and reports.

Nothing in web/ or components/ imports this package.
"""
