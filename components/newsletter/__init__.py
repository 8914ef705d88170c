"""New posts by email: subscribers with double opt-in (`subscribers`), the signed links
in the mails (`tokens`), a post announced to every subscriber (`announce`), the mail
itself (`mail`, `mail_html`) and its sending through any SMTP server (`smtp`)."""
