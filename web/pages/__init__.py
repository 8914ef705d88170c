"""The pipeline of public pages: every page, feed and API answer goes through it.

- `clock`: the content clock's reader, one read shared by the requests that wait for it.
- `store`: the pages one process keeps for the current moment of the content.
- `coding`: a page's body for one reader: compressed as it accepts, with a fresh stamp.
- `answer`: the one function that turns a page into status, headers and body, and the
  one place each of its headers is decided (ETag, Last-Modified, Vary, Cache-Control).
- `respond`: the Quart path: `@cached`, the early answer before the view, and `respond`,
  which every view's page goes through.
- `door`: the ASGI front door, answering kept pages before Quart (with `answer`).
"""
