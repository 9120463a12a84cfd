"""Email: the outbox, delivery backends and the worker that drains the outbox."""
