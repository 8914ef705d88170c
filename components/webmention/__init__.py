"""Webmention (W3C): telling the pages a post links to (`outgoing`, `sending`), and
being told by other sites that they link to a post (`incoming`, `verifying`). Both go
through the outbox (components/outbox), so no request waits on another site and a site
that is down only delays its own rows. Pages are fetched by components/fetch.py."""
