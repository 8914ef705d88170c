"""The benchmark's ceiling: a bare Quart app that answers "Hello, World!".

It is served by `cli.serve`, the supervisor and hypercorn settings Quire runs under
(`bench/pages.py` starts it), so the ratio between the two measures Quire's own work.
"""

from __future__ import annotations

import os

from quart import Quart

from components.settings import load_config


def create_app() -> Quart:
    app = Quart(__name__)
    # Only for the server's settings (timeouts, header limits), which cli.serve reads here.
    app.config.from_mapping(load_config(os.environ))

    @app.get("/")
    async def hello() -> str:
        return "Hello, World!"

    return app
