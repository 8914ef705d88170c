"""Comments: the small Markdown readers may write, moderation, and the defences against spam.

- markup: a comment's Markdown rendered as safe HTML, and its links counted.
- stamps: the comment form's signed timestamp, issued and read back.
- intake: taking a comment: the site's rules, the form, the spam checks, `submit`.
- reading: what readers see: a post's threads, one visible comment, the feed's newest.
- moderation: the queue a writer looks after, verdicts, deletion, purging spam.
- events: the `comment_events` log that live pages follow, written and read.
- hub: the process's one reader of that log, handing events to each stream's inbox.
"""
