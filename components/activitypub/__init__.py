"""ActivityPub, as Mastodon speaks it. So far: `signatures`, the HTTP Signatures (draft
cavage 12, rsa-sha256) that every request between servers carries, and the RSA keys
they are made with."""
