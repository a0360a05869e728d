"""Publishing warnings: CAP 1.2 messages (:mod:`warn.broadcast.cap`), the outbox and channels."""
