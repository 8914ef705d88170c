"""The blueprints: each module holds the views of one part of the site.

- `blog`: the reader's pages (home, a post, tags, the archive); `post_page` renders a
  post page for it and for the comment views.
- `comments`: readers' comments (the form, replies, a post's comment feed and stream).
- `discovery`: what machines read (Atom feeds, the sitemap, robots.txt).
- `search`: the search page and the header's live results.
- `accounts`: signing in and out, the account page, two-factor sign-in.
- `admin`: the writer's list of posts and the editor.
- `media`: the image library, uploads and the files themselves.
- `moderation`: the comment queue and its live stream.
- `settings`: the site's settings, for admins.
- `people`: the Users page, for admins.
- `newsletter`: new posts by email, for readers (subscribe, confirm, unsubscribe).
- `subscribers`: the Subscribers page, for admins (the list, CSV, removing one).
- `webmention`: the endpoint other sites send Webmentions to.
- `profile`: a writer's public profile (name, author address, bio, links, avatar).
- `api`: the read-only JSON API; `api_schemas` holds its pydantic models.
- `health`: `/healthz` for the platform's probes.
"""
