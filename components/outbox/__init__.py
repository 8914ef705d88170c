"""One durable outbox for everything Quire sends: `queue` (the rows: claim, finish,
backoff) and `worker` (the task inside each server process that sends them)."""
